"""`python -m local_twin {serve,plan,apply-environments}`: the twin on its own (`make twin`,
`make plan ENV=twin`, `make twin-environments`).

What drives a stack and measures it (the demo, the bench) lives in drivers/ and starts the twin
through `LocalTwin`; this CLI only runs the twin and plans against it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from local_twin.http_server import DEFAULT_PORT, PortTaken, TwinHttpServer
from local_twin.processes import install_signal_handlers
from local_twin.provision import ProvisioningFailed, apply_stack
from local_twin.twin import LocalTwin, print_progress
from tools import tfrun
from tools.packaging import write_function_zip
from tools.stack import CHECKOUT_ENGINES

DEPLOYED = ("dev", "staging", "prod")  # the environments users apply into AWS


def serve(build_dir: Path, port: int, checkout_engine: str | None = None) -> None:
    # Bound first: a taken port fails now, not after the two minutes terraform apply takes.
    try:
        http = TwinHttpServer(port, access_log=sys.stderr)
    except PortTaken as taken:
        raise SystemExit(f"make twin: {taken}") from None
    print("starting the local twin and applying the stack with terraform (environments/twin) ...", flush=True)
    try:
        with (
            LocalTwin.start(build_dir / "twin", report=print_progress) as twin,
            twin.checkout_engine(checkout_engine),
        ):
            http.start(twin.gateway)
            try:
                print(twin.describe_provisioning(), flush=True)
                info = {
                    "endpoint_url": twin.endpoint_url,
                    "table": twin.table_name,
                    "functions": twin.outputs.function_names,
                    "state_machine": twin.state_machine_arn("checkout"),
                    "checkout_engine": twin.function_environment("checkout").get("CHECKOUT_ENGINE"),
                    "redis_url": twin.redis.url if twin.redis else None,
                    "terraform_root": str(twin.build_dir / "terraform" / "tree" / "environments" / "twin"),
                    "http_api": http.base_url,
                }
                print(json.dumps(info, indent=2), flush=True)
                print(
                    f"\nthe shop's HTTP API: {http.base_url}  (unsigned requests; see the README's Try it)",
                    flush=True,
                )
                print(
                    f"  curl -i -X PUT {http.base_url}/products/TEAPOT-1 -H 'Content-Type: application/json' "
                    """-d '{"name": "Teapot", "price_cents": 2500, "stock": 20, "version": 0}'""",
                    flush=True,
                )
                print("local twin running; Ctrl-C stops it and everything it started", flush=True)
                while True:
                    time.sleep(1)
            finally:
                # Before the twin's processes go, so no request reaches a stopped function.
                http.stop()
    finally:
        # Also when the twin never started (terraform failed, Ctrl-C during apply).
        http.server_close()


def plan(build_dir: Path) -> int:
    """The whole stack planned against an empty local twin, exactly as a fresh account sees it."""
    with LocalTwin.start(build_dir / "plan-twin", with_redis=False, provision=False) as twin:
        return plan_against(twin.endpoint_url, build_dir / "plan-twin" / "terraform" / "tree")


def plan_against(endpoint_url: str, tree_dir: Path) -> int:
    tree = tfrun.sync_tree(tfrun.toolchain().needs_compat, tree=tree_dir)
    root = tfrun.target_twin(tree / "environments" / "twin", endpoint_url)
    (root / "terraform.tfstate").unlink(missing_ok=True)
    package = write_function_zip(tree_dir.parent / "functions.zip")
    with tempfile.TemporaryDirectory() as scratch:
        planned = tfrun.plan_to_file(root, package, Path(scratch) / "twin.tfplan")
    print(planned.stdout, end="")
    print(planned.stderr, end="", file=sys.stderr)
    return planned.returncode


def apply_environments(build_dir: Path, environments: list[str]) -> None:
    """dev, staging and prod applied as they are into one fresh twin, with every rule the twin
    enforces in force: what `terraform apply` of each would meet in a new account."""
    with LocalTwin.start(build_dir / "environments-twin", with_redis=False, provision=False) as twin:
        for environment in environments:
            print(f"applying environments/{environment} into the twin ...", flush=True)
            _, timings = apply_stack(
                build_dir / "environments-twin" / environment, twin.endpoint_url, print_progress, environment
            )
            print(
                f"  {environment}: {timings.resources} resources in {timings.apply_seconds:.0f} s", flush=True
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="local-twin", description=__doc__)
    parser.add_argument("command", choices=["serve", "plan", "apply-environments"])
    parser.add_argument(
        "environments", nargs="*", default=list(DEPLOYED), help="apply-environments: which (default: all)"
    )
    parser.add_argument("--build-dir", type=Path, default=Path("build"))
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="serve: the HTTP API's port on 127.0.0.1"
    )
    parser.add_argument(
        "--checkout-engine",
        choices=CHECKOUT_ENGINES,
        help="serve: the engine new orders' sagas run on (default: the stack's checkout_engine)",
    )
    args = parser.parse_args(argv)
    install_signal_handlers()
    make_target = {"serve": "twin", "plan": "plan ENV=twin", "apply-environments": "twin-environments"}[
        args.command
    ]
    try:
        # The twin is created by `terraform apply`: without terraform, stop before starting anything.
        tfrun.toolchain()
    except tfrun.TerraformMissing as missing:
        raise SystemExit(f"make {make_target}: {missing}") from None
    try:
        if args.command == "serve":
            serve(args.build_dir, args.port, args.checkout_engine)
        elif args.command == "apply-environments":
            unknown = sorted(set(args.environments) - set(DEPLOYED))
            if unknown:
                raise SystemExit(
                    f"make {make_target}: no environment {unknown}; choose from {list(DEPLOYED)}"
                )
            try:
                apply_environments(args.build_dir, args.environments)
            except ProvisioningFailed as failed:
                raise SystemExit(f"make {make_target}: {failed}") from None
        elif plan(args.build_dir):
            raise SystemExit(1)
    except KeyboardInterrupt:
        print("\nstopped; every process the twin started has been ended")
        raise SystemExit(130) from None
