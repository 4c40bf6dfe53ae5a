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

import functools
import json
import os
import shutil
import subprocess
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.tfrun import TWIN_REGION

EVALUATOR_DIR = Path(__file__).with_name("iam_simulate")
UNAVAILABLE = (
    "the twin is NOT evaluating IAM: it needs Node.js (node and npm on PATH) and `make venv` to install "
    "@cloud-copilot/iam-simulate; every call is allowed meanwhile, as with TWIN_IAM=off"
)


def available() -> bool:
    """Whether the evaluator can run here: node on PATH and the pinned package installed."""
    return shutil.which("node") is not None and (EVALUATOR_DIR / "node_modules" / "@cloud-copilot").is_dir()


def enforced() -> bool:
    """IAM is checked unless TWIN_IAM=off, where the evaluator can run."""
    return os.environ.get("TWIN_IAM", "enforce") == "enforce" and available()


class UnmappedOperation(Exception):
    """A role-signed operation the twin does not know how to authorize: a gap in the twin, not a pass."""


@dataclass(frozen=True)
class AuthorizationRequest:
    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)
    # (error code, message) the service answers when this request is denied, where the service makes
    # the request on the caller's behalf (DynamoDB calling KMS) and words the denial itself; None:
    # AccessDeniedException in IAM's words.
    denial: tuple[str, str] | None = None


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


def through(service: str, region: str, account: str) -> dict[str, str]:
    """The context of a KMS request a service makes for a caller of this account: kms:ViaService and
    kms:CallerAccount (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html)."""
    return {"kms:ViaService": f"{service}.{region}.amazonaws.com", "kms:CallerAccount": account}


# The item-level actions: DynamoDB reads or writes the table's data for these, so a table under a
# customer managed key needs that key for them (DescribeTable and ListTables read no data).
ITEM_ACTIONS = frozenset(
    f"dynamodb:{action}"
    for action in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem", "Query", "Scan")
)
# "To use a customer managed key to protect a table, the key policy and the principal's IAM policy must
# allow the principal to use it through DynamoDB" (kms:ViaService dynamodb.<region>.amazonaws.com,
# kms:CallerAccount): DynamoDB calls KMS as the caller to unwrap the table key, so a principal that may
# call PutItem but not kms:Decrypt on the table's key is refused
# (https://docs.aws.amazon.com/kms/latest/developerguide/services-dynamodb.html#dynamodb-authz).
# A table under the AWS owned key or the AWS managed key (aws/dynamodb) needs no grant.
# The docs give the rule, not the words; these are DynamoDB's, as its answers carry them.
DYNAMODB_TABLE_KEY_DENIED = (
    "AccessDeniedException",
    "KMS key access denied error: com.amazonaws.services.kms.model.AWSKMSException: The ciphertext refers "
    "to a customer master key that does not exist, does not exist in this region, or you are not allowed to "
    "access. (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException; Request ID: {request_id}; "
    "Proxy: null)",
)


def table_key_requests(
    requests: list[AuthorizationRequest], customer_key_of: Any, region: str, account: str
) -> list[AuthorizationRequest]:
    """The kms:Decrypt DynamoDB makes as the caller, once per customer managed key among the tables
    the item-level requests touch. `customer_key_of(table ARN)` is the table's key ARN, or None for a
    table under an AWS owned or AWS managed key."""
    keys: list[str] = []
    for request in requests:
        if request.action in ITEM_ACTIONS:
            key = customer_key_of(request.resource)
            if key is not None and key not in keys:
                keys.append(key)
    return [
        AuthorizationRequest(
            "kms:Decrypt", key, through("dynamodb", region, account), denial=DYNAMODB_TABLE_KEY_DENIED
        )
        for key in keys
    ]


# A state machine under a customer managed key: Step Functions encrypts an execution's data with a data
# key it asks KMS for as the caller when the execution starts, and decrypts it as the caller to describe
# it or read its history, through Step Functions and with the state machine's ARN as encryption context
# (https://docs.aws.amazon.com/step-functions/latest/dg/encryption-at-rest.html). Its refusal is the API's
# KmsAccessDeniedException (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html).
STATES_KEY_ACTIONS = {
    "StartExecution": "kms:GenerateDataKey",
    "StartSyncExecution": "kms:GenerateDataKey",
    "DescribeExecution": "kms:Decrypt",
    "GetExecutionHistory": "kms:Decrypt",
}
STATES_KEY_DENIED = (
    "KmsAccessDeniedException",
    "Either your AWS KMS key policy or API caller does not have the required permissions.",
)


def state_machine_arn_of(arn: str) -> str:
    """The state machine an execution, version or alias ARN belongs to."""
    parts = arn.split(":")
    return ":".join([*parts[:5], "stateMachine", parts[6]])


def state_machine_key_requests(
    operation: str, requests: list[AuthorizationRequest], customer_key_of: Any, region: str, account: str
) -> list[AuthorizationRequest]:
    """The KMS request Step Functions makes as the caller for `operation`, if the state machine behind
    the request's ARN is under a customer managed key (`customer_key_of(state machine ARN)`)."""
    action = STATES_KEY_ACTIONS.get(operation)
    if action is None or not requests:
        return []
    machine = state_machine_arn_of(requests[0].resource)
    key = customer_key_of(machine)
    if key is None:
        return []
    context = {
        **through("states", region, account),
        "kms:EncryptionContext:aws:states:stateMachineArn": machine,
    }
    return [AuthorizationRequest(action, key, context, denial=STATES_KEY_DENIED)]


