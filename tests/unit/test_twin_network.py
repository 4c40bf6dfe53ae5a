"""The twin's network paths (local_twin/network.py), over describe_*-shaped answers.

The shapes are those moto returned for the applied stack (describe_route_tables,
describe_security_groups, describe_vpc_endpoints, get_function_configuration)."""

from __future__ import annotations

import copy
import json
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from local_twin.network import Cache, Network, is_network_write, reachability

VPC = "vpc-1"
SUBNET_A, SUBNET_B = "subnet-a", "subnet-b"
DYNAMODB_PREFIX_LIST = "pl-dynamo"
FUNCTION_SG, CACHE_CLIENT_SG, CACHE_SG, ENDPOINT_SG = "sg-fn", "sg-client", "sg-cache", "sg-endpoints"


def https_to(
    cidr: str | None = None, prefix_list: str | None = None, group: str | None = None
) -> dict[str, Any]:
    return {
        "IpProtocol": "tcp",
        "FromPort": 443,
        "ToPort": 443,
        "IpRanges": [{"CidrIp": cidr}] if cidr else [],
        "PrefixListIds": [{"PrefixListId": prefix_list}] if prefix_list else [],
        "UserIdGroupPairs": [{"GroupId": group}] if group else [],
    }


def valkey(group: str) -> dict[str, Any]:
    return {
        "IpProtocol": "tcp",
        "FromPort": 6379,
        "ToPort": 6380,
        "IpRanges": [],
        "UserIdGroupPairs": [{"GroupId": group}],
    }


def group(group_id: str, ingress: list[Any] | None = None, egress: list[Any] | None = None) -> dict[str, Any]:
    return {
        "GroupId": group_id,
        "VpcId": VPC,
        "IpPermissions": ingress or [],
        "IpPermissionsEgress": egress or [],
    }


def route_table(table_id: str, subnet: str, extra_routes: list[Any] | None = None) -> dict[str, Any]:
    return {
        "RouteTableId": table_id,
        "VpcId": VPC,
        "Associations": [{"SubnetId": subnet, "Main": False}],
        "Routes": [{"DestinationCidrBlock": "10.20.0.0/16", "GatewayId": "local"}, *(extra_routes or [])],
    }


def endpoint(service: str, kind: str = "Interface", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "VpcEndpointId": f"vpce-{service}",
        "VpcEndpointType": kind,
        "VpcId": VPC,
        "ServiceName": f"com.amazonaws.us-east-1.{service}",
        "State": "available",
    }
    if kind == "Interface":
        base.update(
            PrivateDnsEnabled=True, SubnetIds=[SUBNET_A], Groups=[{"GroupId": ENDPOINT_SG}], RouteTableIds=[]
        )
    else:
        base.update(PrivateDnsEnabled=False, RouteTableIds=["rtb-a", "rtb-b"], SubnetIds=[], Groups=[])
    base.update(fields)
    return base


def the_stack() -> Network:
    """The shop's network as applied: DynamoDB's gateway endpoint, interface endpoints, no NAT."""
    return Network(
        subnets=[
            {"SubnetId": SUBNET_A, "VpcId": VPC, "CidrBlock": "10.20.0.0/20"},
            {"SubnetId": SUBNET_B, "VpcId": VPC, "CidrBlock": "10.20.16.0/20"},
        ],
        route_tables=[
            {"RouteTableId": "rtb-main", "VpcId": VPC, "Associations": [{"Main": True}], "Routes": []},
            route_table(
                "rtb-a",
                SUBNET_A,
                [{"DestinationPrefixListId": DYNAMODB_PREFIX_LIST, "GatewayId": "vpce-dynamodb"}],
            ),
            route_table(
                "rtb-b",
                SUBNET_B,
                [{"DestinationPrefixListId": DYNAMODB_PREFIX_LIST, "GatewayId": "vpce-dynamodb"}],
            ),
        ],
        vpc_endpoints=[endpoint("dynamodb", "Gateway"), endpoint("states"), endpoint("logs")],
        security_groups=[
            group(FUNCTION_SG, egress=[https_to(cidr="10.20.0.0/16", prefix_list=DYNAMODB_PREFIX_LIST)]),
            group(CACHE_CLIENT_SG, egress=[valkey(CACHE_SG)]),
            group(CACHE_SG, ingress=[valkey(CACHE_CLIENT_SG)]),
            group(ENDPOINT_SG, ingress=[https_to(cidr="10.20.0.0/16")]),
        ],
        prefix_lists=[
            {"PrefixListId": DYNAMODB_PREFIX_LIST, "PrefixListName": "com.amazonaws.us-east-1.dynamodb"}
        ],
        nat_gateways=[],
    )


