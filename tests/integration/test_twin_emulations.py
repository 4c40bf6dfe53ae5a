"""Each emulation of local_twin/emulations.py, through boto3 against a running twin server.

What the tests check is the real service's behaviour as each emulation's docstring names
it (and the README's twin section lists), on the twin's own moto server.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.apply.support import start_twin_server
from tools.stack import client_factory
from tools.tfrun import TWIN_REGION

pytestmark = pytest.mark.twin

REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = TWIN_REGION  # the region the twin server serves
ACCOUNT = "123456789012"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server, url = start_twin_server(tmp_path_factory.mktemp("twin-emulations"))
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def aws(endpoint: str) -> Any:
    return client_factory(endpoint, REGION, Config(retries={"max_attempts": 1}))


def error_code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return raised.value.response["Error"]["Code"]


def zipped(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def role_arn(aws: Any) -> str:
    arn = aws("iam").create_role(RoleName="emulations", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"][
        "Arn"
    ]
    # What Lambda checks when a function gets a VPC or a dead-letter queue (local_twin/iam.py).
    duties = {
        "Effect": "Allow",
        "Action": [
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DeleteNetworkInterface",
            "sqs:SendMessage",
        ],
        "Resource": "*",
    }
    aws("iam").put_role_policy(
        RoleName="emulations",
        PolicyName="lambda-duties",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [duties]}),
    )
    return str(arn)


@pytest.fixture(scope="module")
def subnet(aws: Any) -> dict[str, str]:
    ec2 = aws("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.9.1.0/24", AvailabilityZone=f"{REGION}a")[
        "Subnet"
    ]["SubnetId"]
    group_id = ec2.create_security_group(GroupName="emulations", Description="test", VpcId=vpc_id)["GroupId"]
    return {"vpc": vpc_id, "subnet": subnet_id, "group": group_id}


# ---- Step Functions ------------------------------------------------------------------------

DEFINITION = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


def test_validate_state_machine_definition_answers_ok_or_fail(aws: Any) -> None:
    sfn = aws("stepfunctions")
    assert sfn.validate_state_machine_definition(definition=json.dumps(DEFINITION))["result"] == "OK"

    broken = sfn.validate_state_machine_definition(definition="{not json")
    assert broken["result"] == "FAIL"
    assert [d["code"] for d in broken["diagnostics"]] == ["INVALID_JSON_DESCRIPTION"]

    wrong_start = sfn.validate_state_machine_definition(
        definition=json.dumps({**DEFINITION, "StartAt": "Nope"})
    )
    assert wrong_start["result"] == "FAIL"
    assert wrong_start["diagnostics"][0]["code"] == "SCHEMA_VALIDATION_FAILED"

    endless = {"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "Next": "Wait"}}}
    diagnostics = sfn.validate_state_machine_definition(definition=json.dumps(endless))["diagnostics"]
    assert [d["code"] for d in diagnostics] == ["MISSING_END_STATE"]


def test_list_state_machine_versions_newest_first(aws: Any) -> None:
    sfn = aws("stepfunctions")
    role = f"arn:aws:iam::{ACCOUNT}:role/emulations-sfn"
    arn = sfn.create_state_machine(
        name="versions", definition=json.dumps(DEFINITION), roleArn=role, publish=True
    )["stateMachineArn"]
    assert sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"][0][
        "stateMachineVersionArn"
    ].endswith(":versions:1")
    changed = {**DEFINITION, "Comment": "second"}
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(changed), publish=True)
    versions = sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"].rsplit(":", 1)[-1] for v in versions] == ["2", "1"]

    unpublished = sfn.create_state_machine(
        name="unpublished", definition=json.dumps(DEFINITION), roleArn=role
    )
    assert (
        sfn.list_state_machine_versions(stateMachineArn=unpublished["stateMachineArn"])[
            "stateMachineVersions"
        ]
        == []
    )
    with pytest.raises(ClientError) as raised:
        sfn.list_state_machine_versions(stateMachineArn=arn.replace(":versions", ":missing"))
    assert error_code(raised) == "StateMachineDoesNotExist"


# ---- Lambda --------------------------------------------------------------------------------


def test_lambda_keeps_dead_letter_logging_and_snapstart(aws: Any, role_arn: str) -> None:
    lambda_ = aws("lambda")
    dlq = f"arn:aws:sqs:{REGION}:{ACCOUNT}:settings-dlq"
    created = lambda_.create_function(
        FunctionName="settings",
        Role=role_arn,
        Runtime="python3.13",
        Handler="app.handler",
        Code={"ZipFile": zipped("def handler(event, context):\n    return event\n")},
        DeadLetterConfig={"TargetArn": dlq},
        LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN"},
        SnapStart={"ApplyOn": "PublishedVersions"},
        Publish=True,
    )
    latest = lambda_.get_function_configuration(FunctionName="settings")
    assert latest["DeadLetterConfig"] == {"TargetArn": dlq}
    assert latest["LoggingConfig"] == {
        "LogFormat": "JSON",
        "ApplicationLogLevel": "INFO",
        "SystemLogLevel": "WARN",
        "LogGroup": "/aws/lambda/settings",
    }
    assert latest["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "Off"}
    version = lambda_.get_function_configuration(FunctionName="settings", Qualifier=created["Version"])
    assert version["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}

    lambda_.update_function_configuration(FunctionName="settings", LoggingConfig={"LogFormat": "Text"})
    updated = lambda_.get_function_configuration(FunctionName="settings")
    assert updated["LoggingConfig"]["LogFormat"] == "Text"
    assert updated["DeadLetterConfig"] == {"TargetArn": dlq}


def test_lambda_logging_defaults_to_text_in_its_own_group(aws: Any, role_arn: str) -> None:
    lambda_ = aws("lambda")
    lambda_.create_function(
        FunctionName="plain",
        Role=role_arn,
        Runtime="python3.13",
        Handler="app.handler",
        Code={"ZipFile": zipped("def handler(event, context):\n    return event\n")},
    )
    config = lambda_.get_function_configuration(FunctionName="plain")
    assert config["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "/aws/lambda/plain"}
    assert "DeadLetterConfig" not in config
    assert config["SnapStart"] == {"ApplyOn": "None", "OptimizationStatus": "Off"}


def test_lambda_reports_the_vpc_of_its_subnets(aws: Any, role_arn: str, subnet: dict[str, str]) -> None:
    lambda_ = aws("lambda")
    lambda_.create_function(
        FunctionName="in-vpc",
        Role=role_arn,
        Runtime="python3.13",
        Handler="app.handler",
        Code={"ZipFile": zipped("def handler(event, context):\n    return event\n")},
        VpcConfig={"SubnetIds": [subnet["subnet"]], "SecurityGroupIds": [subnet["group"]]},
    )
    assert lambda_.get_function_configuration(FunctionName="in-vpc")["VpcConfig"]["VpcId"] == subnet["vpc"]


def test_lambda_accepts_another_accounts_public_layer(aws: Any, role_arn: str) -> None:
    public = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:7"
    created = aws("lambda").create_function(
        FunctionName="layered",
        Role=role_arn,
        Runtime="python3.13",
        Handler="app.handler",
        Code={"ZipFile": zipped("def handler(event, context):\n    return event\n")},
        Layers=[public],
    )
    assert [layer["Arn"] for layer in created["Layers"]] == [public]
    with pytest.raises(ClientError):  # a layer of this account must still exist
        aws("lambda").create_function(
            FunctionName="missing-layer",
            Role=role_arn,
            Runtime="python3.13",
            Handler="app.handler",
            Code={"ZipFile": zipped("def handler(event, context):\n    return event\n")},
            Layers=[f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:nothing:1"],
        )


def test_lambda_invokes_still_run_in_the_local_workers(aws: Any, role_arn: str) -> None:
    lambda_ = aws("lambda")
    lambda_.create_function(
        FunctionName="echo",
        Role=role_arn,
        Runtime="python3.13",
        Handler="app.handler",
        Code={
            "ZipFile": zipped(
                "import os\ndef handler(event, context):\n    return {'pid': os.getpid(), **event}\n"
            )
        },
        LoggingConfig={"LogFormat": "JSON"},
        Publish=True,
    )
    response = lambda_.invoke(FunctionName="echo", Payload=b'{"hello": "twin"}')
    payload = json.loads(response["Payload"].read())
    assert payload["hello"] == "twin"
    assert "FunctionError" not in response


# ---- IAM and EC2 ---------------------------------------------------------------------------


def test_aws_managed_policies_can_be_attached(aws: Any) -> None:
    iam = aws("iam")
    arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PolicyName"] == "AWSLambdaVPCAccessExecutionRole"
    iam.create_role(RoleName="vpc-function", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.attach_role_policy(RoleName="vpc-function", PolicyArn=arn)
    attached = iam.list_attached_role_policies(RoleName="vpc-function")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [arn]


def test_rule_descriptions_for_groups_and_prefix_lists(aws: Any, subnet: dict[str, str]) -> None:
    ec2 = aws("ec2")
    peer = ec2.create_security_group(GroupName="peer", Description="peer", VpcId=subnet["vpc"])["GroupId"]
    prefix_list = ec2.describe_prefix_lists()["PrefixLists"][0]["PrefixListId"]
    group = ec2.create_security_group(GroupName="described", Description="rules", VpcId=subnet["vpc"])[
        "GroupId"
    ]
    ec2.authorize_security_group_egress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "PrefixListIds": [{"PrefixListId": prefix_list, "Description": "to the prefix list"}],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 6379,
                "ToPort": 6380,
                "UserIdGroupPairs": [{"GroupId": peer, "Description": "to the peer group"}],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 80,
                "ToPort": 80,
                "IpRanges": [{"CidrIp": "10.9.0.0/16", "Description": "to the cidr"}],
            },
        ],
    )
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])[
        "SecurityGroupRules"
    ]
    described = {
        r["FromPort"]: r.get("Description") for r in rules if r["IsEgress"] and r["IpProtocol"] == "tcp"
    }
    assert described == {443: "to the prefix list", 6379: "to the peer group", 80: "to the cidr"}


def test_revoking_an_unknown_rule_id_says_so(aws: Any, subnet: dict[str, str]) -> None:
    ec2 = aws("ec2")
    group = ec2.create_security_group(GroupName="revoked", Description="rules", VpcId=subnet["vpc"])[
        "GroupId"
    ]
    (rule,) = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])[
        "SecurityGroupRules"
    ]
    ec2.revoke_security_group_egress(GroupId=group, SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])
    with pytest.raises(ClientError) as raised:  # already revoked
        ec2.revoke_security_group_egress(GroupId=group, SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])
    assert error_code(raised) == "InvalidSecurityGroupRuleId.NotFound"
    with pytest.raises(ClientError) as raised:
        ec2.revoke_security_group_ingress(GroupId=group, SecurityGroupRuleIds=["sgr-0123456789abcdef0"])
    assert error_code(raised) == "InvalidSecurityGroupRuleId.NotFound"


# ---- ElastiCache ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cache_users(aws: Any) -> list[str]:
    elasticache = aws("elasticache")
    elasticache.create_user(
        UserId="app",
        UserName="app",
        Engine="valkey",
        AccessString="on ~product:* +@all",
        AuthenticationMode={"Type": "iam"},
    )
    elasticache.create_user(
        UserId="default-off",
        UserName="default",
        Engine="valkey",
        AccessString="off -@all",
        AuthenticationMode={"Type": "no-password-required"},
    )
    return ["default-off", "app"]


def test_user_group_lifecycle(aws: Any, cache_users: list[str]) -> None:
    elasticache = aws("elasticache")
    created = elasticache.create_user_group(UserGroupId="group", Engine="valkey", UserIds=cache_users)
    assert created["Status"] == "creating"
    (group,) = elasticache.describe_user_groups(UserGroupId="group")["UserGroups"]
    assert (group["Status"], sorted(group["UserIds"])) == ("active", sorted(cache_users))
    assert group["ARN"] == f"arn:aws:elasticache:{REGION}:{ACCOUNT}:usergroup:group"
    (app,) = elasticache.describe_users(UserId="app")["Users"]
    assert app["UserGroupIds"] == ["group"]
    assert elasticache.list_tags_for_resource(ResourceName=group["ARN"])["TagList"] == []

    elasticache.modify_user_group(UserGroupId="group", UserIdsToRemove=["app"])
    assert elasticache.describe_user_groups(UserGroupId="group")["UserGroups"][0]["UserIds"] == [
        "default-off"
    ]

    with pytest.raises(ClientError) as raised:
        elasticache.create_user_group(UserGroupId="no-default", Engine="valkey", UserIds=["app"])
    assert error_code(raised) == "DefaultUserRequired"

    assert elasticache.delete_user_group(UserGroupId="group")["Status"] == "deleting"
    with pytest.raises(ClientError) as raised:
        elasticache.describe_user_groups(UserGroupId="group")
    assert error_code(raised) == "UserGroupNotFound"
    assert elasticache.describe_users(UserId="default-off")["Users"][0]["UserGroupIds"] == []


def test_cache_parameter_group_lifecycle(aws: Any) -> None:
    elasticache = aws("elasticache")
    created = elasticache.create_cache_parameter_group(
        CacheParameterGroupName="params",
        CacheParameterGroupFamily="valkey8",
        Description="test",
        Tags=[{"Key": "team", "Value": "shop"}],
    )["CacheParameterGroup"]
    assert created["ARN"] == f"arn:aws:elasticache:{REGION}:{ACCOUNT}:parametergroup:params"
    assert elasticache.list_tags_for_resource(ResourceName=created["ARN"])["TagList"] == [
        {"Key": "team", "Value": "shop"}
    ]
    elasticache.modify_cache_parameter_group(
        CacheParameterGroupName="params",
        ParameterNameValues=[{"ParameterName": "maxmemory-policy", "ParameterValue": "allkeys-lru"}],
    )
    (group,) = elasticache.describe_cache_parameter_groups(CacheParameterGroupName="params")[
        "CacheParameterGroups"
    ]
    assert group["CacheParameterGroupFamily"] == "valkey8"
    parameters = elasticache.describe_cache_parameters(CacheParameterGroupName="params", Source="user")[
        "Parameters"
    ]
    assert [(p["ParameterName"], p["ParameterValue"]) for p in parameters] == [
        ("maxmemory-policy", "allkeys-lru")
    ]
    elasticache.delete_cache_parameter_group(CacheParameterGroupName="params")
    with pytest.raises(ClientError) as raised:
        elasticache.describe_cache_parameter_groups(CacheParameterGroupName="params")
    assert error_code(raised) == "CacheParameterGroupNotFound"


def test_serverless_cache_lifecycle(aws: Any, cache_users: list[str], subnet: dict[str, str]) -> None:
    elasticache = aws("elasticache")
    elasticache.create_user_group(UserGroupId="serverless-users", Engine="valkey", UserIds=cache_users)
    created = elasticache.create_serverless_cache(
        ServerlessCacheName="serverless",
        Engine="valkey",
        MajorEngineVersion="8",
        KmsKeyId="arn:aws:kms:us-east-1:123456789012:key/test",
        SubnetIds=[subnet["subnet"]],
        SecurityGroupIds=[subnet["group"]],
        UserGroupId="serverless-users",
        CacheUsageLimits={"DataStorage": {"Maximum": 2, "Unit": "GB"}, "ECPUPerSecond": {"Maximum": 2000}},
        SnapshotRetentionLimit=7,
        DailySnapshotTime="03:00",
    )["ServerlessCache"]
    assert created["Status"] == "creating"
    (cache,) = elasticache.describe_serverless_caches(ServerlessCacheName="serverless")["ServerlessCaches"]
    assert cache["Status"] == "available"
    assert (cache["Endpoint"]["Port"], cache["ReaderEndpoint"]["Port"]) == (6379, 6380)
    assert cache["CacheUsageLimits"]["DataStorage"] == {"Maximum": 2, "Unit": "GB"}
    assert (cache["UserGroupId"], cache["SubnetIds"], cache["SnapshotRetentionLimit"]) == (
        "serverless-users",
        [subnet["subnet"]],
        7,
    )
    (group,) = elasticache.describe_user_groups(UserGroupId="serverless-users")["UserGroups"]
    assert group["ServerlessCaches"] == ["serverless"]
    with pytest.raises(ClientError) as raised:  # a group in use stays
        elasticache.delete_user_group(UserGroupId="serverless-users")
    assert error_code(raised) == "InvalidUserGroupState"

    assert elasticache.delete_serverless_cache(ServerlessCacheName="serverless")["ServerlessCache"][
        "Status"
    ] == ("deleting")
    with pytest.raises(ClientError) as raised:
        elasticache.describe_serverless_caches(ServerlessCacheName="serverless")
    assert error_code(raised) == "ServerlessCacheNotFoundFault"
    elasticache.delete_user_group(UserGroupId="serverless-users")


def test_replication_group_members_and_deletion(
    aws: Any, cache_users: list[str], subnet: dict[str, str]
) -> None:
    elasticache = aws("elasticache")
    elasticache.create_user_group(UserGroupId="rg-users", Engine="valkey", UserIds=cache_users)
    elasticache.create_cache_subnet_group(
        CacheSubnetGroupName="rg-subnets", CacheSubnetGroupDescription="test", SubnetIds=[subnet["subnet"]]
    )
    elasticache.create_cache_parameter_group(
        CacheParameterGroupName="rg-params", CacheParameterGroupFamily="valkey8", Description="test"
    )
    elasticache.create_replication_group(
        ReplicationGroupId="rg",
        ReplicationGroupDescription="test",
        Engine="valkey",
        EngineVersion="8.0",
        CacheNodeType="cache.t4g.micro",
        NumCacheClusters=2,  # a primary and a replica, as the cache module's replicas = 1 makes
        CacheParameterGroupName="rg-params",
        CacheSubnetGroupName="rg-subnets",
        SecurityGroupIds=[subnet["group"]],
        UserGroupIds=["rg-users"],
        TransitEncryptionEnabled=True,
        TransitEncryptionMode="required",
        AtRestEncryptionEnabled=True,
        PreferredMaintenanceWindow="sun:05:00-sun:06:00",
    )
    (group,) = elasticache.describe_replication_groups(ReplicationGroupId="rg")["ReplicationGroups"]
    assert group["MemberClusters"] == ["rg-001", "rg-002"]
    (replica,) = elasticache.describe_cache_clusters(CacheClusterId="rg-002")["CacheClusters"]
    assert replica["ReplicationGroupId"] == "rg"
    (member,) = elasticache.describe_cache_clusters(CacheClusterId=group["MemberClusters"][0])[
        "CacheClusters"
    ]
    assert member["ReplicationGroupId"] == "rg"
    assert (member["AtRestEncryptionEnabled"], member["TransitEncryptionEnabled"]) == (True, True)
    assert member["TransitEncryptionMode"] == "required"
    assert member["CacheParameterGroup"]["CacheParameterGroupName"] == "rg-params"
    assert [g["SecurityGroupId"] for g in member["SecurityGroups"]] == [subnet["group"]]
    assert (member["Engine"], member["CacheNodeType"]) == ("valkey", "cache.t4g.micro")
    assert member["PreferredMaintenanceWindow"] == "sun:05:00-sun:06:00"

    with pytest.raises(ClientError) as raised:  # in use by the group
        elasticache.delete_cache_subnet_group(CacheSubnetGroupName="rg-subnets")
    assert error_code(raised) == "CacheSubnetGroupInUse"

    assert (
        elasticache.delete_replication_group(ReplicationGroupId="rg")["ReplicationGroup"]["Status"]
        == "deleting"
    )
    with pytest.raises(ClientError) as raised:
        elasticache.describe_replication_groups(ReplicationGroupId="rg")
    assert error_code(raised) == "ReplicationGroupNotFoundFault"
    with pytest.raises(ClientError) as raised:
        elasticache.describe_cache_clusters(CacheClusterId=group["MemberClusters"][0])
    assert error_code(raised) == "CacheClusterNotFound"

    elasticache.delete_cache_subnet_group(CacheSubnetGroupName="rg-subnets")
    with pytest.raises(ClientError) as raised:
        elasticache.describe_cache_subnet_groups(CacheSubnetGroupName="rg-subnets")
    assert error_code(raised) == "CacheSubnetGroupNotFoundFault"
    with pytest.raises(ClientError) as raised:
        elasticache.delete_cache_subnet_group(CacheSubnetGroupName="rg-subnets")
    assert error_code(raised) == "CacheSubnetGroupNotFoundFault"


# ---- CloudWatch Logs -----------------------------------------------------------------------


def test_query_definition_lifecycle(aws: Any) -> None:
    logs = aws("logs")
    query = "fields @timestamp, type | sort @timestamp asc"
    created = logs.put_query_definition(name="shop/transitions", queryString=query, logGroupNames=["/a"])
    definition_id = created["queryDefinitionId"]
    other = logs.put_query_definition(name="other/errors", queryString="fields @message")["queryDefinitionId"]
    assert definition_id != other

    (found,) = logs.describe_query_definitions(queryDefinitionNamePrefix="shop/")["queryDefinitions"]
    assert (found["queryDefinitionId"], found["name"], found["queryString"]) == (
        definition_id,
        "shop/transitions",
        query,
    )
    assert found["logGroupNames"] == ["/a"]
    everything = logs.describe_query_definitions()["queryDefinitions"]
    assert [d["name"] for d in everything] == ["other/errors", "shop/transitions"]
    first_page = logs.describe_query_definitions(maxResults=1)
    assert [d["name"] for d in first_page["queryDefinitions"]] == ["other/errors"]
    second_page = logs.describe_query_definitions(maxResults=1, nextToken=first_page["nextToken"])
    assert [d["name"] for d in second_page["queryDefinitions"]] == ["shop/transitions"]
    assert "nextToken" not in second_page

    # Put with an id replaces that query in place.
    replaced = logs.put_query_definition(
        queryDefinitionId=definition_id,
        name="shop/transitions",
        queryString="fields id",
        logGroupNames=["/b"],
    )
    assert replaced["queryDefinitionId"] == definition_id
    (found,) = logs.describe_query_definitions(queryDefinitionNamePrefix="shop/")["queryDefinitions"]
    assert (found["queryString"], found["logGroupNames"]) == ("fields id", ["/b"])

    assert logs.delete_query_definition(queryDefinitionId=definition_id)["success"] is True
    assert logs.describe_query_definitions(queryDefinitionNamePrefix="shop/")["queryDefinitions"] == []
    for unknown in (
        lambda: logs.delete_query_definition(queryDefinitionId=definition_id),
        lambda: logs.put_query_definition(queryDefinitionId=definition_id, name="x", queryString="fields id"),
    ):
        with pytest.raises(ClientError) as raised:
            unknown()
        assert error_code(raised) == "ResourceNotFoundException"
    logs.delete_query_definition(queryDefinitionId=other)


def test_the_fis_lambda_extension_parameter_names_a_layer_of_the_documented_shape(aws: Any) -> None:
    """modules/fault-injection reads AWS's public parameter for the extension layer at plan."""
    value = aws("ssm").get_parameter(Name="/aws/service/fis/lambda-extension/AWS-FIS-extension-arm64/1.x.x")
    assert value["Parameter"]["Value"].startswith(f"arn:aws:lambda:{REGION}:")
    assert ":layer:aws-fis-extension-arm64:" in value["Parameter"]["Value"]
    with pytest.raises(ClientError, match="ParameterNotFound"):
        aws("ssm").get_parameter(Name="/aws/service/fis/lambda-extension/AWS-FIS-extension-sparc/1.x.x")
