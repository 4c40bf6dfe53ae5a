"""`make chaos ENV=staging`'s fault source: the experiment's FIS template, started and stopped
through the FIS API (moto's FIS here, the same calls as in AWS)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from drivers.chaos.catalogue import CATALOGUE, by_name
from drivers.chaos.faults import FisFaults
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
    faults = FisFaults(poll_seconds=0.01)
    faults.start(experiment, target)  # type: ignore[arg-type]
    report = faults.stop(experiment, target)  # type: ignore[arg-type]
    assert report["source"] == "fis"
    assert report["status"] in ("stopped", "stopping", "completed")
    listed = target.client("fis").list_experiments()["experiments"]
    assert [e["id"] for e in listed] == [report["experiment_id"]]


def test_a_stack_without_the_template_is_told_how_to_get_it() -> None:
    with pytest.raises(RuntimeError, match=r"fault_injection\.enabled = true"):
        FisFaults.template_id(CATALOGUE[0], _Deployed({}))  # type: ignore[arg-type]


def test_an_unknown_experiment_is_refused_with_the_catalogue() -> None:
    with pytest.raises(ValueError, match="dynamodb-throttling"):
        by_name(["no-such-experiment"])