CACHE = Cache("shop-catalog", 6379, (CACHE_SG,), (SUBNET_A, SUBNET_B))


def function(*groups: str, subnets: tuple[str, ...] = (SUBNET_A, SUBNET_B)) -> dict[str, Any]:
    config: dict[str, Any] = {"FunctionName": "shop-fn"}
    if subnets:
        config["VpcConfig"] = {"SubnetIds": list(subnets), "SecurityGroupIds": list(groups), "VpcId": VPC}
    return config


def test_a_vpc_function_reaches_only_the_services_it_has_endpoints_for() -> None:
    reach = reachability(function(FUNCTION_SG), the_stack())
    assert reach.services == {"dynamodb", "states", "logs"}
    assert not reach.reaches("lambda")  # no interface endpoint, no NAT: the defect 1
    assert "NAT" in reach.why_no_internet


def test_an_interface_endpoint_without_private_dns_serves_no_sdk_call() -> None:
    network = the_stack()
    network.vpc_endpoints = [endpoint("lambda", PrivateDnsEnabled=False)]
    assert not reachability(function(FUNCTION_SG), network).reaches("lambda")
    network.vpc_endpoints = [endpoint("lambda")]
    assert reachability(function(FUNCTION_SG), network).reaches("lambda")


def test_an_interface_endpoint_needs_443_both_out_of_the_function_and_into_the_endpoint() -> None:
    network = the_stack()
    network.vpc_endpoints = [endpoint("kms")]
    no_egress = copy.deepcopy(network)
    no_egress.security_groups[0]["IpPermissionsEgress"] = [https_to(prefix_list=DYNAMODB_PREFIX_LIST)]
    assert not reachability(function(FUNCTION_SG), no_egress).reaches("kms")

    no_ingress = copy.deepcopy(network)
    no_ingress.security_groups[3]["IpPermissions"] = [https_to(cidr="10.99.0.0/16")]
    assert not reachability(function(FUNCTION_SG), no_ingress).reaches("kms")

    by_group = copy.deepcopy(network)
    by_group.security_groups[0]["IpPermissionsEgress"] = [https_to(group=ENDPOINT_SG)]
    by_group.security_groups[3]["IpPermissions"] = [https_to(group=FUNCTION_SG)]
    assert reachability(function(FUNCTION_SG), by_group).reaches("kms")


def test_a_gateway_endpoint_serves_only_subnets_whose_route_tables_have_it() -> None:
    network = the_stack()
    network.vpc_endpoints = [endpoint("dynamodb", "Gateway", RouteTableIds=["rtb-a"])]
    assert reachability(function(FUNCTION_SG, subnets=(SUBNET_A,)), network).reaches("dynamodb")
    # Lambda may place the function in subnet-b, whose table has no route: not every call works.
    assert not reachability(function(FUNCTION_SG), network).reaches("dynamodb")


def test_a_gateway_endpoint_needs_the_prefix_list_in_the_egress_rules() -> None:
    network = the_stack()
    network.security_groups[0]["IpPermissionsEgress"] = [https_to(cidr="10.20.0.0/16")]
    assert not reachability(function(FUNCTION_SG), network).reaches("dynamodb")


def test_a_subnet_without_its_own_table_uses_the_main_table() -> None:
    network = the_stack()
    network.route_tables = [table for table in network.route_tables if table["RouteTableId"] != "rtb-b"]
    network.vpc_endpoints = [endpoint("dynamodb", "Gateway", RouteTableIds=["rtb-a", "rtb-main"])]
    assert reachability(function(FUNCTION_SG), network).reaches("dynamodb")


def test_a_nat_route_reaches_every_public_endpoint_only_if_443_may_leave() -> None:
    network = the_stack()
    network.nat_gateways = [{"NatGatewayId": "nat-1", "State": "available"}]
    for table in network.route_tables[1:]:
        table["Routes"].append({"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1"})
    # The shop's function groups allow 443 only to the VPC and the DynamoDB prefix list.
    assert not reachability(function(FUNCTION_SG), network).reaches("lambda")
    network.security_groups[0]["IpPermissionsEgress"].append(https_to(cidr="0.0.0.0/0"))
    reach = reachability(function(FUNCTION_SG), network)
    assert reach.services is None and reach.reaches("lambda")


def test_a_function_outside_a_vpc_reaches_public_endpoints_but_not_the_cache() -> None:
    reach = reachability(function(subnets=()), the_stack(), [CACHE])
    assert reach.services is None and reach.reaches("dynamodb")
    assert not reach.reachable_caches
    policy = json.loads(reach.worker_policy(["127.0.0.1:6390"]))
    assert policy["services"] is None and policy["blocked_addresses"] == ["127.0.0.1:6390"]


