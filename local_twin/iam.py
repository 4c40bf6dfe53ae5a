"""IAM for the twin: a request signed by a function's role is evaluated against that role's policies.

The evaluator is @cloud-copilot/iam-simulate (npm, pinned in iam_simulate/package.json), run as a
long-lived `node iam_simulate/evaluate.mjs` beside the server. It was chosen over the others the
issue names because it is the only one that evaluates a *request*: action, resource ARN (checked
against the Service Authorization Reference's resource types) and every condition operator over
the request's context keys, with identity and resource (key) policies:

- moto's own access control (moto/iam/access_control.py, on after INITIAL_NO_AUTH_ACTION_COUNT
  requests) matches actions only: every service but S3 passes resource "*", conditions are read
  only for trust policies (and a failed Allow condition counts as an explicit Deny), and an access
  key it does not know (terraform's "testing") is refused, which would stop `terraform apply`.
- iam-ape expands a principal's policies into effective permissions (conditions carried along,
  not evaluated against a request); policyuniverse summarises and lints policies; policy-sentry
  writes policies from the Service Authorization Reference. None decides a request.

What this module adds is only what the evaluator cannot know: which IAM action(s) and resource
ARN(s) an API operation is authorized as, and the context keys the stack's conditions read
(`dynamodb:LeadingKeys`). The mapping follows the Service Authorization Reference:
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html
An operation that is not mapped raises UnmappedOperation: the twin refuses to pass it unchecked.

The policy evaluation logic it follows:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
and the denial's words, AccessDeniedException "User: <assumed-role ARN> is not authorized to
perform: <action> on resource: <ARN> because no identity-based policy allows the <action> action":
https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EVALUATOR_DIR = Path(__file__).with_name("iam_simulate")


class UnmappedOperation(Exception):
    """A role-signed operation the twin does not know how to authorize: a gap in the twin, not a pass."""


@dataclass(frozen=True)
class AuthorizationRequest:
    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)


# ---- operation -> IAM action(s), resource ARN(s), context keys ---------------------------


def _dynamodb_table_arn(region: str, account: str, table: str) -> str:
    return table if table.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{table}"


def _leading_key(key: dict[str, Any], partition_key: str) -> list[str]:
    value = (key or {}).get(partition_key) or {}
    return [str(next(iter(value.values())))] if value else []


def dynamodb_requests(
    operation: str, params: dict[str, Any], region: str, account: str, partition_key_of: Any
) -> list[AuthorizationRequest]:
    """DynamoDB authorizes each item of a transaction or batch as its own action on its table;
    dynamodb:LeadingKeys is the item's partition key value."""

    def item(action: str, table: str, key: dict[str, Any]) -> AuthorizationRequest:
        leading = _leading_key(key, partition_key_of(table))
        context = {"dynamodb:LeadingKeys": leading} if leading else {}
        return AuthorizationRequest(
            f"dynamodb:{action}", _dynamodb_table_arn(region, account, table), context
        )

    if operation in ("GetItem", "DeleteItem", "UpdateItem"):
        return [item(operation, params["TableName"], params.get("Key", {}))]
    if operation == "PutItem":
        return [item(operation, params["TableName"], params.get("Item", {}))]
    if operation == "TransactWriteItems":
        kinds = {"Put": ("PutItem", "Item"), "Update": ("UpdateItem", "Key"), "Delete": ("DeleteItem", "Key")}
        kinds["ConditionCheck"] = ("ConditionCheckItem", "Key")
        requests = []
        for entry in params.get("TransactItems", []):
            (kind, body), *_ = entry.items()
            action, key_field = kinds[kind]
            requests.append(item(action, body["TableName"], body.get(key_field, {})))
        return requests
    if operation == "TransactGetItems":
        return [
            item("GetItem", entry["Get"]["TableName"], entry["Get"].get("Key", {}))
            for entry in params.get("TransactItems", [])
        ]
    if operation in ("DescribeTable", "ListTables"):
        table = params.get("TableName")
        resource = _dynamodb_table_arn(region, account, table) if table else "*"
        return [AuthorizationRequest(f"dynamodb:{operation}", resource)]
    raise UnmappedOperation(f"dynamodb:{operation}")


def states_requests(
    operation: str, params: dict[str, Any], state_machine_of_token: Any
) -> list[AuthorizationRequest]:
    if operation == "StartExecution" or operation == "StartSyncExecution":
        return [AuthorizationRequest(f"states:{operation}", params["stateMachineArn"])]
    if operation in ("DescribeExecution", "GetExecutionHistory", "StopExecution"):
        return [AuthorizationRequest(f"states:{operation}", params["executionArn"])]
    if operation in ("SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"):
        # Authorized on the state machine whose execution issued the token.
        return [AuthorizationRequest(f"states:{operation}", state_machine_of_token(params["taskToken"]))]
    raise UnmappedOperation(f"states:{operation}")


