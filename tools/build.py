"""`make build`: the function package and the dependencies layer, under build/.

- build/lambda/functions.zip: lambda_src/, byte-for-byte what the twin deploys.
- build/layer/dependencies.zip: the runtime dependencies from pyproject.toml that the
  python3.13 runtime lacks (everything but boto3/botocore), as Linux wheels for the
  chosen architecture, laid out under python/ as Lambda layers expect.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

from local_twin.packaging import write_function_zip

REPO_ROOT = Path(__file__).resolve().parent.parent
PROVIDED_BY_RUNTIME = {"boto3", "botocore"}
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}


def layer_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    wanted = []
    for requirement in dependencies:
        name = re.split(r"[\[=<>!~ ]", requirement, maxsplit=1)[0].lower()
        if name not in PROVIDED_BY_RUNTIME:
            wanted.append(requirement)
    return wanted


def pip_command(target: Path, architecture: str, python_version: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--target",
        str(target),
        "--platform",
        PLATFORMS[architecture],
        "--implementation",
        "cp",
        "--python-version",
        python_version,
        "--only-binary=:all:",
        "--no-compile",
        *layer_requirements(),
    ]


def build_layer(out_dir: Path, architecture: str, python_version: str) -> Path:
    destination = out_dir / "layer" / "dependencies.zip"
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as staging:
        site = Path(staging) / "python"
        subprocess.run(pip_command(site, architecture, python_version), check=True)
        with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(site.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    archive.write(path, path.relative_to(staging).as_posix())
    return destination


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "build")
    parser.add_argument("--architecture", choices=sorted(PLATFORMS), default="arm64")
    parser.add_argument("--python-version", default="3.13")
    parser.add_argument("--skip-layer", action="store_true")
    args = parser.parse_args(argv)
    functions = write_function_zip(args.out / "lambda" / "functions.zip")
    print(f"wrote {functions}")
    if not args.skip_layer:
        shutil.rmtree(args.out / "layer", ignore_errors=True)
        print(f"wrote {build_layer(args.out, args.architecture, args.python_version)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
