"""`make plan ENV=<env>` / `make apply ENV=<env>`: terraform for one environment.

dev, staging and prod run in AWS. Refuses, with the reason and the fix, when terraform
>= 1.10 is missing, when no AWS credentials are configured, or when the environment has
no backend.hcl yet. `make plan ENV=twin` is the twin's own (`python -m local_twin plan`): a real
plan of the whole stack against a fresh local twin's moto server, with no AWS account.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from tools import tfrun

REPO_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("dev", "staging", "prod")


class Refusal(Exception):
    pass


def find_terraform() -> str:
    try:
        return tfrun.toolchain().terraform
    except tfrun.TerraformMissing as missing:
        raise Refusal(str(missing)) from None


def check_credentials() -> None:
    import boto3

    session = boto3.session.Session()
    if session.get_credentials() is None:
        raise Refusal(
            "no AWS credentials found. Configure a profile (aws configure sso) and export AWS_PROFILE, "
            "or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY."
        )


def run(action: str, environment: str) -> int:
    if environment == "twin":
        # The twin plans itself (local_twin/cli.py): tools/ is the layer the twin builds on, never the reverse.
        raise Refusal(
            "the twin is planned by `make plan ENV=twin` (python -m local_twin plan) and applied by `make twin`."
        )
    if environment not in ENVIRONMENTS:
        raise Refusal(
            f"ENV must be one of {', '.join(ENVIRONMENTS)} (or twin, for make plan), not {environment!r}."
        )
    root = REPO_ROOT / "environments" / environment
    terraform = find_terraform()
    check_credentials()
    backend = root / "backend.hcl"
    if not backend.exists():
        raise Refusal(
            f"{backend.relative_to(REPO_ROOT)} is missing. Run the bootstrap root once (docs/deploy.md), then copy "
            f"{backend.name}.example to {backend.name} and fill in the bucket."
        )
    layer = REPO_ROOT / "build" / "layer" / "dependencies.zip"
    package = REPO_ROOT / "build" / "lambda" / "functions.zip"
    subprocess.run(
        [terraform, f"-chdir={root}", "init", "-input=false", f"-backend-config={backend.name}"], check=True
    )
    plan_file = REPO_ROOT / "build" / f"{environment}.tfplan"
    if action == "plan":
        command = [
            terraform,
            f"-chdir={root}",
            "plan",
            "-input=false",
            f"-out={plan_file}",
            f"-var=dependencies_layer_zip={layer}",
            f"-var=function_package_zip={package}",
        ]
    else:
        command = (
            [terraform, f"-chdir={root}", "apply", "-input=false", str(plan_file)]
            if plan_file.exists()
            else [
                terraform,
                f"-chdir={root}",
                "apply",
                "-input=false",
                f"-var=dependencies_layer_zip={layer}",
                f"-var=function_package_zip={package}",
            ]
        )
    return subprocess.run(command).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["plan", "apply"])
    parser.add_argument("environment")
    args = parser.parse_args(argv)
    try:
        return run(args.action, args.environment)
    except Refusal as refusal:
        print(f"make {args.action} ENV={args.environment}: {refusal}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
