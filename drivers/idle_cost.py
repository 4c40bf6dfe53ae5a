"""What each environment costs with no traffic, resource by resource, from its own plan.

`terraform show -json` of a plan of environments/<env> lists every resource it would create with
its planned arguments; each billed-while-idle resource is priced from the table below (us-east-1
list prices, read on PRICE_DATE from the page each line names; a 730-hour month as AWS's
calculator uses). Resources billed only by use (requests, GB stored or ingested: log groups, flow
logs, the table on demand, Lambda, API Gateway, Step Functions) are listed at $0 idle with what
they bill, so the breakdown says why they are not in the total.

Plans of dev/staging/prod need their AWS account; `plan_environment_on_twin` plans each
environment's real root against an empty local twin instead (only the provider's endpoints and
credentials and the backend are overridden), which gives the same resources and arguments.
infracost reads the same plan JSON (docs/capacity.md, "What each environment costs while idle").
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import tfrun
from tools.packaging import write_function_zip
from tools.progress import heartbeat

PRICE_DATE = "2026-11-28"
HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600

# ElastiCache for Valkey node-hours (aws.amazon.com/elasticache/pricing, on-demand nodes; Valkey
# is priced 20% below Redis OSS).
VALKEY_NODE_USD_PER_HOUR = {
    "cache.t4g.micro": 0.0128,
    "cache.t4g.small": 0.0256,
    "cache.t4g.medium": 0.0512,
    "cache.r7g.large": 0.1752,
    "cache.r7g.xlarge": 0.3504,
}
# ElastiCache Serverless for Valkey bills a minimum of 100 MB of data stored
# (aws.amazon.com/elasticache/pricing): $0.084 per GB-hour.
SERVERLESS_VALKEY_MINIMUM_USD_PER_HOUR = 0.1 * 0.084
# AWS PrivateLink (aws.amazon.com/privatelink/pricing): per interface endpoint per AZ per hour.
INTERFACE_ENDPOINT_USD_PER_AZ_HOUR = 0.01
# Amazon VPC (aws.amazon.com/vpc/pricing): a NAT gateway per hour, a public IPv4 address per hour.
NAT_GATEWAY_USD_PER_HOUR = 0.045
PUBLIC_IPV4_USD_PER_HOUR = 0.005
# AWS KMS (aws.amazon.com/kms/pricing): each customer managed key per month (rotation adds $1 for
# each of the first two rotations, not counted here).
KMS_KEY_USD_PER_MONTH = 1.00
# CloudWatch (aws.amazon.com/cloudwatch/pricing): a dashboard per month, a standard-resolution
# alarm per metric per month. The free tier (3 dashboards, 10 alarm metrics per account) is not
# taken off: an account usually holds more than one environment.
DASHBOARD_USD_PER_MONTH = 3.00
ALARM_METRIC_USD_PER_MONTH = 0.10
# Lambda SnapStart for Python (aws.amazon.com/lambda/pricing): the snapshot cache per GB-second of
# function memory while a published version with SnapStart exists (restores bill per GB restored).
SNAPSTART_CACHE_USD_PER_GB_SECOND = 0.0000015046

USAGE_ONLY = {
    "aws_cloudwatch_log_group": "log ingestion and storage per GB",
    "aws_flow_log": "vended log ingestion per GB",
    "aws_dynamodb_table": "on-demand request units and GB stored, backups per GB",
    "aws_lambda_function": "requests and GB-seconds",
    "aws_apigatewayv2_api": "requests",
    "aws_sfn_state_machine": "state transitions",
    "aws_sqs_queue": "requests",
    "aws_sns_topic": "deliveries",
}


@dataclass(frozen=True)
class Line:
    address: str
    kind: str
    monthly_usd: float
    basis: str


def _alarm_metrics(alarm: dict[str, Any]) -> int:
    queries = alarm.get("metric_query") or []
    return sum(1 for query in queries if query.get("metric")) or 1


def price_resource(kind: str, address: str, after: dict[str, Any], endpoint_azs: int = 0) -> Line | None:
    """One planned resource's idle monthly cost; None for what never bills (IAM, routes, tags).
    endpoint_azs: the AZs an interface endpoint whose subnets are not known until apply spans."""
    if kind == "aws_elasticache_replication_group":
        nodes = int(after.get("num_cache_clusters") or 1)
        node_type = after.get("node_type")
        if node_type not in VALKEY_NODE_USD_PER_HOUR:
            raise KeyError(
                f"{address}: no price for node type {node_type}; add it to VALKEY_NODE_USD_PER_HOUR"
            )
        usd = nodes * VALKEY_NODE_USD_PER_HOUR[node_type] * HOURS_PER_MONTH
        return Line(address, kind, usd, f"{nodes} x {node_type} x {HOURS_PER_MONTH} h")
    if kind == "aws_elasticache_serverless_cache":
        usd = SERVERLESS_VALKEY_MINIMUM_USD_PER_HOUR * HOURS_PER_MONTH
        return Line(address, kind, usd, "the 100 MB storage minimum; ECPUs per request")
    if kind == "aws_vpc_endpoint" and after.get("vpc_endpoint_type") == "Interface":
        azs = len(after["subnet_ids"]) if after.get("subnet_ids") else endpoint_azs
        usd = azs * INTERFACE_ENDPOINT_USD_PER_AZ_HOUR * HOURS_PER_MONTH
        return Line(address, kind, usd, f"{azs} AZ x {HOURS_PER_MONTH} h; data per GB")
    if kind == "aws_nat_gateway":
        return Line(
            address, kind, NAT_GATEWAY_USD_PER_HOUR * HOURS_PER_MONTH, f"{HOURS_PER_MONTH} h; data per GB"
        )
    if kind == "aws_eip":
        return Line(address, kind, PUBLIC_IPV4_USD_PER_HOUR * HOURS_PER_MONTH, "public IPv4 address-hours")
    if kind == "aws_kms_key":
        return Line(address, kind, KMS_KEY_USD_PER_MONTH, "one customer managed key; requests per 10,000")
    if kind == "aws_cloudwatch_dashboard":
        return Line(address, kind, DASHBOARD_USD_PER_MONTH, "one dashboard")
    if kind == "aws_cloudwatch_metric_alarm":
        metrics = _alarm_metrics(after)
        return Line(address, kind, metrics * ALARM_METRIC_USD_PER_MONTH, f"{metrics} alarm metric(s)")
    if kind == "aws_lambda_function":
        snap_start = after.get("snap_start") or []
        if snap_start and snap_start[0].get("apply_on") == "PublishedVersions" and after.get("publish"):
            memory_gb = int(after.get("memory_size") or 128) / 1024
            usd = memory_gb * SECONDS_PER_MONTH * SNAPSTART_CACHE_USD_PER_GB_SECOND
            return Line(address, kind, usd, f"SnapStart cache, {memory_gb:g} GB x a month; requests and GB-s")
    if kind in USAGE_ONLY:
        return Line(address, kind, 0.0, f"usage only: {USAGE_ONLY[kind]}")
    return None


def planned_resources(plan: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(address, type, planned arguments) of every managed resource the plan creates or keeps."""
    return [
        (change["address"], change["type"], change["change"].get("after") or {})
        for change in plan.get("resource_changes", [])
        if change.get("mode") == "managed" and "delete" not in change["change"]["actions"]
    ]


