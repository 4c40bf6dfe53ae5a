"""The documentation site builds strictly: a broken link, a missing page or a page left out of the
navigation fails `make test` (mkdocs.yml: strict, validation at warn)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(config),
            "--site-dir",
            str(site),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )


def test_the_site_builds_strictly_with_the_readme_as_home_and_every_module_readme(tmp_path: Path) -> None:
    built = build(REPO_ROOT / "mkdocs.yml", tmp_path / "site")
    assert built.returncode == 0, built.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").exists()
    for module in sorted((REPO_ROOT / "modules").glob("*/README.md")):
        assert (tmp_path / "site" / "modules" / module.parent.name / "index.html").exists(), module
    # The diagrams render: mkdocs-material draws a `<pre class="mermaid">` block (superfences'
    # custom fence); as a plain code block the page would show the diagram's source instead.
    for page, diagram in (("index.html", "flowchart"), ("cache/index.html", "sequenceDiagram")):
        html = (tmp_path / "site" / page).read_text()
        assert f'<pre class="mermaid"><code>{diagram}' in html, page
        assert "language-mermaid" not in html, page


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    """The same settings fail on a link to a page that does not exist."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [the cache](cache-that-is-not-there.md).\n")
    settings = yaml.load((REPO_ROOT / "mkdocs.yml").read_text(), Loader=yaml.Loader)
    for key in ("hooks", "nav"):
        settings.pop(key, None)
    settings["docs_dir"] = str(docs)
    config = tmp_path / "mkdocs.yml"
    config.write_text(yaml.dump({k: v for k, v in settings.items() if k != "markdown_extensions"}))
    built = build(config, tmp_path / "site")
    assert built.returncode != 0
    assert "cache-that-is-not-there.md" in built.stderr


MARKDOWN_LINK = re.compile(r"\]\((?!https?://|#|mailto:)([^)#\s]+)(?:#[^)]*)?\)")


def test_every_relative_link_of_the_readme_opens_on_github() -> None:
    """GitHub shows the README as it is, beside the folders: each of its relative links must name
    a file or folder of the repository (the site drops the docs/ prefix; GitHub does not)."""
    links = MARKDOWN_LINK.findall((REPO_ROOT / "README.md").read_text())
    assert links
    missing = sorted({link for link in links if not (REPO_ROOT / link).exists()})
    assert not missing, f"README.md links to {missing}, which the repository does not have"
