"""What a load run cost the account, read back from CloudWatch with GetMetricData.

The metrics are the services' own, named as their pages document them:
- DynamoDB: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html
- Lambda: https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
- ElastiCache: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.Redis.html
- Step Functions: https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html
- API Gateway HTTP APIs: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html
Every name and dimension comes from the stack's `terraform output` (table, functions, cache,
state machine, API), never from a list kept here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from drivers.load import cost
from tools.stack import every

PERIOD_SECONDS = 60
# Sum adds over the window; Maximum keeps the highest one-minute value.
AGGREGATE = {"Sum": sum, "Maximum": max, "Average": lambda values: sum(values) / len(values)}


@dataclass(frozen=True)
class Metric:
    key: str  # the dotted results key
    namespace: str
    name: str
    dimensions: dict[str, str]
    stat: str


def api_id(api_url: str | None) -> str | None:
    """https://{api-id}.execute-api.{region}.amazonaws.com -> api-id."""
    host = urlsplit(api_url or "").hostname or ""
    parts = host.split(".")
    return parts[0] if len(parts) >= 4 and parts[1] == "execute-api" else None


def stack_metrics(
    table: str,
    functions: dict[str, str],
    state_machine_arn: str | None,
    caches: dict[str, dict[str, str]],
    api: str | None,
) -> list[Metric]:
    """The metrics a run reads, for one applied stack."""
    metrics = [
        Metric(f"cloudwatch.dynamodb.{name}", "AWS/DynamoDB", name, {"TableName": table}, "Sum")
        for name in (
            "ConsumedReadCapacityUnits",
            "ConsumedWriteCapacityUnits",
            "ReadThrottleEvents",
            "WriteThrottleEvents",
            "ThrottledRequests",
        )
    ]
    for key, function_name in sorted(functions.items()):
        dimensions = {"FunctionName": function_name}
        metrics += [
            Metric(f"cloudwatch.lambda.{key}.Invocations", "AWS/Lambda", "Invocations", dimensions, "Sum"),
            Metric(f"cloudwatch.lambda.{key}.Throttles", "AWS/Lambda", "Throttles", dimensions, "Sum"),
            Metric(f"cloudwatch.lambda.{key}.Errors", "AWS/Lambda", "Errors", dimensions, "Sum"),
            Metric(f"cloudwatch.lambda.{key}.Duration_ms", "AWS/Lambda", "Duration", dimensions, "Sum"),
            Metric(
                f"cloudwatch.lambda.{key}.ConcurrentExecutions",
                "AWS/Lambda",
                "ConcurrentExecutions",
                dimensions,
                "Maximum",
            ),
        ]
    if state_machine_arn:
        dimensions = {"StateMachineArn": state_machine_arn}
        metrics += [
            Metric(f"cloudwatch.states.{name}", "AWS/States", name, dimensions, "Sum")
            for name in ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionThrottled")
        ]
    for cluster, dimensions in caches.items():
        # A node's engine CPU; a serverless cache has no nodes and bills ECPUs instead (its own
        # metrics: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/serverless-metrics-events-redis.html).
        load = (
            [("EngineCPUUtilization", "Maximum")]
            if "CacheClusterId" in dimensions
            else [("ElastiCacheProcessingUnits", "Sum"), ("ThrottledCmds", "Sum")]
        )
        metrics += [
            Metric(f"cloudwatch.cache.{cluster}.{name}", "AWS/ElastiCache", name, dimensions, stat)
            for name, stat in (
                *load,
                ("CurrConnections", "Maximum"),
                ("CacheHits", "Sum"),
                ("CacheMisses", "Sum"),
            )
        ]
    if api:
        dimensions = {"ApiId": api, "Stage": "$default"}
        metrics += [
            Metric(f"cloudwatch.api.{name}", "AWS/ApiGateway", name, dimensions, "Sum")
            for name in ("Count", "4xx", "5xx")
        ]
    return metrics