def states_requests(operation: str, params: dict[str, Any]) -> list[AuthorizationRequest]:
    if operation == "StartExecution" or operation == "StartSyncExecution":
        return [AuthorizationRequest(f"states:{operation}", params["stateMachineArn"])]
    if operation in ("DescribeExecution", "GetExecutionHistory", "StopExecution"):
        return [AuthorizationRequest(f"states:{operation}", params["executionArn"])]
    if operation in ("SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"):
        # The Service Authorization Reference lists no resource type for these: only a statement
        # with Resource "*" can allow them (the task token is the only scope).
        return [AuthorizationRequest(f"states:{operation}", "*")]
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


@functools.cache
def _durable_routes() -> list[tuple[str, Any, str]]:
    """(method, path pattern, operation) of Lambda's durable execution API, from botocore's model
    (read once: loading Lambda's model was a sixth of the server's time under a checkout burst)."""
    import re

    import botocore.session

    model = botocore.session.get_session().get_service_model("lambda")
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http["requestUri"].split("?", 1)[0]
        if "durable" not in uri.lower():
            continue
        pattern = re.sub(
            r"\\{[^}]+\\}", lambda m: "(?P<" + m.group(0)[2:-2].rstrip("+") + ">[^/]+)", re.escape(uri)
        )
        routes.append((http["method"], re.compile(pattern + "$"), name))
    return routes


def durable_api_requests(
    method: str, path: str, account: str, lambda_arn_of: Any = lambda arn: arn
) -> list[AuthorizationRequest]:
    """Lambda authorizes the durable execution API on the execution's ARN (a callback's, from its
    token) or, for the per-function list, on the function: the Service Authorization Reference's
    "durable execution" resource type."""
    from urllib.parse import unquote

    for route_method, pattern, operation in _durable_routes():
        match = pattern.match(path)
        if route_method != method or match is None:
            continue
        values = {key: unquote(value) for key, value in match.groupdict().items()}
        if "DurableExecutionArn" in values:
            return [AuthorizationRequest(f"lambda:{operation}", lambda_arn_of(values["DurableExecutionArn"]))]
        if "CallbackId" in values:
            from aws_durable_execution_sdk_python_testing.token import CallbackToken

            try:
                arn = CallbackToken.from_str(values["CallbackId"]).execution_arn
            except (ValueError, KeyError, TypeError):  # not a callback id Lambda issued: nothing to authorize
                return [AuthorizationRequest(f"lambda:{operation}", None)]  # the runner refuses it
            return [AuthorizationRequest(f"lambda:{operation}", lambda_arn_of(arn))]
        if "FunctionName" in values:
            region = TWIN_REGION  # the twin serves one region (tools/tfrun.py)
            name = values["FunctionName"]
            arn = name if name.startswith("arn:") else f"arn:aws:lambda:{region}:{account}:function:{name}"
            return [AuthorizationRequest(f"lambda:{operation}", arn)]
    raise UnmappedOperation(f"lambda {method} {path}")


# ---- the evaluator -----------------------------------------------------------------------


# iam-simulate reads a context key with a name in it only in the "prefix/name" form (aws:PrincipalTag/x):
# it drops kms:EncryptionContext:<name>, a colon form, from the request, so every condition on it fails
# (iam-simulate's simulationEngine listHasVariableKeyMatch). The twin carries such a key under a stand-in
# of the slash form that every action accepts, in the request and in the policies alike, so the
# condition is decided on the same value by the same operator.
_ENCRYPTION_CONTEXT = "kms:encryptioncontext:"
_CARRIER = "aws:RequestTag/twin.kms.EncryptionContext."


def _carried_key(key: str) -> str:
    if key.lower().startswith(_ENCRYPTION_CONTEXT):
        return _CARRIER + key[len(_ENCRYPTION_CONTEXT) :]
    return key


def _carried_conditions(policy: dict[str, Any]) -> dict[str, Any]:
    statements = policy.get("Statement", [])
    listed = statements if isinstance(statements, list) else [statements]
    if not any("Condition" in statement for statement in listed):
        return policy
    carried = []
    for statement in listed:
        if "Condition" in statement:
            conditions = {
                operator: {_carried_key(key): value for key, value in keys.items()}
                for operator, keys in statement["Condition"].items()
            }
            statement = {**statement, "Condition": conditions}
        carried.append(statement)
    return {**policy, "Statement": carried}


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
                "contextVariables": {_carried_key(key): value for key, value in request.context.items()},
            },
            "identityPolicies": [
                {"name": name, "policy": _carried_conditions(policy)} for name, policy in identity_policies
            ],
            "serviceControlPolicies": [],
            "resourceControlPolicies": [],
        }
        if resource_policy is not None:
            simulation["resourcePolicy"] = _carried_conditions(resource_policy)
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


