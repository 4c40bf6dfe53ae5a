"""Reproducible function zips, shared by `make build` and the twin's provisioning."""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_SOURCE = REPO_ROOT / "lambda_src"
_FIXED_TIMESTAMP = (2020, 1, 1, 0, 0, 0)
_SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache"}


def function_zip(source: Path = LAMBDA_SOURCE) -> bytes:
    """The same bytes for the same sources, so code hashes only change with the code."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(source)
            if path.is_dir() or _SKIPPED_PARTS.intersection(relative.parts) or path.suffix == ".pyc":
                continue
            info = zipfile.ZipInfo(relative.as_posix(), _FIXED_TIMESTAMP)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def write_function_zip(destination: Path, source: Path = LAMBDA_SOURCE) -> Path:
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_bytes(function_zip(source))
    return destination


def pip_install_command(
    target: Path,
    python_version: str,
    requirements: Sequence[str],
    *,
    platform: str | None = None,
    constraints: Path | None = None,
) -> list[str]:
    """pip installing wheels for another interpreter into a folder, as Lambda would import them:
    binary wheels only, for `python_version` (and `platform`, else this machine's), uncompiled
    (the runtime compiles on import), and pinned by `constraints` when given."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--target", str(target), "--implementation", "cp", "--python-version", python_version]
    if platform is not None:
        command += ["--platform", platform]
    command += ["--only-binary=:all:", "--no-compile"]
    if constraints is not None:
        command += ["--constraint", str(constraints)]
    return [*command, *requirements]
