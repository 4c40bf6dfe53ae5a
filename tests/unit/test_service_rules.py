"""The rules of local_twin/service_rules.py as functions: each fed the case AWS refuses."""

from __future__ import annotations

import pytest

from local_twin import service_rules
from local_twin.service_rules import Refused


def test_a_new_accounts_reduced_quota_refuses_what_1000_allows() -> None:
    # dev reserves 5 per function; the default quota of 1,000 leaves room, a reduced quota of 10 does not.
    service_rules.check_reserved_concurrency(1_000, 5 * 6, 5)
    with pytest.raises(Refused) as raised:
        service_rules.check_reserved_concurrency(10, 0, 5)
    assert raised.value.message == service_rules.UNRESERVED_BELOW_MINIMUM


def test_the_quota_defaults_to_lambdas_default(monkeypatch) -> None:
    monkeypatch.delenv(service_rules.CONCURRENCY_QUOTA_VARIABLE, raising=False)
    assert service_rules.account_concurrency_quota() == 1_000
    monkeypatch.setenv(service_rules.CONCURRENCY_QUOTA_VARIABLE, "10")
    assert service_rules.account_concurrency_quota() == 10


@pytest.mark.parametrize("runtime", ["python3.11", "nodejs22.x", "java8", None])
def test_snapstart_runtimes(runtime: str | None) -> None:
    with pytest.raises(Refused):
        service_rules.check_snapstart(
            {"Runtime": runtime, "SnapStart": {"ApplyOn": "PublishedVersions"}}, "us-east-1"
        )


def test_snapstart_is_fine_on_python313_and_off_anywhere() -> None:
    service_rules.check_snapstart(
        {"Runtime": "python3.13", "SnapStart": {"ApplyOn": "PublishedVersions"}}, "eu-west-1"
    )
    service_rules.check_snapstart({"Runtime": "python3.9", "SnapStart": {"ApplyOn": "None"}}, "eu-west-1")


def test_snapstart_regions_efs_and_storage() -> None:
    on = {"Runtime": "python3.13", "SnapStart": {"ApplyOn": "PublishedVersions"}}
    with pytest.raises(Refused):
        service_rules.check_snapstart(on, "ap-east-2")
    with pytest.raises(Refused):
        service_rules.check_snapstart(
            {**on, "FileSystemConfigs": [{"Arn": "arn", "LocalMountPath": "/mnt/x"}]}, "us-east-1"
        )
    with pytest.raises(Refused):
        service_rules.check_snapstart({**on, "EphemeralStorage": {"Size": 513}}, "us-east-1")


def test_durable_config_ranges() -> None:
    service_rules.check_durable_config({"ExecutionTimeout": 172_800, "RetentionPeriodInDays": 14})
    for bad in ({"ExecutionTimeout": 0}, {"RetentionPeriodInDays": 91}, {"ExecutionTimeout": 31_622_401}):
        with pytest.raises(Refused) as raised:
            service_rules.check_durable_config(bad)
        assert raised.value.code == "ValidationException"


def test_elasticache_rules() -> None:
    service_rules.check_elasticache_user("shop-app", "shop-app", "iam")
    service_rules.check_elasticache_user("shop-default-off", "default", "no-password-required")
    with pytest.raises(Refused):
        service_rules.check_elasticache_user("shop-app", "app", "iam")
    service_rules.check_replication_group_rbac(["shop"], True)
    with pytest.raises(Refused):
        service_rules.check_replication_group_rbac(["shop"], False)


@pytest.mark.parametrize(
    ("engine", "version", "refused"),
    [
        ("valkey", "7.1", True),
        ("valkey", "7.2", False),
        ("valkey", "8.0", False),
        ("redis", "6.2", True),
        ("redis", "7.0", False),
    ],
)
def test_iam_authentication_needs_valkey_7_2_or_redis_7_0(engine: str, version: str, refused: bool) -> None:
    if refused:
        with pytest.raises(Refused) as raised:
            service_rules.check_iam_auth_engine(engine, version, ["app"])
        assert raised.value.code == "InvalidParameterCombination"
    else:
        service_rules.check_iam_auth_engine(engine, version, ["app"])
    service_rules.check_iam_auth_engine(engine, version, [])  # no IAM users: any version
