"""make load without a stack: the shapes and the mix, SigV4 signing, the refusal without
credentials, the CloudWatch reader (moto's CloudWatch), the cost arithmetic and the ledger."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto import mock_aws

from drivers import cli, pricing
from drivers.load import cloudwatch, cost, mix
from drivers.load.ledger import Ledger, summarize, timeline
from drivers.load.signing import ExecuteApiAuth, NoCredentials

URL = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/orders"
FROZEN = dt.datetime(2026, 11, 30, 12, 0, 0)


def test_step_shape_ramps_in_equal_steps_then_holds_then_ends() -> None:
    shape = mix.Shape(profile="step", users=8, steps=4, step_seconds=10, hold_seconds=5)
    assert [shape.users_at(t) for t in (0, 9.9, 10, 25, 39, 44)] == [2, 2, 4, 6, 8, 8]
    assert shape.users_at(45) is None


def test_spike_shape_jumps_for_its_window_only() -> None:
    shape = mix.Shape(profile="spike", users=20, base_users=2, spike_at=10, spike_seconds=5, duration=30)
    assert [shape.users_at(t) for t in (0, 9.9, 10, 14.9, 15, 29)] == [2, 2, 20, 20, 2, 2]
    assert shape.users_at(30) is None


def test_a_shape_or_a_mix_the_harness_cannot_run_is_refused() -> None:
    with pytest.raises(ValueError, match="step or spike"):
        mix.Shape(profile="sawtooth")
    with pytest.raises(ValueError, match="name=number"):
        mix.parse_weights("catalog=1,basket=2", ("catalog", "cart", "orders"))
    with pytest.raises(ValueError, match="positive"):
        mix.parse_weights("catalog=0", ("catalog",))


def test_zipf_reads_favour_the_first_ranks() -> None:
    import random

    sample = mix.zipf_sampler(100, 1.1, random.Random(7))
    ranks = [sample() for _ in range(5_000)]
    assert ranks.count(0) > ranks.count(1) > ranks.count(10)


def _prepared(body: bytes) -> requests.PreparedRequest:
    return requests.Request(
        "POST", URL, data=body, headers={"Content-Type": "application/json", "Idempotency-Key": "k1"}
    ).prepare()


def test_each_locust_request_carries_the_signature_botocore_makes_for_execute_api() -> None:
    credentials = Credentials("AKIDEXAMPLE", "secret", "session-token")
    body = b'{"cart_id": "c1", "payment_token": "tok_ok"}'
    with mock.patch("botocore.auth.get_current_datetime", return_value=FROZEN):
        signed = ExecuteApiAuth(credentials, "eu-west-1")(_prepared(body))
        expected = AWSRequest(method="POST", url=URL, data=body, headers=dict(_prepared(body).headers))
        SigV4Auth(credentials, "execute-api", "eu-west-1").add_auth(expected)
        other_body = ExecuteApiAuth(credentials, "eu-west-1")(_prepared(b'{"cart_id": "c2"}'))
    authorization = signed.headers["Authorization"]
    assert authorization == expected.headers["Authorization"]
    assert "Credential=AKIDEXAMPLE/20261130/eu-west-1/execute-api/aws4_request" in authorization
    assert "idempotency-key" in authorization.split("SignedHeaders=")[1]
    assert signed.headers["X-Amz-Security-Token"] == "session-token"
    # The body is signed: another body, another signature.
    assert other_body.headers["Authorization"] != authorization


def test_signing_without_credentials_is_refused() -> None:
    with pytest.raises(NoCredentials, match="AWS_PROFILE"):
        ExecuteApiAuth(None, "eu-west-1")


def test_make_load_against_aws_refuses_clearly_without_credentials(monkeypatch, tmp_path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(SystemExit) as refused:
        cli.main(["load", "--env", "staging", "--build-dir", str(tmp_path)])
    assert "make load ENV=staging" in str(refused.value)
    assert "credentials" in str(refused.value)
    assert not (tmp_path / "load").exists()  # refused before anything ran


@mock_aws
def test_cloudwatch_reader_reads_back_what_was_published() -> None:
    client = boto3.client("cloudwatch", region_name="us-east-1")
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    points = [
        ("AWS/DynamoDB", "ConsumedWriteCapacityUnits", [("TableName", "shop-state")], 40.0),
        ("AWS/DynamoDB", "ConsumedWriteCapacityUnits", [("TableName", "shop-state")], 2.0),
        ("AWS/DynamoDB", "ConsumedWriteCapacityUnits", [("TableName", "other-state")], 999.0),
        ("AWS/Lambda", "Invocations", [("FunctionName", "shop-cart")], 120.0),
        ("AWS/Lambda", "ConcurrentExecutions", [("FunctionName", "shop-cart")], 3.0),
        ("AWS/Lambda", "ConcurrentExecutions", [("FunctionName", "shop-cart")], 7.0),
        ("AWS/ApiGateway", "5xx", [("ApiId", "a1b2c3d4e5"), ("Stage", "$default")], 1.0),
    ]
    for offset, (namespace, name, dimensions, value) in enumerate(points):
        client.put_metric_data(
            Namespace=namespace,
            MetricData=[
                {
                    "MetricName": name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions],
                    "Value": value,
                    "Timestamp": now - dt.timedelta(minutes=offset % 3),
                }
            ],
        )
    metrics = cloudwatch.stack_metrics("shop-state", {"cart": "shop-cart"}, None, {}, cloudwatch.api_id(URL))
    figures = cloudwatch.read(client, metrics, now - dt.timedelta(minutes=10), now + dt.timedelta(minutes=2))
    assert figures["cloudwatch.dynamodb.ConsumedWriteCapacityUnits"] == 42.0  # the other table's excluded
    assert figures["cloudwatch.lambda.cart.Invocations"] == 120.0
    assert figures["cloudwatch.lambda.cart.ConcurrentExecutions"] == 7.0  # the highest minute
    assert figures["cloudwatch.lambda.cart.Throttles"] == 0.0  # nothing published: none
    assert figures["cloudwatch.api.5xx"] == 1.0


def test_cache_hit_ratio_adds_every_nodes_hits_and_misses() -> None:
    figures = {
        "cloudwatch.cache.shop-001.CacheHits": 90.0,
        "cloudwatch.cache.shop-001.CacheMisses": 5.0,
        "cloudwatch.cache.shop-002.CacheHits": 5.0,
        "cloudwatch.cache.shop-002.CacheMisses": 0.0,
    }
    assert cloudwatch.hit_ratio(figures) == 0.95
    assert cloudwatch.hit_ratio({}) is None


def test_api_id_comes_from_the_api_url() -> None:
    assert cloudwatch.api_id(URL) == "a1b2c3d4e5"
    assert cloudwatch.api_id("http://127.0.0.1:3000") is None


def test_cost_per_million_requests_adds_lambda_api_gateway_transitions_and_the_table() -> None:
    figures = {
        "cloudwatch.lambda.cart.Invocations": 1_000.0,
        "cloudwatch.lambda.cart.Duration_ms": 20_000.0,  # 20 s at 1,024 MB: 20 GB-s
        "cloudwatch.lambda.checkout.Invocations": 100.0,
        "cloudwatch.lambda.checkout.Duration_ms": 0.0,
        "cloudwatch.states.ExecutionsStarted": 100.0,
        "cloudwatch.dynamodb.ConsumedReadCapacityUnits": 1_000.0,
        "cloudwatch.dynamodb.ConsumedWriteCapacityUnits": 2_000.0,
    }
    results = {
        "load.requests": 1_100,
        f"load.strategy.{mix.CART}.requests": 1_000,
        f"load.strategy.{mix.ORDERS}.requests": 100,
    }
    out = cost.per_million_requests(
        figures, results, {"cart": 1024, "checkout": 1024}, transitions_per_execution=6
    )
    cart_usd = (
        1_000 * pricing.HTTP_API_USD_PER_REQUEST
        + 1_000 * 0.20 / 1e6
        + 20 * pricing.LAMBDA_ARM_USD_PER_GB_SECOND
    )
    assert out[f"cost.{mix.CART}.usd"] == pytest.approx(cart_usd, abs=1e-6)
    assert out[f"cost.{mix.CART}.usd_per_million_requests"] == pytest.approx(cart_usd / 1_000 * 1e6, abs=0.01)
    orders_usd = 100 * pricing.HTTP_API_USD_PER_REQUEST + 100 * 0.20 / 1e6 + 600 * 0.025 / 1_000
    assert out[f"cost.{mix.ORDERS}.usd"] == pytest.approx(orders_usd, abs=1e-6)
    table_usd = 1_000 * 0.125 / 1e6 + 2_000 * 0.625 / 1e6
    assert out["cost.dynamodb.usd"] == pytest.approx(table_usd, abs=1e-6)
    assert out["cost.stack.usd"] == pytest.approx(cart_usd + orders_usd + table_usd, abs=1e-5)
    assert out[f"cost.{mix.CATALOG}.usd_per_million_requests"] is None  # no catalog requests


def test_ledger_figures_count_409s_as_the_protocol_and_everything_else_by_status() -> None:
    records = [
        {
            "kind": "request",
            "t": 100.0 + i,
            "strategy": mix.CART,
            "route": "GET /carts/{cart_id}",
            "status": 200,
            "ms": float(i + 1),
        }
        for i in range(10)
    ]
    records += [
        {"kind": "request", "t": 105.0, "strategy": mix.CART, "route": "POST /carts/{cart_id}/items", "status": 409, "ms": 5.0},
        {"kind": "request", "t": 106.0, "strategy": mix.CART, "route": "POST /carts/{cart_id}/items", "status": 503, "ms": 5.0},
        {"kind": "request", "t": 107.0, "strategy": mix.CART, "route": "POST /carts/{cart_id}/items", "status": 0, "ms": 5.0},
        {"kind": "increment", "cart": "c", "line": "LINE-00", "attempt": 1},
        {"kind": "gave-up", "cart": "c"},
    ]  # fmt: skip
    ledger = Ledger.from_records(records)
    results = summarize(ledger)
    prefix = f"load.strategy.{mix.CART}"
    assert results[f"{prefix}.requests"] == 13
    assert results[f"{prefix}.errors"] == 2
    assert results[f"{prefix}.conflicts_409"] == 1
    assert results[f"{prefix}.errors_by_status.503"] == 1
    assert results[f"{prefix}.errors_by_status.connection"] == 1
    assert results[f"load.route.{mix.CART}.GET_/carts/{{cart_id}}.latency_ms.p50"] == 5.0
    assert results["load.cart.conflict_retries"] == 1
    assert results["load.cart.gave_up_after_retries"] == 1
    seconds = timeline(ledger)
    assert sum(second.requests for second in seconds) == 13
    assert sum(second.errors for second in seconds) == 2


def test_capacity_model_reads_each_environments_settings_from_its_tfvars() -> None:
    from drivers import capacity

    prod = capacity.environment_settings("prod")
    assert prod == {"rate_limit": 500.0, "burst_limit": 1000.0, "reserved_concurrency": 100.0}
    # dev sets no api block: the stack's own defaults apply.
    assert capacity.environment_settings("dev")["rate_limit"] == 50.0


def test_capacity_model_names_the_stage_rate_limit_first_at_prod_and_the_catalogs_concurrency_next() -> None:
    from drivers import capacity

    prod = capacity.environment_settings("prod")
    durations = {"catalog": 10, "cart": 20, "checkout": 80, "order_steps": 40}
    today = capacity.first_limits(prod, capacity.Demand(400), durations)
    assert today[0][2] == "api.rate_limit" and today[0][0] == pytest.approx(0.8)
    at_10x = capacity.first_limits(prod, capacity.Demand(4_000), durations)
    assert [check[1] for check in at_10x[:3]] == [
        "the API stage's rate limit",
        "catalog's reserved concurrency",
        LIMITS_START_EXECUTION,
    ]
    # 3,200 catalog reads/s need 320 environments at Lambda's 10 requests/s each, not 32 (Little's law
    # at 10 ms): the per-environment request limit, not the duration, sizes a fast function.
    assert at_10x[1][0] == pytest.approx(3.2)
    at_100x = capacity.first_limits({**prod, "rate_limit": 1e9}, capacity.Demand(40_000), durations)
    assert at_100x[0][1] == "catalog's reserved concurrency" and at_100x[0][0] == pytest.approx(32)
    assert at_100x[1][1] == LIMITS_START_EXECUTION
    assert at_100x[1][0] == pytest.approx(40_000 * 0.05 / 300)


LIMITS_START_EXECUTION = (
    "Step Functions Standard StartExecution refill rate (us-east-1, us-west-2, eu-west-1; bucket 1,300)"
)


def test_a_function_needs_an_environment_per_10_requests_per_second_however_fast_it_is() -> None:
    from drivers import capacity

    assert capacity.environments_needed(1_000, 10) == 100  # 10 ms: the request limit decides
    assert capacity.environments_needed(1_000, 250) == 250  # 250 ms: Little's law decides


def test_make_load_passes_the_rate_the_mix_and_the_saga_paths_on_to_the_run() -> None:
    """docs/capacity.md's flash-sale measurement is one make command: each variable reaches the
    driver's command line, and the command line reaches the run's options."""
    variables = ["USER_RPS=4", "SHARES=catalog=0,cart=0,orders=1", "ORDER_PATHS=flash-sale=1"]
    dry_run = subprocess.run(
        ["make", "-n", "load", *variables],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    (line,) = [line for line in dry_run.stdout.splitlines() if "-m drivers load" in line]
    argv = line.split("-m drivers ", 1)[1].split()
    assert argv[argv.index("--order-paths") + 1] == "flash-sale=1"
    options = cli.load_options(cli.command_line().parse_args(argv))
    assert options.user_rps == 4.0
    assert options.shares == "catalog=0,cart=0,orders=1"
    assert options.order_paths == "flash-sale=1"


class _CacheStack:
    """An applied stack as cache_dimensions reads it: the cache's name and an ElastiCache client."""

    def __init__(self, name: str) -> None:
        self.outputs = mock.Mock(cache={"name": name})
        self.elasticache = boto3.client("elasticache", region_name="eu-west-1")

    def client(self, service: str) -> Any:
        assert service == "elasticache"
        return self.elasticache


