"""dev, staging and prod, each applied as it is into one fresh twin (issue 17): their own values
and region, with only the provider's endpoints and credentials and the backend overridden, so
every rule the twin enforces meets the values a user's first `terraform apply` would send."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from local_twin.provision import apply_stack
from local_twin.twin import LocalTwin
from tools.hcl import parse_file, unquote

REPO_ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("dev", "staging", "prod")

pytestmark = [pytest.mark.twin, pytest.mark.apply]


@pytest.fixture(scope="module")
def empty_twin(tmp_path_factory: pytest.TempPathFactory):
    with LocalTwin.start(tmp_path_factory.mktemp("environments"), with_redis=False, provision=False) as twin:
        yield twin


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_applies_into_the_twin_as_it_is(empty_twin: LocalTwin, environment: str) -> None:
    outputs, timings = apply_stack(
        empty_twin.build_dir / environment, empty_twin.endpoint_url, None, environment
    )
    assert timings.resources > 100
    # Applied in the environment's own region, not the twin's: its table is there and only there.
    region = unquote(parse_file(REPO_ROOT / "environments" / environment / "terraform.tfvars")["region"])
    tables = boto3.client(
        "dynamodb",
        endpoint_url=empty_twin.endpoint_url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).list_tables()["TableNames"]
    assert outputs.table_name in tables
    assert outputs.table_name.endswith(f"-{environment}-state")