def lambda_requests(
    operation: str, function: str, qualifier: str | None, region: str, account: str
) -> list[AuthorizationRequest]:
    if function.startswith("arn:"):
        arn = function
    else:
        name, _, inline_qualifier = function.partition(":")
        arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
        qualifier = qualifier or inline_qualifier or None
        if qualifier:
            arn += f":{qualifier}"
    actions = {
        "Invoke": "InvokeFunction",
        "GetFunction": "GetFunction",
        "GetFunctionConfiguration": "GetFunctionConfiguration",
    }
    if operation not in actions:
        raise UnmappedOperation(f"lambda:{operation}")
    return [AuthorizationRequest(f"lambda:{actions[operation]}", arn)]


def kms_requests(operation: str, params: dict[str, Any], key_arn_of: Any) -> list[AuthorizationRequest]:
    if operation in (
        "Decrypt",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "DescribeKey",
    ):
        key = params.get("KeyId") or ""
        return [AuthorizationRequest(f"kms:{operation}", key_arn_of(key))]
    raise UnmappedOperation(f"kms:{operation}")


# ---- the evaluator -----------------------------------------------------------------------


class Evaluator:
    """iam-simulate behind a pipe: one simulation per line, answered in order."""

    def __init__(self, node: str = "node") -> None:
        self._process = subprocess.Popen(
            [node, str(EVALUATOR_DIR / "evaluate.mjs")],
            cwd=EVALUATOR_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._lock = threading.Lock()
        self._next = 0

    def evaluate(
        self,
        principal: str,
        account: str,
        request: AuthorizationRequest,
        identity_policies: list[tuple[str, dict[str, Any]]],
        resource_policy: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        simulation: dict[str, Any] = {
            "request": {
                "principal": principal,
                "action": request.action,
                "resource": {"resource": request.resource, "accountId": account},
                "contextVariables": request.context,
            },
            "identityPolicies": [{"name": name, "policy": policy} for name, policy in identity_policies],
            "serviceControlPolicies": [],
            "resourceControlPolicies": [],
        }
        if resource_policy is not None:
            simulation["resourcePolicy"] = resource_policy
        assert self._process.stdin is not None and self._process.stdout is not None
        with self._lock:
            self._next += 1
            self._process.stdin.write(json.dumps({"id": self._next, "simulation": simulation}) + "\n")
            self._process.stdin.flush()
            answer = json.loads(self._process.stdout.readline())
        if "error" in answer:
            raise UnmappedOperation(
                f"{request.action} on {request.resource}: the evaluator refused the request: {answer['error']}"
            )
        return answer

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()


def denial_message(principal: str, request: AuthorizationRequest, result: str) -> str:
    """AWS's words for a denied request (identity-based policies only, as in the twin)."""
    reason = (
        "with an explicit deny in an identity-based policy"
        if result == "ExplicitlyDenied"
        else f"because no identity-based policy allows the {request.action} action"
    )
    return f"User: {principal} is not authorized to perform: {request.action} on resource: {request.resource} {reason}"


# ---- what each role used ----------------------------------------------------------------


class Usage:
    """Which statements of each role allowed a call: the twin's unused-access findings
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-findings.html)."""

    def __init__(self) -> None:
        self._used: dict[str, set[str]] = defaultdict(set)
        self._lock = threading.Lock()

    def record(self, role: str, action: str) -> None:
        with self._lock:
            self._used[role].add(action)

    def used(self) -> dict[str, set[str]]:
        with self._lock:
            return {role: set(actions) for role, actions in self._used.items()}


def granted_actions(policies: list[tuple[str, dict[str, Any]]]) -> set[str]:
    actions: set[str] = set()
    for _, policy in policies:
        statements = policy.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            if statement.get("Effect") != "Allow":
                continue
            listed = statement.get("Action", [])
            actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def unused_report(grants: dict[str, set[str]], used: dict[str, set[str]]) -> dict[str, list[str]]:
    """Per role, the granted actions no call used (wildcard grants are matched by prefix)."""

    def covered(grant: str, actions: set[str]) -> bool:
        if grant.endswith("*"):
            return any(action.lower().startswith(grant[:-1].lower()) for action in actions)
        return grant.lower() in {action.lower() for action in actions}

    return {
        role: sorted(grant for grant in granted if not covered(grant, used.get(role, set())))
        for role, granted in sorted(grants.items())
    }
