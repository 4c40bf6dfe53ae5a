"""dev, staging and prod, each applied as it is into one fresh twin (issue 17): their own values
and region, with only the provider's endpoints and credentials and the backend overridden, so
every rule the twin enforces meets the values a user's first `terraform apply` would send.

The three applies run at once against one moto server, as three accounts' first applies would
run side by side: each has its own state and names (shop-<env>-...), and terraform spends most
of an apply waiting on the provider's propagation checks, not on the CPU."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from local_twin.provision import apply_stack
from local_twin.twin import LocalTwin
from tools.hcl import parse_file, unquote

REPO_ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("dev", "staging", "prod")

pytestmark = [pytest.mark.twin, pytest.mark.apply]


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    with LocalTwin.start(tmp_path_factory.mktemp("environments"), with_redis=False, provision=False) as twin:
        with ThreadPoolExecutor(len(ENVIRONMENTS)) as pool:
            futures = {
                environment: pool.submit(
                    apply_stack, twin.build_dir / environment, twin.endpoint_url, None, environment
                )
                for environment in ENVIRONMENTS
            }
            results = {environment: future.result() for environment, future in futures.items()}
        tables = {}
        for environment in ENVIRONMENTS:
            region = unquote(
                parse_file(REPO_ROOT / "environments" / environment / "terraform.tfvars")["region"]
            )
            tables[environment] = boto3.client(
                "dynamodb",
                endpoint_url=twin.endpoint_url,
                region_name=region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            ).list_tables()["TableNames"]
        yield {"results": results, "tables": tables, "endpoint": twin.endpoint_url}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_applies_into_the_twin_as_it_is(applied: dict[str, Any], environment: str) -> None:
    outputs, timings = applied["results"][environment]
    assert timings.resources > 100
    # Applied in the environment's own region, not the twin's: its table is there.
    assert outputs.table_name in applied["tables"][environment]
    assert outputs.table_name.endswith(f"-{environment}-state")


def test_staging_has_its_fault_injection_templates_and_the_others_none(applied: dict[str, Any]) -> None:
    templates = {
        env: applied["results"][env][0].values.get("fault_injection_templates") for env in ENVIRONMENTS
    }
    assert set(templates["staging"]) >= {"lambda_invocation_error", "lambda_invocation_add_delay"}
    assert templates["dev"] == {} and templates["prod"] == {}


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_the_alarms_of_an_environment_with_subscribers_reach_its_topic(
    applied: dict[str, Any], environment: str
) -> None:
    """CloudWatch publishes as itself, so the topic's policy and its key's policy (modules/observability)
    must both let it: the twin decides them as AWS does (local_twin/alarm_actions.py)."""
    outputs, _ = applied["results"][environment]
    observability = outputs.values["observability"]
    topic, alarm = observability["alarm_topic_arn"], observability["alarm_names"][0]
    assert topic is not None
    cloudwatch = boto3.client(
        "cloudwatch",
        endpoint_url=applied["endpoint"],
        region_name=topic.split(":")[3],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="trying the alarm's action")
    items = cloudwatch.describe_alarm_history(AlarmName=alarm, HistoryItemType="Action")["AlarmHistoryItems"]
    assert [item["HistorySummary"] for item in items] == [f"Successfully executed action {topic}"]
