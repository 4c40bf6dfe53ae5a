"""mkdocs hooks: the README is the site's home page, and the module READMEs join the site as they
are, at modules/<name>.md.

The README links into docs/ as GitHub shows it (docs/cache.md); on the site the same links are
relative to the docs themselves (cache.md), so the home page is the README with that prefix dropped.

They stay in modules/<name>/README.md so that a fork of one module takes its documentation along;
the site renders the same files instead of a copy that could drift. Their links to a module's own
folders (examples/basic) point at no page of the site, so they become code spans there, which
keeps `mkdocs build --strict` meaningful for every other link.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

REPO_ROOT = Path(__file__).resolve().parent.parent
MODULE_LINK = re.compile(r"\[([^\]]+)\]\((?!https?://|#)([^)]+)\)")


def module_pages() -> dict[str, Path]:
    return {
        f"modules/{readme.parent.name}.md": readme for readme in sorted(REPO_ROOT.glob("modules/*/README.md"))
    }


def home_page() -> str:
    return (REPO_ROOT / "README.md").read_text().replace("](docs/", "](")


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, "index.md", content=home_page()))
    for uri, readme in module_pages().items():
        files.append(File.generated(config, uri, content=readme.read_text()))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    if page.file.src_uri not in module_pages():
        return markdown
    return MODULE_LINK.sub(
        lambda link: f"{link.group(1)} (`{link.group(2)}` in the module's folder)", markdown
    )