def test_the_cache_needs_its_port_out_of_the_function_and_into_the_cache() -> None:
    assert reachability(function(FUNCTION_SG, CACHE_CLIENT_SG), the_stack(), [CACHE]).reachable_caches
    without_client_group = reachability(function(FUNCTION_SG), the_stack(), [CACHE])
    assert "out to it" in without_client_group.unreachable_caches["shop-catalog"]
    assert json.loads(without_client_group.worker_policy(["127.0.0.1:6390"]))["blocked_addresses"] == [
        "127.0.0.1:6390"
    ]

    network = the_stack()
    network.security_groups[2]["IpPermissions"] = []  # the cache admits no one
    closed = reachability(function(FUNCTION_SG, CACHE_CLIENT_SG), network, [CACHE])
    assert "in from it" in closed.unreachable_caches["shop-catalog"]


def test_a_cache_port_outside_the_rule_range_is_refused() -> None:
    other_port = Cache("other", 11211, (CACHE_SG,), (SUBNET_A,))
    assert not reachability(
        function(FUNCTION_SG, CACHE_CLIENT_SG), the_stack(), [other_port]
    ).reachable_caches


@pytest.mark.parametrize(
    ("scope", "body", "write"),
    [
        ("ec2", "Action=DescribeSecurityGroups&Version=2016-11-15", False),
        ("ec2", "Action=RevokeSecurityGroupEgress&GroupId=sg-1", True),
        ("elasticache", "Action=ModifyReplicationGroup", True),
        ("dynamodb", "", False),
    ],
)
def test_only_network_writes_refresh_the_view(scope: str, body: str, write: bool) -> None:
    import io

    environ = {
        "HTTP_AUTHORIZATION": f"AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{scope}/aws4_request, Signature=x",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body.encode()),
    }
    assert is_network_write(environ) is write
    assert environ["wsgi.input"].read() == body.encode()  # moto still gets the body


GUARD = Path(__file__).resolve().parents[2] / "local_twin" / "network_guard.py"


def run_guarded(policy: dict[str, Any], code: str) -> dict[str, Any]:
    """Runs `code` in a fresh interpreter with the guard installed, as a worker has it."""
    script = textwrap.dedent(
        f"""
        import importlib.util, json, sys
        spec = importlib.util.spec_from_file_location("guard", {str(GUARD)!r})
        guard = importlib.util.module_from_spec(spec); spec.loader.exec_module(guard)
        guard.install({json.dumps(policy)!r})
        """
    ) + textwrap.dedent(code)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_guard_times_a_refused_service_out_like_botocore_does() -> None:
    result = run_guarded(
        {
            "function": "shop-fn",
            "services": ["dynamodb"],
            "why_no_route": "no endpoint",
            "blocked_addresses": [],
        },
        """
        import time, boto3
        from botocore.config import Config
        from botocore.exceptions import ConnectTimeoutError
        config = Config(connect_timeout=0.3, retries={"mode": "standard", "max_attempts": 2})
        client = boto3.client("lambda", endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="x", config=config)
        started = time.monotonic()
        try:
            client.get_function(FunctionName="f")
            outcome = "served"
        except ConnectTimeoutError as exc:
            outcome = type(exc).__name__
        allowed = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
                               aws_access_key_id="x", aws_secret_access_key="x", config=config)
        try:
            allowed.list_tables()
            reached = "served"
        except Exception as exc:
            reached = type(exc).__name__
        print(json.dumps({"outcome": outcome, "seconds": time.monotonic() - started, "dynamodb": reached}))
        """,
    )
    assert result["outcome"] == "ConnectTimeoutError"
    assert result["seconds"] >= 0.6  # two attempts, each the whole connect timeout
    # DynamoDB is not guarded: the connection is really attempted (and refused by the closed port).
    assert result["dynamodb"] == "EndpointConnectionError"


def test_the_guard_times_out_a_connection_to_a_blocked_cache() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        started = time.monotonic()
        result = run_guarded(
            {
                "function": "shop-fn",
                "services": None,
                "blocked_addresses": [f"127.0.0.1:{port}"],
                "why_blocked": "sg",
            },
            f"""
            import redis
            client = redis.Redis(host="127.0.0.1", port={port}, socket_connect_timeout=0.3)
            try:
                client.ping()
                outcome = "served"
            except redis.exceptions.TimeoutError as exc:
                outcome = str(exc)
            print(json.dumps({{"outcome": outcome}}))
            """,
        )
    assert "Timeout connecting to server" in result["outcome"]
    assert time.monotonic() - started >= 0.3