def test_a_node_based_cache_is_read_per_member_cluster_and_a_serverless_one_as_a_whole() -> None:
    """make load against an environment with cache.mode = "serverless" used to fail: it asked for
    the replication group that only a node-based cache has."""
    from botocore.stub import Stubber

    nodes, serverless = _CacheStack("shop-cache"), _CacheStack("shop-serverless")
    with Stubber(nodes.elasticache) as stub:
        stub.add_response(
            "describe_replication_groups",
            {
                "ReplicationGroups": [
                    {
                        "ReplicationGroupId": "shop-cache",
                        "MemberClusters": ["shop-cache-001", "shop-cache-002"],
                    }
                ]
            },
        )
        assert cloudwatch.cache_dimensions(nodes) == {
            "shop-cache-001": {"CacheClusterId": "shop-cache-001"},
            "shop-cache-002": {"CacheClusterId": "shop-cache-002"},
        }
    with Stubber(serverless.elasticache) as stub:
        stub.add_client_error(
            "describe_replication_groups", "ReplicationGroupNotFoundFault", http_status_code=404
        )
        stub.add_response(
            "describe_serverless_caches", {"ServerlessCaches": [{"ServerlessCacheName": "shop-serverless"}]}
        )
        assert cloudwatch.cache_dimensions(serverless) == {
            "shop-serverless": {"clusterId": "shop-serverless"}
        }
    metrics = cloudwatch.stack_metrics(
        "t", {}, None, {"shop-serverless": {"clusterId": "shop-serverless"}}, None
    )
    names = {metric.name for metric in metrics if metric.namespace == "AWS/ElastiCache"}
    assert names == {
        "ElastiCacheProcessingUnits",
        "ThrottledCmds",
        "CurrConnections",
        "CacheHits",
        "CacheMisses",
    }
    assert all(
        metric.dimensions == {"clusterId": "shop-serverless"}
        for metric in metrics
        if metric.namespace == "AWS/ElastiCache"
    )
    node_metrics = cloudwatch.stack_metrics(
        "t", {}, None, {"shop-cache-001": {"CacheClusterId": "shop-cache-001"}}, None
    )
    assert "EngineCPUUtilization" in {metric.name for metric in node_metrics}


