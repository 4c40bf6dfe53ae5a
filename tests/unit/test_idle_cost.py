"""Idle cost from a plan: each billed-while-idle resource priced from its planned arguments."""

from __future__ import annotations

import pytest

from drivers import idle_cost


def change(address: str, kind: str, after: dict, actions: tuple[str, ...] = ("create",)) -> dict:
    return {
        "address": address,
        "type": kind,
        "mode": "managed",
        "change": {"actions": list(actions), "after": after},
    }


PLAN = {
    "resource_changes": [
        change("module.shop.module.cache.aws_elasticache_replication_group.this[0]", "aws_elasticache_replication_group", {"node_type": "cache.r7g.large", "num_cache_clusters": 3}),
        change("module.shop.module.network.aws_vpc_endpoint.interface[\"logs\"]", "aws_vpc_endpoint", {"vpc_endpoint_type": "Interface", "subnet_ids": ["a", "b", "c"]}),
        change("module.shop.module.network.aws_vpc_endpoint.gateway[\"dynamodb\"]", "aws_vpc_endpoint", {"vpc_endpoint_type": "Gateway"}),
        change("module.shop.aws_kms_key.logs", "aws_kms_key", {}),
        change("module.shop.aws_kms_key.old", "aws_kms_key", {}, ("delete",)),
        change("module.shop.module.observability.aws_cloudwatch_dashboard.this", "aws_cloudwatch_dashboard", {}),
        change("module.shop.module.observability.aws_cloudwatch_metric_alarm.hit_ratio", "aws_cloudwatch_metric_alarm", {"metric_query": [{"metric": [{}]}, {"metric": [{}]}, {"expression": "h/(h+m)"}]}),
        change("module.shop.module.function[\"cart\"].aws_lambda_function.this", "aws_lambda_function", {"memory_size": 1024, "publish": True, "snap_start": [{"apply_on": "PublishedVersions"}]}),
        change("module.shop.module.function[\"catalog\"].aws_lambda_function.this", "aws_lambda_function", {"memory_size": 512, "publish": False, "snap_start": []}),
        change("module.shop.aws_iam_role.cart", "aws_iam_role", {}),
    ]
}  # fmt: skip


def test_each_idle_resource_is_priced_from_its_planned_arguments() -> None:
    lines = {line.address: line for line in idle_cost.idle_cost(PLAN)}
    cache = lines["module.shop.module.cache.aws_elasticache_replication_group.this[0]"]
    assert cache.monthly_usd == pytest.approx(3 * 0.1752 * 730)
    endpoint = lines['module.shop.module.network.aws_vpc_endpoint.interface["logs"]']
    assert endpoint.monthly_usd == pytest.approx(3 * 0.01 * 730)  # per AZ
    assert 'module.shop.module.network.aws_vpc_endpoint.gateway["dynamodb"]' not in lines  # gateways are free
    assert lines["module.shop.aws_kms_key.logs"].monthly_usd == 1.0
    assert "module.shop.aws_kms_key.old" not in lines  # planned for deletion
    alarm = lines["module.shop.module.observability.aws_cloudwatch_metric_alarm.hit_ratio"]
    assert alarm.monthly_usd == pytest.approx(0.2)  # two metrics; the expression is free
    snap = lines['module.shop.module.function["cart"].aws_lambda_function.this']
    assert snap.monthly_usd == pytest.approx(1.0 * 730 * 3600 * 0.0000015046)
    plain = lines['module.shop.module.function["catalog"].aws_lambda_function.this']
    assert plain.monthly_usd == 0 and plain.basis.startswith("usage only")
    assert "module.shop.aws_iam_role.cart" not in lines
    results = idle_cost.results_for("prod", list(lines.values()))
    assert results["idle.prod.monthly_usd"] == pytest.approx(
        round(sum(line.monthly_usd for line in lines.values()), 2)
    )
    assert results["idle.prod.by_type.aws_kms_key"] == 1.0


def test_an_interface_endpoint_whose_subnets_are_unknown_spans_the_modules_private_subnets_up_to_the_cap() -> (
    None
):
    endpoint = change(
        'module.shop.module.network.aws_vpc_endpoint.interface["kms"]',
        "aws_vpc_endpoint",
        {"vpc_endpoint_type": "Interface"},
    )
    subnets = [
        change(f"module.shop.module.network.aws_subnet.private[{i}]", "aws_subnet", {}) for i in range(3)
    ]
    plan = {"resource_changes": [endpoint, *subnets], "variables": {"network": {"value": {"az_count": 3}}}}
    assert idle_cost.idle_cost(plan)[0].monthly_usd == pytest.approx(3 * 0.01 * 730)
    capped = {**plan, "variables": {"network": {"value": {"az_count": 3, "interface_endpoint_az_count": 1}}}}
    assert idle_cost.idle_cost(capped)[0].monthly_usd == pytest.approx(0.01 * 730)


def test_a_node_type_without_a_price_is_refused_rather_than_priced_at_zero() -> None:
    plan = {
        "resource_changes": [change("c", "aws_elasticache_replication_group", {"node_type": "cache.x9.huge"})]
    }
    with pytest.raises(KeyError, match=r"cache\.x9\.huge"):
        idle_cost.idle_cost(plan)
