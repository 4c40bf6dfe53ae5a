"""`make build`: the function package and the dependencies layer, under build/.

- build/lambda/functions.zip: lambda_src/, byte-for-byte what the twin deploys.
- build/layer/dependencies.zip: the runtime dependencies from pyproject.toml that the
  python3.13 runtime lacks, as Linux wheels for the chosen architecture, laid out under
  python/ as Lambda layers expect.

Why the layer ships boto3, botocore and the durable execution SDK although the runtime has them:
- The durable execution SDK: AWS's "Supported runtimes for durable functions" says the runtime's
  copy is for testing and development and recommends packaging it for production, so that a
  runtime update cannot change replay behaviour under running executions
  (https://docs.aws.amazon.com/lambda/latest/dg/durable-supported-runtimes.html). The layer carries
  the version pyproject.toml pins, the one the suite tests.
- boto3 and botocore: checkout calls the durable execution operations (Invoke with
  DurableExecutionName, GetDurableExecution, GetDurableExecutionHistory,
  SendDurableExecutionCallbackSuccess/Failure) and the SDK calls CheckpointDurableExecution and
  GetDurableExecutionState, and its own metadata requires `boto3>=1.43.114`. AWS documents no fixed SDK version for python3.13: "The
  version of the AWS SDK included in the Python runtime depends on the runtime version and your
  AWS Region" ("Runtime-included SDK versions",
  https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html#python-sdk-included), so nothing
  guarantees the runtime's botocore knows those operations. The layer ships the boto3 closure that
  pyproject.toml pins (boto3==1.44.5), and the python/ folder of a layer comes before the runtime's
  own packages on sys.path ("Working with layers for Python Lambda functions",
  https://docs.aws.amazon.com/lambda/latest/dg/python-layers.html). It costs about 22 MB unzipped,
  well inside the 250 MB limit.
PROVIDED_BY_RUNTIME is therefore empty: nothing the functions import is left to the runtime.
remove_runtime_provided stays for a team that decides otherwise for a package of its own.
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

from tools.packaging import pip_install_command, write_function_zip

REPO_ROOT = Path(__file__).resolve().parent.parent
# Distributions left to the Lambda Python runtime instead of the layer: none (see the docstring).
PROVIDED_BY_RUNTIME: frozenset[str] = frozenset()
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
    # The suite's versions of everything the requirements pull in (botocore, s3transfer, ...),
    # so that the layer holds the closure that was tested, not whatever is newest.
    return pip_install_command(
        target,
        python_version,
        layer_requirements(),
        platform=PLATFORMS[architecture],
        constraints=REPO_ROOT / "constraints.txt",
    )


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
