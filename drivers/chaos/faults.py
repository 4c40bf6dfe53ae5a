"""Where an experiment's fault comes from: the twin's injector, or Fault Injection Service."""

from __future__ import annotations

import time
from typing import Any

from drivers.chaos.harness import Experiment
from drivers.target import Target


class TwinFaults:
    """The experiment's rules on the twin's fault injector (local_twin/faults.py)."""

    def __init__(self, client: Any) -> None:
        self._client = client  # local_twin.faults.FaultClient
        self._added: dict[str, dict[str, Any]] = {}

    def start(self, experiment: Experiment, target: Target) -> None:
        added = [self._client.add(**rule) for rule in experiment.rules(target)]
        self._added = {rule["id"]: rule for rule in added}

    def stop(self, experiment: Experiment, target: Target) -> dict[str, Any]:
        rules = {rule["id"]: rule for rule in self._client.rules()}
        # A one-shot rule (valkey-flush) acts when it is added and is gone by now: its count is the
        # one the twin answered the add with.
        fired = sum(int(rules.get(rule_id, added)["fired"]) for rule_id, added in self._added.items())
        for rule_id in self._added:
            self._client.clear(rule_id)
        self._added = {}
        return {"source": "twin", "faults_fired": fired}


# The FIS Lambda extension reads its S3 configuration every AWS_FIS_SLOW_POLL_INTERVAL_SECONDS (60 s
# unless the function sets it; modules/fault-injection does not) while no experiment runs, and more
# often while one does: a Lambda fault reaches the invocations up to that long after the experiment
# starts, and may go on up to 20 s after it ends ("Understanding polling",
# https://docs.aws.amazon.com/fis/latest/userguide/use-lambda-actions.html).
EXTENSION_RAMP_UP_SECONDS = 60.0
EXTENSION_RAMP_DOWN_SECONDS = 20.0


class FisFaults:
    """The experiment's FIS template (modules/fault-injection, the stack's
    `fault_injection_templates` output), started and stopped through the FIS API.

    A Lambda template's fault is in force only after the extension's ramp-up, so `start` returns
    then, and `stop` returns after the ramp-down: the harness's window "during the fault" is the
    window in which the fault can act, and "after" begins when it cannot. A cache template acts as
    soon as its action runs."""

    def __init__(self, poll_seconds: float = 1.0, sleep: Any = time.sleep) -> None:
        self._experiment_id: str | None = None
        self._lambda_fault = False
        self._poll_seconds = poll_seconds
        self._sleep = sleep

    @staticmethod
    def template_id(experiment: Experiment, target: Target) -> str:
        templates = target.outputs.values.get("fault_injection_templates") or {}
        if experiment.fis_template not in templates:
            raise RuntimeError(
                f"{experiment.name} needs the FIS template {experiment.fis_template!r}, and this stack has "
                f"{sorted(templates) or 'none'}: apply it with fault_injection.enabled = true (staging has it)"
            )
        return str(templates[experiment.fis_template])

    def start(self, experiment: Experiment, target: Target) -> None:
        fis = target.client("fis")
        template_id = self.template_id(experiment, target)
        actions = fis.get_experiment_template(id=template_id)["experimentTemplate"]["actions"]
        self._lambda_fault = any(action["actionId"].startswith("aws:lambda:") for action in actions.values())
        started = fis.start_experiment(
            experimentTemplateId=template_id,
            clientToken=f"{experiment.name}-{int(time.time())}",
            tags={"chaos-experiment": experiment.name},
        )
        self._experiment_id = started["experiment"]["id"]
        # FIS resolves targets and starts actions asynchronously: the load starts once it runs.
        deadline = time.monotonic() + 120
        while fis.get_experiment(id=self._experiment_id)["experiment"]["state"]["status"] in (
            "pending",
            "initiating",
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"FIS experiment {self._experiment_id} did not start within 120 s")
            self._sleep(self._poll_seconds)
        if self._lambda_fault:
            self._sleep(EXTENSION_RAMP_UP_SECONDS)

    def stop(self, experiment: Experiment, target: Target) -> dict[str, Any]:
        if self._experiment_id is None:
            return {"source": "fis"}
        fis = target.client("fis")
        if fis.get_experiment(id=self._experiment_id)["experiment"]["state"]["status"] in (
            "running",
            "initiating",
            "pending",
        ):
            fis.stop_experiment(id=self._experiment_id)
        if self._lambda_fault:
            self._sleep(EXTENSION_RAMP_DOWN_SECONDS)
        # One read after the fault is over: the experiment's status and FIS's own account of each
        # action ("completed" or "stopped" after it ran, "failed" when it could not act on its targets).
        experiment_state = fis.get_experiment(id=self._experiment_id)["experiment"]
        report = {
            "source": "fis",
            "experiment_id": self._experiment_id,
            "status": experiment_state["state"]["status"],
        }
        actions = experiment_state.get("actions") or {}
        report.update({f"action.{name}": action["state"]["status"] for name, action in actions.items()})
        self._experiment_id = None
        return report
