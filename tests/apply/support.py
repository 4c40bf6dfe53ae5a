"""What the apply tests share: where they apply, the pipeline that applies, plans and
destroys the examples, and the inventory that tells what a destroy left behind.

The tests apply a copy of the Terraform tree (tools.tfrun's, with its 6.x -> 5.100 rewrites
where only aws 5.100 is installable) made for this pytest process under build/apply/, so
the repository is never written into and two sessions never share override files. Every
terraform command goes through tools.tfrun, with the project's CLI config.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from local_twin.processes import ProcessGroup
from tools import tfrun

APPLY_DIR = tfrun.REPO_ROOT / "build" / "apply"
# Known when the test module is imported: pytest-terraform resolves its fixtures' folders then.
SESSION_DIR = APPLY_DIR / f"session-{os.getpid()}"
TREE = SESSION_DIR / "tree"

TWIN = "twin"
AWS = "aws"
TARGET_VARIABLE = "SERVERLESS_STATE_APPLY"


def selected_target() -> str:
    value = os.environ.get(TARGET_VARIABLE, TWIN).strip().lower() or TWIN
    if value not in (TWIN, AWS):
        raise ValueError(f"{TARGET_VARIABLE} must be {TWIN} (the default) or {AWS}, not {value!r}")
    return value


@dataclass
class Target:
    """Where the examples are applied: the twin's moto server, or a sandbox account."""

    name: str
    region: str
    endpoint_url: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict)
    # boto3 clients are thread-safe once made; making them is not (the pipeline's threads).
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _session: boto3.session.Session = field(default_factory=boto3.session.Session)

    @property
    def is_twin(self) -> bool:
        return self.name == TWIN

    def client(self, service: str) -> Any:
        with self._lock:
            return self._client(service)

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            options: dict[str, Any] = {
                "region_name": self.region,
                "config": Config(retries={"mode": "standard", "max_attempts": 5}),
            }
            if self.endpoint_url is not None:
                options.update(
                    endpoint_url=self.endpoint_url,
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",
                )
            self._clients[service] = self._session.client(service, **options)
        return self._clients[service]


def prepare_tree() -> Path:
    """This session's copy of the Terraform tree; copies left by sessions that died go."""
    APPLY_DIR.mkdir(parents=True, exist_ok=True)
    for stale in APPLY_DIR.glob("session-*"):
        pid = stale.name.removeprefix("session-")
        if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(stale, ignore_errors=True)
    return tfrun.sync_tree(tfrun.toolchain().needs_compat, tree=TREE)


def start_twin_server(folder: Path) -> tuple[ProcessGroup, str]:
    """The twin's moto server alone (local_twin.server: its emulations and local Lambda
    workers), without Redis or a provisioned stack; stop it with ProcessGroup.stop()."""
    folder.mkdir(parents=True, exist_ok=True)
    ready_file = folder / "twin-server.ready.json"
    ready_file.unlink(missing_ok=True)
    server = ProcessGroup(
        [
            sys.executable,
            "-m",
            "local_twin.server",
            "--ready-file",
            str(ready_file),
            "--region",
            tfrun.TWIN_REGION,
        ],
        folder / "twin-server.log",
    )
    deadline = time.monotonic() + 60
    while not ready_file.exists():
        if not server.running or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"the twin server did not start; see {folder / 'twin-server.log'}")
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{json.loads(ready_file.read_text())['port']}"


def keep_logs() -> Path:
    """Each example's terraform output and the twin server's log, kept in build/apply/last-run
    (the session's copy of the tree goes)."""
    kept = APPLY_DIR / "last-run"
    shutil.rmtree(kept, ignore_errors=True)
    kept.mkdir(parents=True)
    for log in [*SESSION_DIR.glob("*.log"), *SESSION_DIR.glob("logs/*.log")]:
        shutil.copy2(log, kept / log.name)
    return kept


