"""`python -m drivers {demo,bench}`: drive an applied stack and measure it (`make demo`, `make bench`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from local_twin.processes import install_signal_handlers
from tools import tfrun


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="drivers", description=__doc__)
    parser.add_argument("command", choices=["demo", "bench"])
    parser.add_argument("--build-dir", type=Path, default=Path("build"))
    args = parser.parse_args(argv)
    install_signal_handlers()
    try:
        # Both start a twin, which `terraform apply` creates: without terraform, stop before anything.
        tfrun.toolchain()
    except tfrun.TerraformMissing as missing:
        raise SystemExit(f"make {args.command}: {missing}") from None
    try:
        if args.command == "demo":
            from drivers.demo import run_demo

            run_demo(args.build_dir)
        else:
            from drivers.bench import run_bench

            if run_bench(args.build_dir):
                raise SystemExit(1)
    except KeyboardInterrupt:
        print("\nstopped; every process the twin started has been ended")
        raise SystemExit(130) from None