def _module_of(address: str) -> str:
    return address.rsplit(".", 2)[0]


def interface_endpoint_azs(plan: dict[str, Any], endpoint_address: str) -> int:
    """The AZs an interface endpoint spans while its subnet ids are unknown (they are until
    apply): modules/network/endpoints.tf slices the module's private subnets (one per AZ) to the
    first network.interface_endpoint_az_count, when the environment sets it."""
    module = _module_of(endpoint_address)
    subnets = sum(
        1
        for address, kind, _ in planned_resources(plan)
        if kind == "aws_subnet" and _module_of(address) == module and ".private[" in address
    )
    network = plan.get("variables", {}).get("network", {}).get("value") or {}
    cap = network.get("interface_endpoint_az_count")
    return min(subnets, int(cap)) if cap is not None else subnets


def idle_cost(plan: dict[str, Any]) -> list[Line]:
    lines = [
        price_resource(
            kind,
            address,
            after,
            interface_endpoint_azs(plan, address) if kind == "aws_vpc_endpoint" else 0,
        )
        for address, kind, after in planned_resources(plan)
    ]
    return sorted((line for line in lines if line is not None), key=lambda line: -line.monthly_usd)


def results_for(environment: str, lines: list[Line]) -> dict[str, Any]:
    results: dict[str, Any] = {
        f"idle.{environment}.monthly_usd": round(sum(line.monthly_usd for line in lines), 2),
        "idle.price_date": PRICE_DATE,
    }
    by_kind: dict[str, float] = {}
    for line in lines:
        by_kind[line.kind] = by_kind.get(line.kind, 0.0) + line.monthly_usd
    results.update({f"idle.{environment}.by_type.{kind}": round(usd, 2) for kind, usd in by_kind.items()})
    return results


