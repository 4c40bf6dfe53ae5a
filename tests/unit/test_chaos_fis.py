"""`make chaos ENV=staging`'s fault source: the experiment's FIS template, started and stopped
through the FIS API (moto's FIS here, the same calls as in AWS)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from drivers.chaos import table
from drivers.chaos.catalogue import CATALOGUE, by_name
from drivers.chaos.faults import EXTENSION_RAMP_DOWN_SECONDS, EXTENSION_RAMP_UP_SECONDS, FisFaults
from drivers.chaos.harness import INVARIANTS, broken_invariants
from tools.stack import StackOutputs


class _Deployed:
    def __init__(self, templates: dict[str, str]) -> None:
        self.outputs = StackOutputs({"fault_injection_templates": templates})
        self._fis = boto3.client("fis", region_name="us-east-1")

    def client(self, service: str) -> Any:
        assert service == "fis"
        return self._fis


def _template(fis: Any) -> str:
    created = fis.create_experiment_template(
        clientToken="t",
        description="lambda invocation error",
        roleArn="arn:aws:iam::123456789012:role/fis",
        stopConditions=[{"source": "none"}],
        actions={"fail": {"actionId": "aws:lambda:invocation-error", "parameters": {"duration": "PT1M"}}},
    )
    return created["experimentTemplate"]["id"]


@mock_aws
def test_an_experiment_starts_and_stops_its_fis_template() -> None:
    experiment = by_name(["dynamodb-throttling"])[0]
    target = _Deployed({})
    target.outputs.values["fault_injection_templates"][experiment.fis_template] = _template(
        target.client("fis")
    )
    slept: list[float] = []
    faults = FisFaults(poll_seconds=0.01, sleep=slept.append)
    faults.start(experiment, target)  # type: ignore[arg-type]
    # A Lambda fault acts once the FIS extension has read its configuration: start returns after
    # the extension's ramp-up, stop after its ramp-down.
    assert slept[-1] == EXTENSION_RAMP_UP_SECONDS
    report = faults.stop(experiment, target)  # type: ignore[arg-type]
    assert slept[-1] == EXTENSION_RAMP_DOWN_SECONDS
    assert report["source"] == "fis"
    assert report["status"] in ("stopped", "stopping", "completed")
    assert report["action.fail"] in ("stopped", "stopping", "completed", "running", "pending", "initiating")
    listed = target.client("fis").list_experiments()["experiments"]
    assert [e["id"] for e in listed] == [report["experiment_id"]]


@mock_aws
def test_a_cache_template_acts_at_once_without_the_extensions_ramp() -> None:
    experiment = by_name(["stream-lag-cache-flush"])[0]
    target = _Deployed({})
    fis = target.client("fis")
    template = fis.create_experiment_template(
        clientToken="c",
        description="cache power",
        roleArn="arn:aws:iam::123456789012:role/fis",
        stopConditions=[{"source": "none"}],
        actions={
            "power": {
                "actionId": "aws:elasticache:replicationgroup-interrupt-az-power",
                "parameters": {"duration": "PT5M"},
            }
        },
    )["experimentTemplate"]["id"]
    target.outputs.values["fault_injection_templates"][experiment.fis_template] = template
    slept: list[float] = []
    faults = FisFaults(poll_seconds=0.01, sleep=slept.append)
    faults.start(experiment, target)  # type: ignore[arg-type]
    faults.stop(experiment, target)  # type: ignore[arg-type]
    assert EXTENSION_RAMP_UP_SECONDS not in slept and EXTENSION_RAMP_DOWN_SECONDS not in slept


def test_a_stack_without_the_template_is_told_how_to_get_it() -> None:
    with pytest.raises(RuntimeError, match=r"fault_injection\.enabled = true"):
        FisFaults.template_id(CATALOGUE[0], _Deployed({}))  # type: ignore[arg-type]


def test_an_unknown_experiment_is_refused_with_the_catalogue() -> None:
    with pytest.raises(ValueError, match="dynamodb-throttling"):
        by_name(["no-such-experiment"])


def _results(experiment_name: str, **changed: Any) -> dict[str, Any]:
    """One experiment's results with every invariant held, then `changed`."""
    prefix = f"chaos.{experiment_name}"
    results: dict[str, Any] = {f"{prefix}.{name}": 0 for name in INVARIANTS}
    results.update({f"{prefix}.requests": 400, f"{prefix}.errors_during": 2})
    results.update({f"{prefix}.error_budget_during": 10, f"{prefix}.time_to_recover_s": 12.5})
    results.update({f"{prefix}.{name}": value for name, value in changed.items()})
    return results


def test_a_broken_invariant_fails_the_run_names_it_in_the_table_and_exits_non_zero(
    tmp_path, monkeypatch
) -> None:
    """`make chaos` exits 1 when any invariant breaks, and its table and results.json say which."""
    import drivers.chaos as chaos
    from drivers import cli

    held, broken = CATALOGUE[0], CATALOGUE[1]
    results = {**_results(held.name), **_results(broken.name, duplicate_charges=1, errors_during=11)}
    prefix = f"chaos.{broken.name}"
    assert broken_invariants(results, f"chaos.{held.name}") == []
    assert broken_invariants(results, prefix) == ["duplicate_charges", "errors_during"]
    lines = table(results, [held, broken])
    assert lines[2].endswith("none")
    assert lines[3].endswith("duplicate_charges, errors_during")

    def run_experiment(experiment: Any, target: Any, faults: Any) -> dict[str, Any]:
        """What the harness measured, judged as the harness judges it (its last line)."""
        p = f"chaos.{experiment.name}"
        measured = {key: value for key, value in results.items() if key.startswith(f"{p}.")}
        return {**measured, f"{p}.passed": not broken_invariants(measured, p)}

    monkeypatch.setattr(chaos, "run_experiment", run_experiment)
    monkeypatch.setattr(cli, "install_signal_handlers", lambda: None)  # the test process keeps its own
    monkeypatch.setattr("drivers.target.DeployedStack.connect", classmethod(lambda cls, env: object()))
    monkeypatch.setattr("drivers.target.require_credentials", lambda env: None)
    with pytest.raises(SystemExit) as exited:
        cli.main(
            ["chaos", "--env", "staging", "--build-dir", str(tmp_path)]
            + [arg for e in (held, broken) for arg in ("--experiment", e.name)]
        )
    assert exited.value.code == 1
    written = json.loads((tmp_path / "chaos" / "results.json").read_text())
    assert written["chaos.passed"] is False and written[f"{prefix}.passed"] is False


def test_an_experiment_whose_cart_writers_added_nothing_has_measured_no_lost_update() -> None:
    """0 lost updates out of 0 acknowledged adds is no evidence: the run says so."""
    prefix = "chaos.dynamodb-throttling"
    measured = _results("dynamodb-throttling", cart_adds_acknowledged=8)
    assert broken_invariants(measured, prefix) == []
    unmeasured = _results("dynamodb-throttling", cart_adds_acknowledged=0)
    assert broken_invariants(unmeasured, prefix) == ["lost_updates_unmeasured"]
