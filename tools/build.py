"""`make build`: the function package and the dependencies layer, under build/.

- build/lambda/functions.zip: lambda_src/, byte-for-byte what the twin deploys.
- build/layer/dependencies.zip: the runtime dependencies from pyproject.toml that the
  python3.13 runtime lacks, as Linux wheels for the chosen architecture, laid out under
  python/ as Lambda layers expect.

Why some distributions are removed after pip installs them: the runtime ships boto3 with
its dependencies, and aws-xray-sdk (Powertools' tracer) requires botocore, so pip brings
botocore and its dependencies along: 2,000 files and 22 MB unzipped that the runtime already
has. They are removed by their own RECORD, so nothing else is touched.
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

from tools.packaging import write_function_zip

REPO_ROOT = Path(__file__).resolve().parent.parent
# Distributions the Lambda Python runtime ships: boto3 and its dependency closure, and the durable
# execution SDK. Packaging the SDK would pin its version (AWS's advice for production), at 0.6 MB
# for every function although only checkout-durable uses it; the layer keeps to what the runtime
# lacks, and a team that needs to pin it adds a layer of its own to that one function.
PROVIDED_BY_RUNTIME = {
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "urllib3",
    "python-dateutil",
    "six",
    "aws-durable-execution-sdk-python",
}
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


def canonical_name(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def remove_runtime_provided(site: Path) -> list[str]:
    """Delete every distribution in PROVIDED_BY_RUNTIME from a pip --target directory; returns
    the distributions removed."""
    removed = []
    for dist_info in sorted(site.glob("*.dist-info")):
        name = canonical_name(dist_info.name.removesuffix(".dist-info").rsplit("-", 1)[0])
        if name not in PROVIDED_BY_RUNTIME:
            continue
        for line in (dist_info / "RECORD").read_text().splitlines():
            relative = line.split(",", 1)[0]
            path = (site / relative).resolve()
            if relative and path.is_relative_to(site.resolve()) and path.is_file():
                path.unlink()
        shutil.rmtree(dist_info, ignore_errors=True)
        removed.append(name)
    for directory in sorted(site.rglob("*"), reverse=True):  # deepest first: emptied packages
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()
    return removed


def build_layer(out_dir: Path, architecture: str, python_version: str) -> Path:
    destination = out_dir / "layer" / "dependencies.zip"
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as staging:
        site = Path(staging) / "python"
        subprocess.run(pip_command(site, architecture, python_version), check=True)
        remove_runtime_provided(site)
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