def markdown(environment: str, lines: list[Line]) -> list[str]:
    total = sum(line.monthly_usd for line in lines)
    out = [
        f"### {environment}: ${total:,.2f} a month idle",
        "",
        "| resource | USD/month | basis |",
        "|---|---|---|",
    ]
    out += [f"| `{line.address}` | {line.monthly_usd:,.2f} | {line.basis} |" for line in lines]
    return [*out, ""]


# ---- planning an environment's real root against a twin (no account) ----------------------


def plan_environment_on_twin(environment: str, build_dir: Path) -> dict[str, Any]:
    """`terraform show -json` of a plan of environments/<environment> against an empty twin:
    the root as committed, with its tfvars; the provider points at moto with fake credentials
    (tools.tfrun's twin override) and the S3 backend is replaced by local state."""
    from local_twin.twin import LocalTwin

    work = build_dir / f"plan-{environment}"
    with LocalTwin.start(work / "twin", with_redis=False, provision=False) as twin:
        tree = tfrun.sync_tree(tfrun.toolchain().needs_compat, tree=work / "tree")
        # The environment's own region and values; tfrun swaps its S3 backend for local state.
        root = tfrun.target_twin(tree / "environments" / environment, twin.endpoint_url, region=None)
        # Absolute: terraform reads it from the root, after -chdir.
        package = write_function_zip(work.resolve() / "functions.zip")
        with tempfile.TemporaryDirectory() as scratch:
            plan_file = Path(scratch) / f"{environment}.tfplan"
            planned = tfrun.plan_to_file(root, package, plan_file, backend=True)
            if planned.returncode != 0:
                raise RuntimeError(
                    f"terraform init or plan of {environment} failed: {planned.stderr[-3000:]}"
                )
            shown = tfrun.terraform(["show", "-json", str(plan_file)], root)
        if shown.returncode != 0:
            raise RuntimeError(f"terraform show failed: {shown.stderr[-2000:]}")
        plan = json.loads(shown.stdout)
        (work / f"{environment}.plan.json").write_text(json.dumps(plan))
        return plan


def write_report(out_dir: Path, plans: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """results.json and report.md for these environments' plans."""
    results: dict[str, Any] = {}
    sections = [
        "# What each environment costs while idle",
        "",
        f"From each environment's plan (`terraform show -json`), us-east-1 list prices read {PRICE_DATE} "
        "(drivers/idle_cost.py names each price's page), 730 hours a month, no free tier.",
        "",
    ]
    for environment, plan in plans.items():
        lines = idle_cost(plan)
        results.update(results_for(environment, lines))
        sections += markdown(environment, lines)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out_dir / "report.md").write_text("\n".join(sections) + "\n")
    return results


def run_idle_cost(build_dir: Path, environments: tuple[str, ...] = ("dev", "staging", "prod")) -> int:
    out_dir = build_dir / "idle-cost"
    out_dir.mkdir(parents=True, exist_ok=True)
    plans = {}
    for environment in environments:
        what = f"idle cost: planning environments/{environment} against an empty twin"
        print(f"{what} ...", flush=True)
        with heartbeat(what):
            plans[environment] = plan_environment_on_twin(environment, out_dir)
    results = write_report(out_dir, plans)
    for environment in environments:
        print(f"  {environment}: ${results[f'idle.{environment}.monthly_usd']:,.2f} a month idle")
    print(f"wrote {out_dir / 'results.json'} and {out_dir / 'report.md'}")
    return 0