# ---- what is left behind -------------------------------------------------------------------


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterable[Any]:
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**kwargs):
            yield from page.get(key, [])
    else:
        yield from getattr(client, operation)(**kwargs).get(key, [])


def _customer_keys(target: Target) -> set[str]:
    """Customer managed keys not pending deletion. Keys behind an alias/aws/* alias are the
    AWS managed keys that services create on first use and never delete (moto creates
    alias/aws/dynamodb's key as a customer key)."""
    kms = target.client("kms")
    service_keys = {
        alias["TargetKeyId"]
        for alias in _pages(kms, "list_aliases", "Aliases")
        if alias["AliasName"].startswith("alias/aws/") and "TargetKeyId" in alias
    }
    found = set()
    for key in _pages(kms, "list_keys", "Keys"):
        if key["KeyId"] in service_keys:
            continue
        metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if metadata.get("KeyManager") == "CUSTOMER" and metadata["KeyState"] not in (
            "PendingDeletion",
            "PendingReplicaDeletion",
        ):
            found.add(key["KeyId"])
    return found


def _elasticache(target: Target) -> set[str]:
    elasticache = target.client("elasticache")
    found = {
        f"replication-group:{g['ReplicationGroupId']}"
        for g in _pages(elasticache, "describe_replication_groups", "ReplicationGroups")
    }
    found |= {
        f"serverless-cache:{c['ServerlessCacheName']}"
        for c in _pages(elasticache, "describe_serverless_caches", "ServerlessCaches")
    }
    found |= {
        f"user-group:{g['UserGroupId']}" for g in _pages(elasticache, "describe_user_groups", "UserGroups")
    }
    found |= {
        f"user:{u['UserId']}"
        for u in _pages(elasticache, "describe_users", "Users")
        if u["UserId"] != "default" and u.get("Status") != "deleting"
    }
    found |= {
        f"subnet-group:{g['CacheSubnetGroupName']}"
        for g in _pages(elasticache, "describe_cache_subnet_groups", "CacheSubnetGroups")
        if g["CacheSubnetGroupName"] != "default"
    }
    found |= {
        f"parameter-group:{g['CacheParameterGroupName']}"
        for g in _pages(elasticache, "describe_cache_parameter_groups", "CacheParameterGroups")
        if not g["CacheParameterGroupName"].startswith("default.")
    }
    return found


def _ec2(target: Target) -> set[str]:
    ec2 = target.client("ec2")
    vpcs = {v["VpcId"] for v in _pages(ec2, "describe_vpcs", "Vpcs") if not v.get("IsDefault")}
    found = {f"vpc:{v}" for v in vpcs}
    if not vpcs:
        return found
    in_vpcs = [{"Name": "vpc-id", "Values": sorted(vpcs)}]
    found |= {f"subnet:{s['SubnetId']}" for s in _pages(ec2, "describe_subnets", "Subnets", Filters=in_vpcs)}
    found |= {
        f"security-group:{g['GroupId']}"
        for g in _pages(ec2, "describe_security_groups", "SecurityGroups", Filters=in_vpcs)
        if g["GroupName"] != "default"
    }
    found |= {
        f"vpc-endpoint:{e['VpcEndpointId']}"
        for e in _pages(ec2, "describe_vpc_endpoints", "VpcEndpoints", Filters=in_vpcs)
        if e["State"].lower() not in ("deleted", "deleting")
    }
    found |= {
        f"nat-gateway:{n['NatGatewayId']}"
        for n in _pages(ec2, "describe_nat_gateways", "NatGateways", Filters=in_vpcs)
        if n["State"] not in ("deleted", "deleting")
    }
    return found


