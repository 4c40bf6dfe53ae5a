"""Every function in the VPC has a network path to every AWS service it calls.

The private subnets have no NAT (modules/network: off unless enabled), so a function attached to
them reaches an AWS API only through an endpoint of the VPC; without one its client cannot
connect, and botocore's 60 s connect timeout outlasts the function's own timeout (a 5xx at the
API). "Connecting outbound networking to resources in a VPC" and "Enable internet access for
VPC-connected Lambda functions": https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html,
https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html.

What a function calls is read from real sources, not from a list kept here:
- the AWS clients its handler's code makes (boto3.client/resource, botocore create_client), in the
  handler module and every `shop` module it imports, named by botocore's own endpoint prefix;
- the durable execution SDK's Lambda client, when the function has durable_config;
- X-Ray, when the module's tracing is on (Lambda's X-Ray daemon relays segments to the X-Ray API);
- and every service prefix in its IAM statements: a grant the code does not use directly must be
  one that AWS uses on the function's behalf (KMS keys that DynamoDB, Lambda and SQS use), or
  ElastiCache's Connect, which authorizes a locally signed token at the cache (reached through
  the cache's security group, checked below).
What the VPC offers is read from the HCL: gateway endpoints (modules/network), the interface
endpoints the stack creates (terraform/main.tf), and the function's security group rules.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from tools import hcl

REPO = hcl.REPO_ROOT
SOURCES = REPO / "lambda_src"
# Services whose grants are used by AWS itself for the function (never called from its network):
# KMS keys of a CMK-encrypted table, log group, queue or environment are used by DynamoDB,
# CloudWatch Logs, SQS and Lambda on the caller's behalf ("How Amazon DynamoDB uses AWS KMS",
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.howitworks.html), and
# Lambda's service writes the function's logs. A function whose code makes a client for one of
# these still needs a path to it: the code scan below adds it.
USED_ON_THE_FUNCTIONS_BEHALF = {"kms", "logs"}
CACHE_CLIENT_GROUP = "module.cache.client_security_group_id"
CLIENT_CALL = re.compile(r"^(client|resource|create_client)$")


def literal(value: Any) -> Any:
    if isinstance(value, str):
        return hcl.strip_interpolation(value)
    if isinstance(value, dict):
        return {key: literal(inner) for key, inner in hcl.body_items(value)}
    if isinstance(value, list):
        return [literal(inner) for inner in value]
    return value


@cache
def endpoint_prefix(client_name: str) -> str:
    """botocore's client name -> the service's endpoint prefix, which is what an interface
    endpoint is named after (`stepfunctions` -> `states`)."""
    return botocore.session.get_session().get_service_model(client_name).metadata["endpointPrefix"]


def module_path(module: str) -> Path | None:
    path = SOURCES / Path(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def clients_made_by(module: str, seen: set[str] | None = None) -> set[str]:
    """Endpoint prefixes of every AWS client the module, and the project modules it imports, make."""
    seen = set() if seen is None else seen
    path = module_path(module)
    if path is None or module in seen:
        return set()
    seen.add(module)
    services: set[str] = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and module_path(node.module):
            services |= clients_made_by(node.module, seen)
            for alias in node.names:
                services |= clients_made_by(f"{node.module}.{alias.name}", seen)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                services |= clients_made_by(alias.name, seen)
        elif (
            isinstance(node, ast.Call)
            # clients.client("dynamodb"), or a client factory passed in and called as client("lambda")
            and CLIENT_CALL.match(
                node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            services.add(endpoint_prefix(node.args[0].value))
    return services


@dataclass
class Function:
    name: str
    body: dict[str, Any]
    statements: list[dict[str, Any]] = field(default_factory=list)

    @property
    def in_vpc(self) -> bool:
        return self.body["in_vpc"] is True

    @property
    def handler_module(self) -> str:
        return self.body["handler"].rsplit(".", 1)[0]


@dataclass
class Network:
    gateway_services: set[str]
    interface_services: set[str]
    egress: list[dict[str, Any]]


def stack_functions() -> dict[str, Function]:
    stack = hcl.TerraformDir.load(REPO / "terraform")
    cache_outputs = hcl.TerraformDir.load(REPO / "modules" / "cache").outputs
    functions = {}
    for name, body in hcl.body_items(stack.locals["functions"]):
        function = Function(hcl.unquote(name), literal(body))
        # Every grant the function can have, durable_policy_statements included (they are added
        # where the durable function exists).
        grants = []
        for listed in (
            function.body["policy_statements"],
            function.body.get("durable_policy_statements", []),
        ):
            if isinstance(listed, str):  # a local holding a list of statements
                listed = literal(stack.locals[listed.removeprefix("local.")])
            grants.extend(listed)
        for statement in grants:
            if isinstance(statement, str) and statement.startswith("local."):
                statement = literal(stack.locals[statement.removeprefix("local.")])
            elif isinstance(statement, str) and statement.startswith("module.cache."):
                statement = literal(cache_outputs[statement.removeprefix("module.cache.")]["value"])
            function.statements.append(statement)
        functions[function.name] = function
    return functions


def stack_network() -> Network:
    stack = hcl.TerraformDir.load(REPO / "terraform")
    network = hcl.TerraformDir.load(REPO / "modules" / "network")
    gateways = set()
    for type_name, _, body, _ in network.resources:
        body = literal(body)
        if type_name == "aws_vpc_endpoint" and body.get("vpc_endpoint_type") == "Gateway":
            gateways.add(body["service_name"].rsplit(".", 1)[-1])
    interfaces = set(literal(stack.locals["vpc_interface_endpoints"]))
    assert literal(stack.module_calls["network"]["interface_endpoints"]) == "local.vpc_interface_endpoints"
    return Network(gateways, interfaces, literal(stack.locals["function_vpc"])["egress_rules"])


def tracing_on() -> bool:
    variables = hcl.TerraformDir.load(REPO / "modules" / "lambda-function").variables
    stack_call = hcl.TerraformDir.load(REPO / "terraform").module_calls["function"]
    return "tracing_mode" not in stack_call and literal(variables["tracing_mode"].body["default"]) == "Active"


def called_services(function: Function) -> set[str]:
    """The services the function's own process sends requests to."""
    services = clients_made_by(function.handler_module)
    if function.body.get("durable_config") is not None:
        services.add("lambda")  # the durable SDK checkpoints through a Lambda client
    if tracing_on():
        services.add("xray")
    return services