# ---- what Lambda checks of a function's role when it is given work to do as that role ------------


def _refusal(action: str, service: str) -> str:
    return f"The provided execution role does not have permissions to call {action} on {service}"


def execution_role_duties(
    configuration: dict[str, Any], region: str, account: str
) -> list[tuple[AuthorizationRequest, str]]:
    """What Lambda will call as the function's role for this CreateFunction or UpdateFunctionConfiguration,
    each with AWS's InvalidParameterValueException text for a role that may not. Lambda checks these when
    the setting is made, not when it is first needed:
    - a VPC: "Lambda uses your function's permissions to create and manage network interfaces"
      (ec2:CreateNetworkInterface, ec2:DescribeNetworkInterfaces, ec2:DeleteNetworkInterface;
      https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions);
    - a dead-letter queue: Lambda sends the failed event as the role, so it needs sqs:SendMessage on the
      queue (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html#invocation-dlq)."""
    duties = []
    if (configuration.get("VpcConfig") or {}).get("SubnetIds"):
        for action, resource in (
            ("CreateNetworkInterface", f"arn:aws:ec2:{region}:{account}:network-interface/*"),
            ("DescribeNetworkInterfaces", "*"),  # "only works if it's allowed on all resources"
            ("DeleteNetworkInterface", f"arn:aws:ec2:{region}:{account}:network-interface/*"),
        ):
            duties.append((AuthorizationRequest(f"ec2:{action}", resource), _refusal(action, "EC2")))
    target = (configuration.get("DeadLetterConfig") or {}).get("TargetArn") or ""
    if target.startswith("arn:aws:sqs:"):
        duties.append((AuthorizationRequest("sqs:SendMessage", target), _refusal("SendMessage", "SQS")))
    return duties


# "Lambda needs the following permissions to manage resources related to your DynamoDB stream":
# https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html#events-dynamodb-permissions
# ListStreams has no resource type in the Service Authorization Reference, so only "*" can allow it
# (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html).
STREAM_READS = ("DescribeStream", "GetRecords", "GetShardIterator")


def stream_mapping_duties(stream_arn: str) -> list[tuple[AuthorizationRequest, str]]:
    """CreateEventSourceMapping on a DynamoDB stream: the mapping reads the stream as the function's
    role, and Lambda refuses a mapping whose role may not, in these words."""
    if ":dynamodb:" not in stream_arn or "/stream/" not in stream_arn:
        return []
    refusal = (
        f"Cannot access stream {stream_arn}. Please ensure the role can perform the GetRecords, "
        "GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM."
    )
    reads = [(AuthorizationRequest(f"dynamodb:{action}", stream_arn), refusal) for action in STREAM_READS]
    return [*reads, (AuthorizationRequest("dynamodb:ListStreams", "*"), refusal)]


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


