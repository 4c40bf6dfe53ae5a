"""The twin's infrastructure, created by `terraform apply` of the real stack.

environments/twin calls terraform/ with the twin's values. tools.tfrun copies the Terraform
tree under the twin's build folder, adds a provider override that points every AWS
endpoint at the twin's moto server, and keeps the state local, next to the copy. The twin
then reads every name, ARN and route from `terraform output`, so there is no second,
hand-kept description of the stack.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_twin.lambda_runtime import twin_layer_zip
from tools import tfrun
from tools.packaging import write_function_zip
from tools.progress import heartbeat
from tools.stack import StackOutputs

TWIN_ROOT = Path("environments") / "twin"
# moto answers in milliseconds; more parallel calls shorten the apply on two cores.
PARALLELISM = 20


class ProvisioningFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Timings:
    init_seconds: float
    apply_seconds: float
    resources: int


def _checked(result: Any, what: str, log: Path) -> None:
    log.write_text(f"$ {' '.join(result.args)}\n{result.stdout}\n{result.stderr}")
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if line.strip()]
        raise ProvisioningFailed(f"terraform {what} failed; see {log}\n" + "\n".join(errors[:40]))


def apply_stack(
    build_dir: Path,
    endpoint_url: str,
    report: Callable[[str], None] | None = None,
    environment: str = "twin",
) -> tuple[StackOutputs, Timings]:
    """Applies an environment root to the moto server at `endpoint_url`, from a fresh state;
    `report` gets a progress line (resources done of planned, elapsed) every few seconds.

    environments/twin is the twin's own; dev, staging and prod are applied as they are, their
    values and region included, with only the provider's endpoints and credentials and the
    backend (local state) overridden, so that every rule the twin enforces meets their values."""
    work = build_dir / "terraform"
    package = write_function_zip(work / "functions.zip")
    # Lambda stores the layer Terraform uploads; the workers import it from there, as functions do in AWS.
    layer = twin_layer_zip()
    tree = tfrun.sync_tree(tfrun.toolchain().needs_compat, tree=work / "tree")
    own_root = Path("environments") / environment
    root = tfrun.target_twin(
        tree / own_root, endpoint_url, region=tfrun.TWIN_REGION if own_root == TWIN_ROOT else None
    )
    for stale in ("terraform.tfstate", "terraform.tfstate.backup"):
        (root / stale).unlink(missing_ok=True)

    started = time.monotonic()
    _checked(tfrun.init(root, backend=own_root != TWIN_ROOT), "init", work / "init.log")
    initialised = time.monotonic()
    progress = tfrun.ApplyProgress(report or (lambda _line: None))
    with heartbeat("terraform apply", every_seconds=5, report=lambda _line: progress.remind()):
        applying = tfrun.terraform(
            [
                "apply",
                "-auto-approve",
                "-input=false",
                "-no-color",
                "-json",
                f"-parallelism={PARALLELISM}",
                f"-var=function_package_zip={package}",
                f"-var=dependencies_layer_zip={layer}",
            ],
            root,
            on_line=progress,
        )
    if applying.returncode != 0 and progress.errors:
        # -json puts terraform's errors on standard output as diagnostics; keep their words.
        applying.stderr = "\n".join(progress.errors) + "\n" + applying.stderr
    _checked(applying, "apply", work / "apply.log")
    applied = time.monotonic()
    output = tfrun.terraform(["output", "-json", "-no-color"], root)
    _checked(output, "output", work / "output.log")
    values = json.loads(output.stdout)["stack"]["value"]
    state = json.loads((root / "terraform.tfstate").read_text())
    resources = sum(len(r.get("instances", [])) for r in state["resources"] if r["mode"] == "managed")
    return StackOutputs(values), Timings(initialised - started, applied - initialised, resources)


def replan(build_dir: Path) -> list[dict[str, Any]]:
    """A second plan of the applied twin: every resource change it proposes, as
    {"address", "actions", "attributes"} (the attributes whose planned value differs)."""
    work = build_dir / "terraform"
    root = work / "tree" / TWIN_ROOT
    plan_file = work / "replan.tfplan"
    planned = tfrun.terraform(
        [
            "plan",
            "-input=false",
            "-no-color",
            "-refresh=true",
            f"-out={plan_file}",
            f"-var=function_package_zip={work / 'functions.zip'}",
            f"-var=dependencies_layer_zip={twin_layer_zip()}",
        ],
        root,
    )
    _checked(planned, "plan", work / "replan.log")
    shown = tfrun.terraform(["show", "-json", str(plan_file)], root)
    _checked(shown, "show", work / "replan-show.log")
    changes = []
    for change in json.loads(shown.stdout).get("resource_changes", []):
        actions = change["change"]["actions"]
        if actions in (["no-op"], ["read"]):
            continue
        before, after = change["change"].get("before") or {}, change["change"].get("after") or {}
        differing = sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))
        changes.append({"address": change["address"], "actions": actions, "attributes": differing})
    return changes