def missing_paths(function: Function, network: Network) -> list[str]:
    """Why this function, if it is in the VPC, cannot reach what it calls; empty when it can."""
    if not function.in_vpc:
        return []  # outside a VPC, Lambda gives the function AWS's public endpoints
    problems = []
    called = called_services(function)
    for statement in function.statements:
        for action in statement["actions"]:
            service = action.split(":", 1)[0]
            if service == "elasticache" and action == "elasticache:Connect":
                if CACHE_CLIENT_GROUP not in function.body.get("security_group_ids", []):
                    problems.append(f"{function.name}: {action} but not in the cache's client security group")
            elif service not in called and service not in USED_ON_THE_FUNCTIONS_BEHALF:
                called.add(service)  # granted, so assume it is called: it needs a path too
    egress_to = {rule.get("prefix_list_id") or rule.get("cidr_ipv4") for rule in network.egress}
    for service in sorted(called):
        if service in network.gateway_services:
            if f"module.network.{service}_prefix_list_id" not in egress_to:
                problems.append(
                    f"{function.name}: {service} has a gateway endpoint the security group cannot reach"
                )
        elif service in network.interface_services:
            if "module.network.vpc_cidr_block" not in egress_to:
                problems.append(
                    f"{function.name}: {service} endpoint is not reachable on 443 from its security group"
                )
        else:
            problems.append(
                f"{function.name}: calls {service}, and the VPC has no endpoint for it (and no NAT)"
            )
    return problems


def test_every_in_vpc_function_reaches_what_it_calls() -> None:
    network = stack_network()
    problems = [
        problem for function in stack_functions().values() for problem in missing_paths(function, network)
    ]
    assert problems == []


def test_only_the_cache_users_are_in_the_vpc() -> None:
    """The lead's decision: the cache is the only VPC-only resource, so only its clients attach."""
    functions = stack_functions()
    in_vpc = {name for name, function in functions.items() if function.in_vpc}
    cache_users = {
        name
        for name, function in functions.items()
        if any("elasticache:Connect" in statement["actions"] for statement in function.statements)
    }
    assert in_vpc == cache_users == {"catalog", "cache_invalidator"}


def test_no_interface_endpoint_that_no_in_vpc_function_calls() -> None:
    """Each interface endpoint costs an hourly ENI per AZ: keep only those something uses."""
    network = stack_network()
    used = set().union(*(called_services(f) for f in stack_functions().values() if f.in_vpc))
    assert network.interface_services <= used, network.interface_services - used


def test_code_scan_sees_the_clients_checkout_makes() -> None:
    assert {"dynamodb", "states", "lambda"} <= clients_made_by("handlers.checkout")
    assert "dynamodb" in clients_made_by("handlers.catalog")


@pytest.mark.parametrize("name", ["checkout", "checkout_durable"])
def test_a_function_moved_into_the_vpc_without_its_endpoints_is_refused(name: str) -> None:
    """The rule refuses what AWS would: checkout and checkout-durable in the private subnets, with
    only the endpoints the cache users need, cannot reach the Lambda API."""
    function = stack_functions()[name]
    function.body["in_vpc"] = True
    problems = missing_paths(function, stack_network())
    assert any("calls lambda" in problem for problem in problems), problems
