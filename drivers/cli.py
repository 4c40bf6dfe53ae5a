"""`python -m drivers {demo,bench,chaos,load,idle-cost}`: drive an applied stack and measure it (`make demo`,
`make bench`, `make chaos`, `make load`), and price each environment's plan while idle (`make idle-cost`)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from drivers.target import DEPLOYED_ENVIRONMENTS, NoCredentials
from local_twin.processes import install_signal_handlers
from tools import tfrun


def load_options(args: argparse.Namespace) -> Any:
    """The run's options: the environment's defaults, with what the command line changes."""
    from drivers.load import TWIN_DEFAULTS, LoadOptions

    base = TWIN_DEFAULTS if args.env == "twin" else LoadOptions()
    shape = base.shape
    changes: dict[str, Any] = {}
    if args.profile:
        changes["profile"] = args.profile
    if args.users:
        changes["users"] = args.users
    if args.seconds:
        changes["step_seconds" if (args.profile or shape.profile) == "step" else "duration"] = args.seconds
    return dataclasses.replace(
        base,
        shape=dataclasses.replace(shape, **changes),
        user_rps=args.user_rps or base.user_rps,
        processes=args.processes or base.processes,
        shares=args.shares or base.shares,
        order_paths=args.order_paths or base.order_paths,
    )


def command_line() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="drivers", description=__doc__)
    parser.add_argument("command", choices=["demo", "bench", "chaos", "load", "idle-cost"])
    parser.add_argument(
        "--env",
        default="twin",
        choices=["twin", *DEPLOYED_ENVIRONMENTS],
        help="chaos and load: a fresh twin (default) or a deployed environment",
    )
    parser.add_argument("--experiment", action="append", help="chaos: run only this experiment (repeatable)")
    parser.add_argument("--build-dir", type=Path, default=Path("build"))
    load = parser.add_argument_group("load (make load)")
    load.add_argument("--profile", choices=["step", "spike"], help="the load shape (default step)")
    load.add_argument("--users", type=int, help="peak users")
    load.add_argument("--user-rps", type=float, help="requests per second per user")
    load.add_argument("--seconds", type=float, help="spike: the run's length; step: each step's")
    load.add_argument(
        "--processes", type=int, help="Locust workers forked on this machine (a master and N workers)"
    )
    load.add_argument("--shares", help="the mix, e.g. catalog=0.8,cart=0.15,orders=0.05")
    load.add_argument("--order-paths", help="the saga paths' weights, e.g. happy=10,flash-sale=1")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = command_line().parse_args(argv)
    install_signal_handlers()
    if args.command in ("load", "chaos") and args.env != "twin":
        from drivers.target import require_credentials

        try:
            # Before terraform or anything else: a deployed environment needs the caller's credentials.
            require_credentials(args.env)
        except NoCredentials as missing:
            raise SystemExit(f"make {args.command} ENV={args.env}: {missing}") from None
    try:
        # Each starts a twin, which `terraform apply` creates: without terraform, stop before anything.
        tfrun.toolchain()
    except tfrun.TerraformMissing as missing:
        raise SystemExit(f"make {args.command}: {missing}") from None
    try:
        if args.command == "idle-cost":
            from drivers.idle_cost import run_idle_cost

            run_idle_cost(args.build_dir)
        elif args.command == "load":
            from drivers.load import run_load

            if run_load(args.env, args.build_dir, load_options(args)):
                raise SystemExit(1)
        elif args.command == "demo":
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
    except NoCredentials as missing:
        raise SystemExit(f"make {args.command} ENV={args.env}: {missing}") from None
    except KeyboardInterrupt:
        print("\nstopped; every process the twin started has been ended")
        raise SystemExit(130) from None
