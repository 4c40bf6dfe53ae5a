"""The twin refuses network paths the applied VPC does not have, as AWS does: the connect times out.

Each test makes its own function (and security groups, endpoints) in the stack's VPC, so the
stack's own functions are left as applied."""

from __future__ import annotations

import io
import json
import textwrap
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from tests.roles import create_role
from tools.tfrun import TWIN_REGION

pytestmark = pytest.mark.twin

PROBE = textwrap.dedent(
    """
    import os
    import boto3
    import redis
    from botocore.config import Config
    from botocore.exceptions import ConnectTimeoutError


    def handler(event, context):
        result = {}
        if "service" in event:
            config = Config(**event.get("config", {}))
            client = boto3.client(event["service"], config=config)
            try:
                getattr(client, event["operation"])()
                result["service"] = "reached"
            except ConnectTimeoutError as exc:
                result["service"] = type(exc).__name__
        if event.get("cache"):
            host, _, port = os.environ["CACHE_ENDPOINT"].rpartition(":")
            try:
                redis.Redis(host=host, port=int(port), socket_connect_timeout=0.5, socket_timeout=2).ping()
                result["cache"] = "reached"
            except redis.exceptions.TimeoutError as exc:
                result["cache"] = "TimeoutError: " + str(exc)
            except redis.exceptions.RedisError:
                result["cache"] = "reached"  # it answered (an auth error is an answer)
        return result
    """
)

FAST_FAIL = {"connect_timeout": 0.5, "retries": {"mode": "standard", "max_attempts": 1}}
# A cache probe waits out redis-py's retried connects (three attempts with backoff) after a cold
# import of boto3 and redis: 10 s timed out on a loaded CI machine, so the budget is generous; the
# refused path still ends in redis's TimeoutError, not in the function's.
CACHE_PROBE_TIMEOUT = 60


@pytest.fixture(scope="module")
def vpc(twin) -> dict[str, Any]:
    """The stack's VPC, as its cache user (catalog) is attached to it."""
    config = twin.client("lambda").get_function_configuration(FunctionName=twin.function_name("catalog"))
    ec2 = twin.client("ec2")
    vpc_id = config["VpcConfig"]["VpcId"]
    cidr = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["CidrBlock"]
    cache_groups = {
        group["SecurityGroupId"]
        for cluster in twin.client("elasticache").describe_cache_clusters()["CacheClusters"]
        for group in cluster.get("SecurityGroups", [])
    }
    # The groups the cache admits: whatever its security groups name in their ingress rules.
    admitted = {
        pair["GroupId"]
        for group in ec2.describe_security_groups(GroupIds=sorted(cache_groups))["SecurityGroups"]
        for permission in group["IpPermissions"]
        for pair in permission.get("UserIdGroupPairs", [])
    }
    return {
        "id": vpc_id,
        "cidr": cidr,
        "subnets": config["VpcConfig"]["SubnetIds"],
        "cache_client_groups": sorted(admitted),
        "layers": [layer["Arn"] for layer in config.get("Layers", [])],
    }


@pytest.fixture(scope="module")
def role(twin) -> str:
    statements = [
        {"Effect": "Allow", "Action": ["sqs:ListQueues", "dynamodb:ListTables"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"},
        # Lambda refuses a VPC to a role that may not manage its network interfaces.
        {
            "Effect": "Allow",
            "Action": [
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DeleteNetworkInterface",
            ],
            "Resource": "*",
        },
    ]
    return create_role(
        twin.client("iam"), f"network-probe-{uuid.uuid4().hex[:8]}", statements, policy="probe"
    )


def https_only_group(twin, vpc: dict[str, Any], name: str, ingress: bool = False) -> str:
    """A group that allows 443 within the VPC only (out, or in): the shop's own rule."""
    ec2 = twin.client("ec2")
    group_id = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc["id"])["GroupId"]
    egress = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["IpPermissionsEgress"]
    if egress:  # a new group allows all egress until told otherwise
        ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=egress)
    rule: dict[str, Any] = {
        "IpProtocol": "tcp",
        "FromPort": 443,
        "ToPort": 443,
        "IpRanges": [{"CidrIp": vpc["cidr"]}],
    }
    if ingress:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[rule])
    else:
        # And DynamoDB's prefix list, which its gateway endpoint routes (the shop's functions have both).
        prefix_list = next(
            entry["PrefixListId"]
            for entry in ec2.describe_prefix_lists()["PrefixLists"]
            if entry["PrefixListName"] == f"com.amazonaws.{TWIN_REGION}.dynamodb"
        )
        rule["PrefixListIds"] = [{"PrefixListId": prefix_list}]
        ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=[rule])
    return group_id