def statement_names(policies: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """policy#Sid of every Allow statement, as the evaluator names the statement that allowed a call."""
    names = []
    for policy_name, policy in policies:
        statements = policy.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            if statement.get("Effect") == "Allow":
                names.append(f"{policy_name}#{statement.get('Sid', '')}")
    return names


# Why a granted action goes unused on the twin although AWS uses it: what AWS does as the role and the
# twin does not. These are the twin's limits, not the stack's grants; an unused action none of them
# explains is reported as unexplained.
TWIN_DOES_NOT_CALL = (
    (
        "xray:",
        "Lambda's active tracing sends trace segments as the role; the twin runs no X-Ray daemon "
        "(https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html)",
    ),
    (
        "ec2:",
        "Lambda manages the function's network interfaces as the role; the twin checks the three actions "
        "Lambda requires when the VPC is set and creates no interfaces "
        "(https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions)",
    ),
    *(
        (
            action,
            "Step Functions sets up a state machine's log delivery as its role; moto's Step Functions "
            "delivers no execution logs (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html)",
        )
        for action in (
            "logs:createlogdelivery",
            "logs:getlogdelivery",
            "logs:updatelogdelivery",
            "logs:deletelogdelivery",
            "logs:listlogdeliveries",
            "logs:putresourcepolicy",
            "logs:describeresourcepolicies",
            "logs:describeloggroups",
        )
    ),
    (
        "logs:createloggroup",
        "Lambda creates the log group as the role only when it is missing, and Terraform creates it first "
        "(https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html)",
    ),
)


def unused_reason(action: str) -> str | None:
    """Why the twin never calls `action` as a role, or None when it could have."""
    lowered = action.lower()
    return next((reason for prefix, reason in TWIN_DOES_NOT_CALL if lowered.startswith(prefix)), None)


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


# ---- the twin's server: credentials per function, and the check before moto serves ---------


class RoleSessions:
    """Each function's credentials: its execution role, assumed through the twin's STS with the
    function's name as the session name, as Lambda does
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html)."""

    def __init__(self, sts: Any) -> None:
        self._sts = sts
        self._lock = threading.Lock()
        self._by_function: dict[tuple[str, str], dict[str, str]] = {}
        self.principals: dict[str, tuple[str, str]] = {}  # access key -> (role name, assumed-role ARN)
        self._secrets: dict[str, tuple[str, str, str]] = {}  # access key -> (secret, session token, account)

    def environment(self, role_arn: str, function_name: str) -> dict[str, str]:
        key = (role_arn, function_name)
        with self._lock:
            cached = self._by_function.get(key)
        if cached is not None:
            return cached
        answer = self._sts.assume_role(
            RoleArn=role_arn, RoleSessionName=function_name[:64], DurationSeconds=43200
        )
        credentials = answer["Credentials"]
        environment = {
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
        }
        with self._lock:
            self._by_function[key] = environment
            self.principals[credentials["AccessKeyId"]] = (
                role_arn.rsplit("/", 1)[-1],
                answer["AssumedRoleUser"]["Arn"],
            )
            self._secrets[credentials["AccessKeyId"]] = (
                credentials["SecretAccessKey"],
                credentials["SessionToken"],
                role_arn.split(":")[4],
            )
        return environment

    def credentials_of(self, access_key: str) -> tuple[str, str, str] | None:
        """(secret key, session token, account) of a session's access key, for a service that checks
        a presigned request's signature itself (ElastiCache's IAM tokens, cache_auth.py)."""
        with self._lock:
            return self._secrets.get(access_key)


def _access_key(headers: Any) -> str:
    authorization = str(headers.get("Authorization") or headers.get("authorization") or "")
    return authorization.partition("Credential=")[2].split("/", 1)[0]


def _signing_service(headers: Any) -> str:
    authorization = str(headers.get("Authorization") or headers.get("authorization") or "")
    scope = authorization.partition("Credential=")[2].split(",", 1)[0].split("/")
    return scope[3] if len(scope) > 3 else ""


def role_policies(account: str, role_name: str) -> list[tuple[str, dict[str, Any]]]:
    """The role's inline and attached managed policies, as moto's IAM holds them."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account]["aws"]
    policies: list[tuple[str, dict[str, Any]]] = []
    for name in backend.list_role_policies(role_name):
        _, document = backend.get_role_policy(role_name, name)
        policies.append((name, json.loads(document) if isinstance(document, str) else document))
    attached, _ = backend.list_attached_role_policies(role_name)
    for policy in attached:
        version = next(version for version in policy.versions if version.is_default)
        document = version.document
        policies.append((policy.arn, json.loads(document) if isinstance(document, str) else document))
    return policies


def _customer_managed_table_key(account: str, region: str, table: str) -> str | None:
    """The ARN of the customer managed key a table is encrypted under, as moto holds it: None when
    SSE is off (the AWS owned key) or the key is an AWS managed one (an `alias/aws/...` key)."""
    from moto.dynamodb.models import dynamodb_backends

    specification = dynamodb_backends[account][region].get_table(table).sse_specification or {}
    if specification.get("Enabled") not in (True, "true", "True") or not specification.get("KMSMasterKeyId"):
        return None
    return _customer_managed(account, region, specification["KMSMasterKeyId"])


def _customer_managed(account: str, region: str, key_id: str) -> str | None:
    """The key's ARN if it is customer managed; None for an AWS managed (`alias/aws/...`) key."""
    from moto.kms.models import kms_backends

    key = kms_backends[account][region].describe_key(key_id)
    return None if any(alias.startswith("alias/aws/") for alias in key.aliases) else str(key.arn)


def _customer_managed_queue_key(account: str, region: str, queue: str) -> str | None:
    from moto.sqs.models import sqs_backends

    key_id = sqs_backends[account][region].get_queue(queue).kms_master_key_id
    return _customer_managed(account, region, key_id) if key_id else None


def _customer_managed_state_machine_key(account: str, region: str, machine_arn: str) -> str | None:
    from moto.stepfunctions.exceptions import StateMachineDoesNotExist
    from moto.stepfunctions.responses import get_backend  # the parser's backend where the twin runs it

    try:
        machine = get_backend(account, region).describe_state_machine(machine_arn)
    except StateMachineDoesNotExist:
        return None  # Step Functions answers that itself
    configuration = machine.encryptionConfiguration or {}
    if configuration.get("type") != "CUSTOMER_MANAGED_KMS_KEY" or not configuration.get("kmsKeyId"):
        return None
    return _customer_managed(account, region, configuration["kmsKeyId"])


class _AccessDenied(Exception):
    def __init__(self, message: str, code: str = "AccessDeniedException") -> None:
        super().__init__(message)
        self.code = code


def _requests_for(response: Any, service: str, operation: str) -> list[AuthorizationRequest] | None:
    """The authorization requests of one moto request (`response` is moto's BaseResponse)."""
    account, region = response.current_account, response.region
    if service in ("dynamodb", "states", "kms"):
        body = response.body
        params = (
            body
            if isinstance(body, dict)
            else json.loads(getattr(response, "raw_body", None) or body or "{}")
        )
    if service == "dynamodb":
        from moto.dynamodb.models import dynamodb_backends

        def partition_key_of(table: str) -> str:
            return dynamodb_backends[account][region].get_table(table.rsplit("/", 1)[-1]).hash_key_attr

        def customer_key_of(table_arn: str) -> str | None:
            return _customer_managed_table_key(account, region, table_arn.rsplit("/", 1)[-1])

        requests = dynamodb_requests(operation, params, region, account, partition_key_of)
        return requests + table_key_requests(requests, customer_key_of, region, account)
    if service == "states":
        requests = states_requests(operation, params)

        def machine_key_of(machine_arn: str) -> str | None:
            return _customer_managed_state_machine_key(account, region, machine_arn)

        return requests + state_machine_key_requests(operation, requests, machine_key_of, region, account)
    if service == "lambda":
        import re
        from urllib.parse import unquote

        match = re.search(r"/functions/([^/]+)", response.path)
        if match is None:
            raise UnmappedOperation(f"lambda:{operation} ({response.path})")
        qualifier = (response.querystring.get("Qualifier") or [None])[0]
        return lambda_requests(operation, unquote(match.group(1)), qualifier, region, account)
    if service == "kms":
        from moto.kms.models import kms_backends

        def key_arn_of(key: str) -> str:
            return kms_backends[account][region].describe_key(key).arn

        return kms_requests(operation, params, key_arn_of)
    if service == "sqs" and operation == "ListQueues":
        return [AuthorizationRequest("sqs:ListQueues", "*")]  # no resource-level permissions
    if service == "sts" and operation == "GetCallerIdentity":
        return []  # always allowed, whatever the policies say
    raise UnmappedOperation(f"{service}:{operation}")


# An AWS service invoking a function on its own behalf (API Gateway's Lambda integration) is allowed by
# the function's resource policy alone, for its service principal and the calling resource's ARN
# (aws:SourceArn): https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html.
# The twin's gateway sends its Invoke with these two headers, so the server can decide it.
INVOKED_BY_HEADER = "X-Twin-Invoked-By"
SOURCE_ARN_HEADER = "X-Twin-Source-Arn"


def service_invoke_denial(principal: str, resource: str) -> str:
    return (
        f"User: {principal} is not authorized to perform: lambda:InvokeFunction on resource: {resource} "
        "because no resource-based policy allows the lambda:InvokeFunction action"
    )


class Enforcer:
    """Checks every moto request signed by a function's role; records what each role used."""

    def __init__(self, sessions: RoleSessions, evaluator: Evaluator, report_file: Path | None = None) -> None:
        self.sessions = sessions
        self.evaluator = evaluator
        self.usage = Usage()
        self.unmapped: list[str] = []
        self._report_file = report_file
        self._roles: set[str] = set()
        self._statements: dict[str, set[str]] = defaultdict(set)
        self._report_lock = threading.RLock()  # write_report holds it while report() reads

    def check(self, response: Any) -> None:
        invoked_by = response.headers.get(INVOKED_BY_HEADER)
        if invoked_by and _signing_service(response.headers) == "lambda":
            self.check_service_invoke(response, invoked_by, str(response.headers.get(SOURCE_ARN_HEADER, "")))
        principal = self.sessions.principals.get(_access_key(response.headers))
        if principal is None:
            return  # the twin's own admin keys (terraform, tests) and anyone else's
        role_name, principal_arn = principal
        service, operation = _signing_service(response.headers), response._get_action()
        try:
            requests = _requests_for(response, service, operation)
        except UnmappedOperation as exc:
            self.unmapped.append(str(exc))
            self.write_report()
            raise
        if not requests:
            return
        self._decide(role_name, principal_arn, response.current_account, requests)

    def _decide(
        self,
        role_name: str,
        principal_arn: str,
        account: str,
        requests: list[AuthorizationRequest],
    ) -> None:
        policies = role_policies(account, role_name)
        answers = []
        for request in requests:
            resource_policy = self._key_policy(request)
            answer = self.evaluator.evaluate(principal_arn, account, request, policies, resource_policy)
            if answer["result"] != "Allowed":
                if request.denial is not None:
                    code, message = request.denial
                    raise _AccessDenied(message.format(request_id=uuid.uuid4()), code)
                raise _AccessDenied(denial_message(principal_arn, request, answer["result"]))
            answers.append(answer)
        new = False
        for request, answer in zip(requests, answers, strict=True):
            new = self._record(role_name, request.action) or new
            for statement in answer.get("allowedBy", []):
                new = self._record_statement(role_name, statement) or new
        if new:
            self.write_report()

    def check_service_invoke(self, response: Any, service: str, source_arn: str) -> None:
        """An Invoke made by an AWS service (the twin's API Gateway), decided by the function's resource
        policy for that service principal with aws:SourceArn and aws:SourceAccount."""
        from moto.awslambda.exceptions import (
            GenericResourcNotFound,
            UnknownAliasException,
            UnknownFunctionException,
        )
        from moto.awslambda.models import lambda_backends

        account, region = response.current_account, response.region
        (request,) = _requests_for(response, "lambda", response._get_action())
        function, _, qualifier = request.resource.split(":function:", 1)[1].partition(":")
        try:
            # {"Policy": "<the policy document, as a JSON string>", "RevisionId": ...}
            wire = json.loads(lambda_backends[account][region].get_policy(function, qualifier or None))
            policy = json.loads(wire["Policy"])
        except (GenericResourcNotFound, UnknownFunctionException, UnknownAliasException):
            policy = None  # no resource policy: nothing allows the service
        context = {"aws:SourceArn": source_arn, "aws:SourceAccount": account}
        if not self.service_allowed(
            service, account, AuthorizationRequest(request.action, request.resource, context), policy
        ):
            raise _AccessDenied(service_invoke_denial(service, request.resource))

    def service_allowed(
        self,
        service: str,
        account: str,
        request: AuthorizationRequest,
        resource_policy: dict[str, Any] | None,
    ) -> bool:
        """Whether a resource's policy lets an AWS service principal make `request`: a service principal
        has no identity policies, so the resource policy alone decides."""
        return self.evaluator.evaluate(service, account, request, [], resource_policy)["result"] == "Allowed"

    def refusal_for_role(
        self, role_arn: str, function_name: str, account: str, duties: list[tuple[AuthorizationRequest, str]]
    ) -> str | None:
        """The first duty the role may not do, as AWS words its refusal; None when it may do them all.
        The principal is the role's session as Lambda assumes it, named after the function."""
        if not duties:
            return None
        from moto.iam.exceptions import NotFoundException

        role_name = role_arn.rsplit("/", 1)[-1]
        principal = f"arn:aws:sts::{account}:assumed-role/{role_name}/{function_name[:64]}"
        for request, refusal in duties:
            try:
                self._decide(role_name, principal, account, [request])
            except _AccessDenied:
                return refusal
            except NotFoundException:
                return None  # no such role: Lambda's own check refuses that ("cannot be assumed")
        return None

    def refusal_for_key(
        self, access_key: str, account: str, requests: list[AuthorizationRequest]
    ) -> str | None:
        """Why the role session that owns `access_key` may not make `requests` (a service decides them
        on its behalf, as ElastiCache decides elasticache:Connect); None when it may."""
        principal = self.sessions.principals.get(access_key)
        if principal is None:
            return f"the access key {access_key!r} is not one of the twin's role sessions"
        try:
            self._decide(*principal, account, requests)
        except _AccessDenied as denied:
            return str(denied)
        return None

    def stream_read_refusal(self, role_arn: str, function_name: str, stream_arn: str) -> str | None:
        """A mapping reads its stream as the function's role, for as long as it runs: the stream
        reads, and kms:Decrypt through DynamoDB when the table is under a customer managed key (its
        stream is encrypted with the table's key). AWS's words when the role may not, which Lambda
        shows as the mapping's LastProcessingResult; None when it may."""
        _, _, _, region, account, resource = stream_arn.split(":", 5)
        duties = stream_mapping_duties(stream_arn)
        key = _customer_managed_table_key(account, region, resource.split("/")[1])
        if key is not None and duties:
            duties.append(
                (AuthorizationRequest("kms:Decrypt", key, through("dynamodb", region, account)), duties[0][1])
            )
        return self.refusal_for_role(role_arn, function_name, account, duties)

    def may_send_failure(self, role_arn: str, function_name: str, destination_arn: str) -> bool:
        """Lambda sends a mapping's discarded batch to its on-failure destination as the function's
        role: sqs:SendMessage (or sns:Publish), and for a queue under a customer managed key
        kms:GenerateDataKey and kms:Decrypt through SQS
        (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html#invocation-async-destinations,
        https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
        A role that may not loses the record."""
        _, _, service, region, account, resource = destination_arn.split(":", 5)
        action = "sqs:SendMessage" if service == "sqs" else "sns:Publish"
        duties = [(AuthorizationRequest(action, destination_arn), "")]
        key = _customer_managed_queue_key(account, region, resource) if service == "sqs" else None
        if key is not None:
            duties += [
                (AuthorizationRequest(a, key, through("sqs", region, account)), "")
                for a in ("kms:GenerateDataKey", "kms:Decrypt")
            ]
        return self.refusal_for_role(role_arn, function_name, account, duties) is None

    def service_may_use_key(
        self,
        service: str,
        account: str,
        region: str,
        key_id: str,
        actions: tuple[str, ...],
        context: dict[str, Any],
    ) -> bool:
        """Whether a key's policy lets an AWS service principal use the key for its own work, as a
        service principal is decided: by the key policy alone (it has no identity policies)."""
        from moto.kms.exceptions import NotFoundException
        from moto.kms.models import kms_backends

        try:
            key = kms_backends[account][region].describe_key(key_id)
        except NotFoundException:
            return False
        policy = json.loads(key.policy) if key.policy else None
        return all(
            self.service_allowed(
                service, account, AuthorizationRequest(action, key.arn, dict(context)), policy
            )
            for action in actions
        )

    def may_deliver_logs(
        self, role_arn: str, function_name: str, account: str, region: str, group: str, exists: bool
    ) -> bool:
        """Lambda writes a function's log lines as its execution role: CreateLogStream and PutLogEvents on
        the group's streams, and CreateLogGroup first when the group does not exist. A role that may not
        loses the lines; the invocation itself is not affected
        (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html#monitoring-cloudwatchlogs-prereqs)."""
        group_arn = f"arn:aws:logs:{region}:{account}:log-group:{group}"
        duties = [] if exists else [(AuthorizationRequest("logs:CreateLogGroup", group_arn), "")]
        duties += [
            (AuthorizationRequest(f"logs:{action}", f"{group_arn}:log-stream:{function_name}"), "")
            for action in ("CreateLogStream", "PutLogEvents")
        ]
        return self.refusal_for_role(role_arn, function_name, account, duties) is None

    def check_durable_api(
        self, environ: dict[str, Any], account: str, lambda_arn_of: Any = lambda arn: arn
    ) -> tuple[str, str] | None:
        """The durable execution API, which the twin serves beside moto (durable.py): the same
        check, routed by botocore's Lambda model. Returns (status, JSON body) for a refusal."""
        principal = self.sessions.principals.get(
            _access_key({"Authorization": environ.get("HTTP_AUTHORIZATION", "")})
        )
        if principal is None:
            return None
        role_name, principal_arn = principal
        raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        try:
            requests = durable_api_requests(
                environ["REQUEST_METHOD"], raw_path.split("?", 1)[0], account, lambda_arn_of
            )
            if any(request.resource is None for request in requests):
                return None  # an execution the twin never started: the runner answers that
            self._decide(role_name, principal_arn, account, requests)
        except UnmappedOperation as exc:
            self.unmapped.append(str(exc))
            self.write_report()
            return "500", json.dumps(
                {"__type": "TwinUnmappedOperation", "message": f"the twin cannot authorize {exc}"}
            )
        except _AccessDenied as exc:
            return "403", json.dumps({"__type": "AccessDeniedException", "Message": str(exc)})
        return None

    def _key_policy(self, request: AuthorizationRequest) -> dict[str, Any] | None:
        """A kms:* request is decided by the key's policy too (same account: either may allow)
        https://docs.aws.amazon.com/kms/latest/developerguide/determining-access.html"""
        if not request.action.startswith("kms:") or not request.resource.startswith("arn:"):
            return None
        from moto.kms.models import kms_backends

        _, _, _, region, account, _ = request.resource.split(":", 5)
        key = kms_backends[account][region].describe_key(request.resource)
        return json.loads(key.policy) if key.policy else None

    def _record(self, role: str, action: str) -> bool:
        with self._report_lock:
            fresh = role not in self._roles or action not in self.usage.used().get(role, set())
            self._roles.add(role)
        self.usage.record(role, action)
        return fresh

    def _record_statement(self, role: str, statement: str) -> bool:
        with self._report_lock:
            fresh = statement not in self._statements[role]
            self._statements[role].add(statement)
        return fresh

    def report(self, account: str = "123456789012") -> dict[str, Any]:
        """What each role's calls used (actions, and the statements that allowed them), what they
        never used, and any operation the twin could not authorize."""
        from moto.iam.exceptions import NotFoundException

        used = self.usage.used()
        policies = {}
        for role in sorted(self._roles):
            try:
                policies[role] = role_policies(account, role)
            except NotFoundException:
                continue  # deleted since it was used (a destroyed stack): nothing left to report on
        used = {role: actions for role, actions in used.items() if role in policies}
        grants = {role: granted_actions(documents) for role, documents in policies.items()}
        with self._report_lock:
            statements = {role: set(names) for role, names in self._statements.items() if role in policies}
        unused = unused_report(grants, used)
        return {
            "used": {role: sorted(actions) for role, actions in sorted(used.items())},
            "unused": unused,
            "used_statements": {role: sorted(names) for role, names in sorted(statements.items())},
            "unused_statements": {
                role: sorted(set(statement_names(documents)) - statements.get(role, set()))
                for role, documents in policies.items()
            },
            "unmapped": sorted(set(self.unmapped)),
            "unused_reasons": {
                role: {action: reason for action in actions if (reason := unused_reason(action))}
                for role, actions in unused.items()
            },
            "unexplained": {
                role: [action for action in actions if unused_reason(action) is None]
                for role, actions in unused.items()
            },
        }

    def write_report(self) -> None:
        if self._report_file is None:
            return
        with self._report_lock:
            temporary = self._report_file.with_suffix(".tmp")
            temporary.write_text(json.dumps(self.report(), indent=2, sort_keys=True))
            temporary.rename(self._report_file)


def install(enforcer: Enforcer) -> None:
    """Runs `enforcer.check` before moto serves any request, where moto's own access control would.
    A denial is AccessDeniedException in the service's JSON error shape (__type and the
    x-amzn-ErrorType header); an unmapped operation is a 500 that names it."""
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.exceptions import JsonRESTError

    class AccessDeniedException(JsonRESTError):
        code = 400

        def __init__(self, message: str, status: int, error: str = "AccessDeniedException") -> None:
            super().__init__(error, message)
            self.code = status

    class TwinUnmappedOperation(JsonRESTError):
        code = 500

        def __init__(self, message: str) -> None:
            super().__init__(
                "TwinUnmappedOperation", f"the twin cannot authorize {message}: map it in local_twin/iam.py"
            )

    original = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action

    def authorize(self: Any, resource: str = "*") -> None:
        try:
            enforcer.check(self)
        except _AccessDenied as exc:
            # Lambda answers 403, the JSON protocol services 400 (their documented status).
            raise AccessDeniedException(
                str(exc), 403 if _signing_service(self.headers) == "lambda" else 400, exc.code
            ) from exc
        except UnmappedOperation as exc:
            raise TwinUnmappedOperation(str(exc)) from exc
        original(self, resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = authorize
    _install_execution_role_checks(enforcer)
    _install_state_machine_roles(enforcer.sessions)
    _install_log_group_key_check(enforcer)


# "CloudWatch Logs must have permission to use the key": the key policy must allow the service principal
# logs.<region>.amazonaws.com, and CreateLogGroup with a key it may not use is refused in these words
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html). Logs asks with
# the log group's ARN as encryption context (kms:EncryptionContext:aws:logs:arn).
LOG_GROUP_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
LOG_GROUP_KEY_REFUSED = "The specified KMS key does not exist or is not allowed to be used with Arn '{arn}'"


def _install_log_group_key_check(enforcer: Enforcer) -> None:
    from moto.core.exceptions import JsonRESTError
    from moto.logs.models import LogsBackend

    original = LogsBackend.create_log_group

    @functools.wraps(original)
    def create_log_group(self: Any, log_group_name: str, tags: dict[str, str], **kwargs: Any) -> Any:
        key_id = kwargs.get("kmsKeyId")
        if key_id:
            group_arn = f"arn:aws:logs:{self.region_name}:{self.account_id}:log-group:{log_group_name}"
            if not enforcer.service_may_use_key(
                f"logs.{self.region_name}.amazonaws.com",
                self.account_id,
                self.region_name,
                key_id,
                LOG_GROUP_KEY_ACTIONS,
                {"kms:EncryptionContext:aws:logs:arn": group_arn},
            ):
                error = JsonRESTError("AccessDeniedException", LOG_GROUP_KEY_REFUSED.format(arn=group_arn))
                error.code = 400
                raise error
        return original(self, log_group_name, tags, **kwargs)

    LogsBackend.create_log_group = create_log_group


# The session name the twin gives Step Functions' sessions of a state machine's role (AWS's are random).
STATES_SESSION = "step-functions"


def _install_state_machine_roles(sessions: RoleSessions) -> None:
    """Step Functions invokes a task's function as the state machine's role (or the task's
    `Credentials` role), so that role must allow lambda:InvokeFunction on it
    (https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html). moto's
    interpreter signs its Lambda calls with fixed keys; the twin signs them with that role's session
    instead, and the check above decides them. A denial fails the task with Lambda's error."""
    import boto3
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    original_client = lambda_eval_utils.boto_client_for
    clients: dict[tuple[str, str], Any] = {}  # (role, region): a client is costly to build
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        role = getattr(state_credentials, "role_arn", None)
        if not role or service != "lambda":
            return original_client(region=region, service=service, state_credentials=state_credentials)
        with lock:
            client = clients.get((role, region))
        if client is None:
            template = original_client(region=region, service=service)
            keys = sessions.environment(role, STATES_SESSION)
            client = boto3.client(
                service,
                region_name=region,
                endpoint_url=template.meta.endpoint_url,
                config=template.meta.config,
                aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=keys["AWS_SESSION_TOKEN"],
            )
            with lock:
                clients[(role, region)] = client
        return client

    lambda_eval_utils.boto_client_for = boto_client_for


def _install_execution_role_checks(enforcer: Enforcer) -> None:
    """CreateFunction, UpdateFunctionConfiguration and CreateEventSourceMapping refuse a role that may not
    do what the setting asks of it (execution_role_duties, stream_mapping_duties), before moto keeps it."""
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.models import LambdaBackend, LambdaFunction

    def refuse(refusal: str | None) -> None:
        if refusal is not None:
            raise LambdaClientError("InvalidParameterValueException", refusal)

    original_create = LambdaBackend.create_function
    original_update = LambdaFunction.update_configuration
    original_mapping = LambdaBackend.create_event_source_mapping

    @functools.wraps(original_create)
    def create_function(self: Any, spec: dict[str, Any]) -> Any:
        duties = execution_role_duties(spec, self.region_name, self.account_id)
        refuse(
            enforcer.refusal_for_role(
                spec.get("Role", ""), spec.get("FunctionName", ""), self.account_id, duties
            )
        )
        return original_create(self, spec)

    @functools.wraps(original_update)
    def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        # What the update sets, checked against the role the function will have after it.
        duties = execution_role_duties(config_updates, self.region, self.account_id)
        role = config_updates.get("Role") or self.role
        refuse(enforcer.refusal_for_role(role, self.function_name, self.account_id, duties))
        return original_update(self, config_updates)

    @functools.wraps(original_mapping)
    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        function = self._lambdas.get_function_by_name_or_arn_with_qualifier(spec.get("FunctionName", ""))
        duties = stream_mapping_duties(spec.get("EventSourceArn", ""))
        refuse(enforcer.refusal_for_role(function.role, function.function_name, self.account_id, duties))
        return original_mapping(self, spec)

    LambdaBackend.create_function = create_function
    LambdaFunction.update_configuration = update_configuration
    LambdaBackend.create_event_source_mapping = create_event_source_mapping
