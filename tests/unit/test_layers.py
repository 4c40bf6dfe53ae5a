"""The top-level folders are layers: each imports only those below it (README, "Layout").

lambda_src/ (the shop) and tools/ import none of ours; local_twin/ builds on tools/; drivers/ on
all three. Imports made inside functions count too: a lazy import is still an arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# The import names each folder is reached by (lambda_src/ is on the functions' sys.path as is).
PACKAGES = {
    "drivers": "drivers",
    "local_twin": "local_twin",
    "tools": "tools",
    "shop": "lambda_src",
    "handlers": "lambda_src",
}
ALLOWED = {
    "lambda_src": set(),
    "tools": set(),
    "local_twin": {"tools"},
    "drivers": {"local_twin", "tools", "lambda_src"},
}


def imported_folders(folder: str) -> dict[str, set[str]]:
    """Each top-level folder this one's modules import, with the files that do it."""
    found: dict[str, set[str]] = {}
    for path in sorted((REPO_ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                target = PACKAGES.get(name.split(".")[0])
                if target is not None and target != folder:
                    found.setdefault(target, set()).add(str(path.relative_to(REPO_ROOT)))
    return found


def test_each_folder_imports_only_the_layers_below_it() -> None:
    for folder, allowed in ALLOWED.items():
        imports = imported_folders(folder)
        forbidden = {target: sorted(files) for target, files in imports.items() if target not in allowed}
        assert not forbidden, (
            f"{folder}/ imports {forbidden}; it may import only {sorted(allowed) or 'none of ours'}"
        )


def test_no_two_top_level_folders_import_each_other() -> None:
    edges = {(folder, target) for folder in ALLOWED for target in imported_folders(folder)}
    assert not {(a, b) for a, b in edges if (b, a) in edges}


def test_the_layer_check_sees_an_import_made_inside_a_function(tmp_path: Path, monkeypatch) -> None:
    """The check itself can fail: a lazy import of the twin from tools/ is caught."""
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "x.py").write_text("def f():\n    from local_twin.twin import LocalTwin\n")
    monkeypatch.setitem(globals(), "REPO_ROOT", tmp_path)
    assert imported_folders("tools") == {"local_twin": {"tools/x.py"}}


def test_every_driver_imports_as_make_runs_it() -> None:
    """`python -m drivers ...` runs with the repository as its path and nothing of pytest's: the
    drivers that use the shop's code must find it themselves (make demo once failed on shop.engines)."""
    import os
    import subprocess
    import sys

    modules = sorted(
        ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
        for path in (REPO_ROOT / "drivers").rglob("*.py")
        if path.name not in ("__main__.py", "locustfile.py")
    )
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    imported = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib, sys\nfor name in sys.argv[1:]: importlib.import_module(name)",
            *modules,
        ],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr[-2000:]
