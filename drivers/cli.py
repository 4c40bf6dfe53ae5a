"""`python -m drivers {demo,bench,chaos}`: drive an applied stack and measure it (`make demo`, `make bench`,
`make chaos`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from local_twin.processes import install_signal_handlers
from tools import tfrun


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="drivers", description=__doc__)
    parser.add_argument("command", choices=["demo", "bench", "chaos"])
    parser.add_argument(
        "--env", default="twin", help="chaos: twin (default) or a deployed environment (staging)"
    )
    parser.add_argument("--experiment", action="append", help="chaos: run only this experiment (repeatable)")
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
        elif args.command == "chaos":
            from drivers.chaos import run_chaos

            if not run_chaos(args.build_dir, args.env, args.experiment):
                raise SystemExit(1)
        else:
            from drivers.bench import run_bench

            if run_bench(args.build_dir):
                raise SystemExit(1)
    except KeyboardInterrupt:
        print("\nstopped; every process the twin started has been ended")
        raise SystemExit(130) from None