@pytest.fixture
def make_probe(twin, vpc, role) -> Iterator[Any]:
    created: list[str] = []

    def make(security_group_ids: list[str] | None, timeout: int = 3) -> str:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("probe.py", PROBE)
        name = f"network-probe-{uuid.uuid4().hex[:8]}"
        settings: dict[str, Any] = {}
        if security_group_ids is not None:
            settings["VpcConfig"] = {"SubnetIds": vpc["subnets"], "SecurityGroupIds": security_group_ids}
        if vpc["layers"]:
            settings["Layers"] = vpc["layers"]
        twin.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role,
            Handler="probe.handler",
            Code={"ZipFile": buffer.getvalue()},
            Timeout=timeout,
            # The twin serves the cache on loopback in place of whatever endpoint a function names.
            Environment={"Variables": {"CACHE_ENDPOINT": "cache.invalid:6379"}},
            **settings,
        )
        created.append(name)
        return name

    yield make
    for name in created:
        twin.client("lambda").delete_function(FunctionName=name)


def invoke(twin, name: str, event: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    response = twin.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return json.loads(response["Payload"].read()), response.get("FunctionError")


def test_a_vpc_function_without_an_endpoint_times_out_and_with_one_works(twin, vpc, make_probe) -> None:
    group = https_only_group(twin, vpc, f"probe-{uuid.uuid4().hex[:6]}")
    probe = make_probe([group])

    # botocore's 60 s connect timeout outlasts the function's 3 s: the function times out, as in AWS.
    payload, error = invoke(twin, probe, {"service": "sqs", "operation": "list_queues"})
    assert error == "Unhandled" and payload["errorType"] == "Sandbox.Timedout", payload
    # With a short connect timeout the SDK's own error comes through.
    payload, error = invoke(twin, probe, {"service": "sqs", "operation": "list_queues", "config": FAST_FAIL})
    assert error is None and payload == {"service": "ConnectTimeoutError"}, payload
    # DynamoDB has the stack's gateway endpoint in every private route table.
    payload, error = invoke(
        twin, probe, {"service": "dynamodb", "operation": "list_tables", "config": FAST_FAIL}
    )
    assert error is None and payload == {"service": "reached"}, payload

    ec2 = twin.client("ec2")
    endpoint_group = https_only_group(twin, vpc, f"probe-endpoint-{uuid.uuid4().hex[:6]}", ingress=True)
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc["id"],
        ServiceName=f"com.amazonaws.{TWIN_REGION}.sqs",
        VpcEndpointType="Interface",
        SubnetIds=vpc["subnets"][:1],
        SecurityGroupIds=[endpoint_group],
        PrivateDnsEnabled=True,
    )["VpcEndpoint"]["VpcEndpointId"]
    try:
        payload, error = invoke(
            twin, probe, {"service": "sqs", "operation": "list_queues", "config": FAST_FAIL}
        )
        assert error is None and payload == {"service": "reached"}, payload
    finally:
        ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint])
    payload, _ = invoke(twin, probe, {"service": "sqs", "operation": "list_queues", "config": FAST_FAIL})
    assert payload == {"service": "ConnectTimeoutError"}, "a deleted endpoint is a missing route again"


def test_a_function_whose_groups_do_not_allow_the_cache_port_cannot_reach_valkey(
    twin, vpc, make_probe
) -> None:
    group = https_only_group(twin, vpc, f"probe-{uuid.uuid4().hex[:6]}")
    payload, error = invoke(twin, make_probe([group], timeout=CACHE_PROBE_TIMEOUT), {"cache": True})
    assert error is None and payload["cache"].startswith("TimeoutError: Timeout connecting"), payload

    payload, error = invoke(
        twin, make_probe([group, *vpc["cache_client_groups"]], timeout=CACHE_PROBE_TIMEOUT), {"cache": True}
    )
    assert error is None and payload == {"cache": "reached"}, payload


def test_a_function_outside_the_vpc_reaches_dynamodb_but_not_the_cache(twin, make_probe) -> None:
    probe = make_probe(None, timeout=CACHE_PROBE_TIMEOUT)
    payload, error = invoke(
        twin, probe, {"service": "dynamodb", "operation": "list_tables", "config": FAST_FAIL, "cache": True}
    )
    assert error is None, payload
    assert payload["service"] == "reached"
    assert payload["cache"].startswith("TimeoutError: Timeout connecting"), payload