INVENTORIES: dict[str, Callable[[Target], set[str]]] = {
    "dynamodb": lambda t: set(_pages(t.client("dynamodb"), "list_tables", "TableNames")),
    "lambda": lambda t: {
        f["FunctionName"] for f in _pages(t.client("lambda"), "list_functions", "Functions")
    },
    "iam": lambda t: {
        r["RoleName"]
        for r in _pages(t.client("iam"), "list_roles", "Roles")
        if not r["Path"].startswith("/aws-service-role/")
    },
    "kms": _customer_keys,
    "kms-alias": lambda t: {
        a["AliasName"]
        for a in _pages(t.client("kms"), "list_aliases", "Aliases")
        if not a["AliasName"].startswith("alias/aws/")
    },
    "logs": lambda t: {
        g["logGroupName"] for g in _pages(t.client("logs"), "describe_log_groups", "logGroups")
    },
    "sqs": lambda t: set(t.client("sqs").list_queues().get("QueueUrls", [])),
    "states": lambda t: {
        m["name"] for m in _pages(t.client("stepfunctions"), "list_state_machines", "stateMachines")
    },
    "apigatewayv2": lambda t: {a["ApiId"] for a in t.client("apigatewayv2").get_apis().get("Items", [])},
    "s3": lambda t: {b["Name"] for b in t.client("s3").list_buckets().get("Buckets", [])},
    "ec2": _ec2,
    "elasticache": _elasticache,
    "cloudwatch": lambda t: (
        {f"alarm:{a['AlarmName']}" for a in _pages(t.client("cloudwatch"), "describe_alarms", "MetricAlarms")}
        | {
            f"dashboard:{d['DashboardName']}"
            for d in _pages(t.client("cloudwatch"), "list_dashboards", "DashboardEntries")
        }
    ),
    "sns": lambda t: {topic["TopicArn"] for topic in _pages(t.client("sns"), "list_topics", "Topics")},
    "logs-query": lambda t: {
        q["queryDefinitionId"]
        for q in t.client("logs").describe_query_definitions().get("queryDefinitions", [])
    },
    "fis": lambda t: {
        template["id"]
        for template in _pages(t.client("fis"), "list_experiment_templates", "experimentTemplates")
    },
}


def inventory(target: Target) -> dict[str, set[str]]:
    """What exists, by service, among the kinds of resource the examples create."""
    return {service: list_them(target) for service, list_them in INVENTORIES.items()}


def left_behind(target: Target, before: dict[str, set[str]], wait_seconds: float) -> dict[str, set[str]]:
    """What exists now and did not before; polls a while for eventually consistent lists."""
    deadline = time.monotonic() + wait_seconds
    while True:
        now = inventory(target)
        extra = {service: now[service] - before[service] for service in now if now[service] - before[service]}
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(10)


def _identifier(service: str, label: str) -> str:
    return label.split(":", 1)[1] if service in ("ec2", "elasticache", "cloudwatch") else label


# Which resource types of a state can name what each inventory lists (a state machine and a
# function may both be called "example-hello").
STATE_TYPES = {
    "dynamodb": ("aws_dynamodb_",),
    "lambda": ("aws_lambda_",),
    "iam": ("aws_iam_",),
    "kms": ("aws_kms_",),
    "kms-alias": ("aws_kms_alias",),
    "logs": ("aws_cloudwatch_log_group",),
    "sqs": ("aws_sqs_",),
    "states": ("aws_sfn_",),
    "apigatewayv2": ("aws_apigatewayv2_",),
    "s3": ("aws_s3_",),
    "ec2": ("aws_",),
    "elasticache": ("aws_elasticache_",),
    "cloudwatch": ("aws_cloudwatch_",),
    "sns": ("aws_sns_",),
    "logs-query": ("aws_cloudwatch_query_definition",),
    "fis": ("aws_fis_",),
}


def _string_values(document: Any) -> set[str]:
    if isinstance(document, dict):
        return {value for item in document.values() for value in _string_values(item)}
    if isinstance(document, list):
        return {value for item in document for value in _string_values(item)}
    return {document} if isinstance(document, str) else set()