def queries(metrics: list[Metric]) -> list[dict[str, Any]]:
    return [
        {
            "Id": f"m{index}",
            "Label": metric.key,
            "MetricStat": {
                "Metric": {
                    "Namespace": metric.namespace,
                    "MetricName": metric.name,
                    "Dimensions": [
                        {"Name": name, "Value": value} for name, value in metric.dimensions.items()
                    ],
                },
                "Period": PERIOD_SECONDS,
                "Stat": metric.stat,
            },
            "ReturnData": True,
        }
        for index, metric in enumerate(metrics)
    ]


def read(client: Any, metrics: list[Metric], start: dt.datetime, end: dt.datetime) -> dict[str, float]:
    """Each metric over the window, aggregated by its statistic; a metric with no data is 0
    (CloudWatch publishes nothing for a minute without events, e.g. no throttles)."""
    by_id = {f"m{index}": metric for index, metric in enumerate(metrics)}
    values: dict[str, list[float]] = {metric.key: [] for metric in metrics}
    # GetMetricData takes at most 500 queries per call.
    for first in range(0, len(metrics), 500):
        batch = queries(metrics)[first : first + 500]
        for result in every(
            client,
            "get_metric_data",
            "MetricDataResults",
            MetricDataQueries=batch,
            StartTime=start,
            EndTime=end,
        ):
            values[by_id[result["Id"]].key] += [float(value) for value in result["Values"]]
    return {
        metric.key: (round(AGGREGATE[metric.stat](values[metric.key]), 3) if values[metric.key] else 0.0)
        for metric in metrics
    }


def hit_ratio(figures: dict[str, float]) -> float | None:
    """Hits over hits and misses, summed over every node (replicas serve reads too)."""
    hits = sum(
        v for k, v in figures.items() if k.startswith("cloudwatch.cache.") and k.endswith(".CacheHits")
    )
    misses = sum(
        v for k, v in figures.items() if k.startswith("cloudwatch.cache.") and k.endswith(".CacheMisses")
    )
    return round(hits / (hits + misses), 4) if hits + misses else None


def cache_dimensions(stack: Any) -> dict[str, dict[str, str]]:
    """Where the cache's metrics are, by the name they are reported under: each member cluster of
    a node-based cache's replication group (CacheClusterId), or a serverless cache as a whole
    (clusterId, as modules/observability's dashboard and alarms read it)."""
    name = stack.outputs.cache.get("name")
    if not name:
        return {}
    elasticache = stack.client("elasticache")
    try:
        groups = elasticache.describe_replication_groups(ReplicationGroupId=name)
    except elasticache.exceptions.ReplicationGroupNotFoundFault:
        # cache.mode = "serverless": no replication group; this raises if there is no such cache either
        elasticache.describe_serverless_caches(ServerlessCacheName=name)
        return {name: {"clusterId": name}}
    clusters = groups["ReplicationGroups"][0].get("MemberClusters", [])
    return {cluster: {"CacheClusterId": cluster} for cluster in clusters}


def function_memory_mb(stack: Any) -> dict[str, int]:
    functions = stack.client("lambda")
    return {
        key: int(functions.get_function_configuration(FunctionName=name)["MemorySize"])
        for key, name in stack.outputs.function_names.items()
    }


def account_figures(stack: Any, results: dict[str, Any], settle_seconds: float = 0) -> dict[str, Any]:
    """The run's window (from its first request to a few minutes after, as CloudWatch aggregates
    per minute), read back, with cost per million requests per strategy at list prices."""
    start = dt.datetime.fromtimestamp(results["load.started_epoch"] - PERIOD_SECONDS, tz=dt.UTC)
    end = dt.datetime.fromtimestamp(results["load.ended_epoch"] + 5 * PERIOD_SECONDS, tz=dt.UTC)
    metrics = stack_metrics(
        stack.table_name,
        stack.outputs.function_names,
        stack.state_machine_arn("checkout"),
        cache_dimensions(stack),
        api_id(stack.outputs.api_url),
    )
    figures: dict[str, Any] = dict(read(stack.client("cloudwatch"), metrics, start, end))
    figures["cloudwatch.cache.hit_ratio"] = hit_ratio(figures)
    figures.update(cost.per_million_requests(figures, results, function_memory_mb(stack)))
    return figures