def test_capacity_model_counts_the_cache_nodes_bandwidth_from_the_environments_node_type() -> None:
    from drivers import capacity

    assert capacity.cache_node_gbps("prod") == 0.937
    assert capacity.cache_node_gbps("dev") == 0.064
    prod = {**capacity.environment_settings("prod"), "cache_node_gbps": capacity.cache_node_gbps("prod")}
    durations = {"catalog": 10, "cart": 20, "checkout": 80, "order_steps": 40}
    at_100x = capacity.first_limits(prod, capacity.Demand(40_000), durations)
    (node,) = [check for check in at_100x if check[1] == "the cache node's baseline network bandwidth"]
    reads = 40_000 * 0.8
    expected = (reads * 0.95 * 1024 + reads * 0.05 * 5 * 1024) * 8 / 0.937e9
    assert node[0] == pytest.approx(expected)
    assert 0.3 < node[0] < 0.4  # a third of an r7g.large's baseline at 100x: not what breaks first
    on_dev_node = capacity.first_limits(
        {**prod, "cache_node_gbps": capacity.cache_node_gbps("dev")}, capacity.Demand(40_000), durations
    )
    (small,) = [check for check in on_dev_node if check[1] == "the cache node's baseline network bandwidth"]
    assert small[0] > 4  # dev's t4g.micro would be 5x over at prod's 100x


def test_a_flash_sale_of_a_quarter_of_prods_orders_at_100x_fills_one_products_partition() -> None:
    from drivers import capacity

    prod = capacity.environment_settings("prod")
    durations = {"catalog": 10, "cart": 20, "checkout": 80, "order_steps": 40}
    checks = capacity.first_limits(prod, capacity.Demand(40_000, hot_sku_order_share=0.25), durations)
    (hot,) = [check for check in checks if check[1].startswith("one hot product's partition")]
    assert hot[0] == pytest.approx(1.0)
    assert capacity.hot_product_reservations_per_second() == 40_000 * 0.05 * 0.25