def created_by(state: dict[str, Any], found: dict[str, set[str]]) -> dict[str, set[str]]:
    """What of `found` (an inventory) a Terraform state names, service by service."""
    values: dict[str, set[str]] = {}
    for service, prefixes in STATE_TYPES.items():
        values[service] = {
            value
            for resource in state.get("resources", [])
            if resource.get("mode") == "managed" and resource["type"].startswith(prefixes)
            for instance in resource.get("instances", [])
            for value in _string_values(instance.get("attributes", {}))
        }
    return {
        service: {label for label in labels if _identifier(service, label) in values[service]}
        for service, labels in found.items()
    }


# ---- the examples' lifecycles ------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """A Terraform root to apply, with what must exist before it and be removed after it."""

    name: str
    root: Path
    before_apply: Callable[[Target, Path], None] | None = None
    after_destroy: Callable[[Target], None] | None = None


@dataclass
class Run:
    example: Example
    applied: Future[Any]
    destroyed: Future[dict[str, set[str]]] | None = None


class TerraformFailed(AssertionError):
    pass


class Pipeline:
    """Applies the examples a few at a time in background threads, so that one example's
    provider waits (propagation checks, ElastiCache's fixed delays) overlap another's work.
    A test takes its applied example with `applied`, checks it, and hands it back with
    `destroy`; `destroyed` answers what the destroy left behind."""

    def __init__(self, target: Target, examples: Iterable[Example], workers: int) -> None:
        self.target = target
        self.examples = {example.name: example for example in examples}
        self.by_root = {example.root: example.name for example in self.examples.values()}
        self.runs: dict[str, Run] = {}
        self.created: dict[str, dict[str, set[str]]] = {}
        self.replans: dict[str, dict[str, list[str]] | TerraformFailed] = {}
        self.baseline: dict[str, set[str]] = {}  # the account before the first apply
        self.timings: dict[str, dict[str, float]] = {}
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apply")
        self.logs = SESSION_DIR / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    # -- used by the fixtures --------------------------------------------------------------
    def start(self, names: Iterable[str]) -> None:
        for name in names:
            if name not in self.runs:
                self.runs[name] = Run(self.examples[name], self.pool.submit(self._apply, name))

    def applied(self, name: str) -> Any:
        """pytest-terraform's view of the applied example (outputs, resources); raises if the
        apply failed."""
        self.start([name])
        return self.runs[name].applied.result()

    def destroy(self, name: str) -> None:
        run = self.runs.get(name)
        if run is not None and run.destroyed is None:
            run.destroyed = self.pool.submit(self._destroy, name)

    def destroyed(self, name: str) -> dict[str, set[str]]:
        """What the example created and still exists after its destroy (empty: nothing)."""
        run = self.runs[name]
        if run.destroyed is None:
            self.destroy(name)
        assert run.destroyed is not None
        return run.destroyed.result()

    def replan(self, name: str) -> dict[str, list[str]]:
        """The second plan, made in the pipeline right after the apply (so that its ten-odd
        seconds overlap other work): the resources it would change, each with the attributes
        that differ."""
        self.applied(name)
        planned = self.replans[name]
        if isinstance(planned, TerraformFailed):
            raise planned
        return planned

    def _replan(self, name: str) -> dict[str, list[str]]:
        """`terraform plan` again, from `terraform show -json` of the saved plan."""
        root = self.examples[name].root
        planned = self._terraform(
            name,
            ["plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=replan.tfplan"],
            check=False,
        )
        if planned.returncode == 0:
            return {}
        if planned.returncode != 2:
            raise TerraformFailed(f"the second plan of {name} failed:\n{_tail(planned)}")
        shown = self._terraform(name, ["show", "-json", "-no-color", "replan.tfplan"])
        (root / "replan.tfplan").unlink(missing_ok=True)
        changes: dict[str, list[str]] = {}
        for change in json.loads(shown.stdout).get("resource_changes", []):
            body = change["change"]
            if body["actions"] not in (["no-op"], ["read"]):
                changes[change["address"]] = _changed_paths(
                    body.get("before"), body.get("after"), body.get("after_unknown")
                )
        return changes

    def close(self) -> None:
        """Destroys whatever is still applied and waits for every destroy."""
        for name, run in self.runs.items():
            if run.destroyed is None:
                self.destroy(name)
        for run in self.runs.values():
            with contextlib.suppress(Exception):
                run.destroyed.result()  # type: ignore[union-attr]
        self.pool.shutdown(wait=True)

    # -- in the pool ----------------------------------------------------------------------
    def _terraform(self, name: str, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        result = tfrun.terraform(args, self.examples[name].root, timeout=1500)
        with (self.logs / f"{name}.log").open("a") as log:
            log.write(
                f"$ terraform {' '.join(args)}  ({time.monotonic() - started:.1f} s, exit {result.returncode})\n"
            )
            log.write(result.stdout + result.stderr + "\n")
        if check and result.returncode != 0:
            raise TerraformFailed(f"terraform {args[0]} of {name} failed:\n{_tail(result)}")
        return result

    def _apply(self, name: str) -> Any:
        from pytest_terraform.tf import TerraformTestApi

        example = self.examples[name]
        if example.before_apply is not None:
            example.before_apply(self.target, example.root)
        started = time.monotonic()
        try:
            self._terraform(name, ["init", "-input=false", "-no-color", "-backend=false"])
            self._terraform(name, ["apply", "-input=false", "-no-color", "-auto-approve"])
        except Exception:
            self.destroy(name)  # whatever the failed apply made
            raise
        self.timings[name] = {"apply": time.monotonic() - started}
        state_text = (example.root / "terraform.tfstate").read_text()
        self.created[name] = created_by(json.loads(state_text), inventory(self.target))
        try:
            self.replans[name] = self._replan(name)
        except TerraformFailed as failed:  # the test reports it; the example is still applied
            self.replans[name] = failed
        return TerraformTestApi.from_string(state_text)

    def _destroy(self, name: str) -> dict[str, set[str]]:
        example = self.examples[name]
        started = time.monotonic()
        try:
            self._terraform(name, ["destroy", "-input=false", "-no-color", "-auto-approve"])
        finally:
            self.timings.setdefault(name, {})["destroy"] = time.monotonic() - started
            if example.after_destroy is not None:
                example.after_destroy(self.target)
        created = self.created.get(name, {})
        deadline = time.monotonic() + (0 if self.target.is_twin else 120)
        while True:  # AWS lists some deleted resources (SQS queues) for a while
            now = inventory(self.target)
            left = {
                service: labels & now[service] for service, labels in created.items() if labels & now[service]
            }
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(10)


def _tail(result: subprocess.CompletedProcess[str], lines: int = 60) -> str:
    return "\n".join((result.stdout + result.stderr).splitlines()[-lines:])


def _changed_paths(before: Any, after: Any, unknown: Any, path: str = "") -> list[str]:
    """The attribute paths where a planned change's before and after differ."""
    if isinstance(before, dict) or isinstance(after, dict):
        b, a = before or {}, after or {}
        u = unknown if isinstance(unknown, dict) else {}
        keys = sorted(set(b) | set(a) | set(u))
        return [p for k in keys for p in _changed_paths(b.get(k), a.get(k), u.get(k), f"{path}.{k}")]
    if isinstance(before, list) or isinstance(after, list):
        b, a = before or [], after or []
        u = unknown if isinstance(unknown, list) else []
        return [
            p
            for i in range(max(len(a), len(b), len(u)))
            for p in _changed_paths(
                b[i] if i < len(b) else None,
                a[i] if i < len(a) else None,
                u[i] if i < len(u) else None,
                f"{path}[{i}]",
            )
        ]
    if unknown is True or before != after:
        return [path.lstrip(".") or "(whole)"]
    return []
