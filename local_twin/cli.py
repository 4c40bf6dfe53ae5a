"""`python -m local_twin {serve,demo,bench}`."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from local_twin.processes import install_signal_handlers
from local_twin.twin import LocalTwin
from tools import tfrun


def serve(build_dir: Path) -> None:
    print("starting the local twin and applying the stack with terraform (environments/twin) ...", flush=True)
    with LocalTwin.start(build_dir / "twin") as twin:
        print(twin.describe_provisioning(), flush=True)
        info = {
            "endpoint_url": twin.endpoint_url,
            "table": twin.table_name,
            "functions": twin.outputs.function_names,
            "state_machine": twin.state_machine_arn("checkout"),
            "redis_url": twin.redis.url if twin.redis else None,
            "terraform_root": str(twin.build_dir / "terraform" / "tree" / "environments" / "twin"),
        }
        print(json.dumps(info, indent=2), flush=True)
        print("local twin running; Ctrl-C stops it and everything it started", flush=True)
        while True:
            time.sleep(1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="local-twin", description=__doc__)
    parser.add_argument("command", choices=["serve", "demo", "bench"])
    parser.add_argument("--build-dir", type=Path, default=Path("build"))
    args = parser.parse_args(argv)
    install_signal_handlers()
    try:
        # The twin is created by `terraform apply`: without terraform, stop before starting anything.
        tfrun.toolchain()
    except tfrun.TerraformMissing as missing:
        raise SystemExit(f"make {args.command}: {missing}") from None
    try:
        if args.command == "serve":
            serve(args.build_dir)
        elif args.command == "demo":
            from local_twin.demo import run_demo

            run_demo(args.build_dir)
        else:
            from local_twin.bench import run_bench

            run_bench(args.build_dir)
    except KeyboardInterrupt:
        print("\nstopped; every process the twin started has been ended")
        raise SystemExit(130) from None
