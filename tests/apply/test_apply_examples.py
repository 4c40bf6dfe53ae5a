"""Every module example applied, checked through the AWS API, planned again and destroyed.

Terratest's shape, with pytest-terraform fixtures: a test takes its example from a
pytest-terraform fixture (outputs, resources) once `terraform apply` is done, checks what
was created with boto3 and that a second plan changes nothing, and the fixture's teardown
destroys the example; `test_destroyed_without_leftovers[...]` then fails if anything the
example created still exists (a KMS key must at least be pending deletion), and
`test_nothing_new_in_the_account` if anything at all was left.

The applies and destroys run in a pipeline (tests/apply/support.py): a few examples at a
time, in the background, from the start of the session. The aws provider waits on its own
(SQS and KMS propagation checks of 10-30 s, 55 s for an S3 lifecycle rule, 30 s before it
first looks at an ElastiCache user group or its deletion), so the examples one after
another take about 20 minutes; five at a time, under 5 on two cores.

Where it applies, chosen by SERVERLESS_STATE_APPLY:

- unset or `twin` (the default, part of the normal `pytest` run): one local twin moto server
  for the session, with the emulations of local_twin/emulations.py; every root of this
  session's copy of the tree gets a provider override pointing each AWS endpoint at it
  (tools.tfrun.target_twin). No account, no credentials, no network: the aws provider
  comes from the project's CLI config (TF_CLI_CONFIG_FILE, a filesystem mirror where one
  exists).
- `aws`: a sandbox account, from the usual AWS credential chain, in the examples' own region
  (eu-west-1), with no override. It creates real resources (NAT gateways, an ElastiCache
  node and a serverless cache: a few dollars if the run takes an hour) and destroys them;
  KMS keys stay pending deletion for their waiting period. The examples use fixed names,
  so run it in an account without them (the bootstrap example's alias/terraform-state too).

SERVERLESS_STATE_APPLY_WORKERS sets how many examples are in flight at once (default 5).
A second plan must show no changes except those listed in REPLAN_EXCEPTIONS, each with
its cause.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import time
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_terraform.options import teardown as teardown_option
from pytest_terraform.tf import FixtureDecoratorFactory, TerraformFixture

from tests.apply import support

pytestmark = pytest.mark.apply


class PipelinedTerraformFixture(TerraformFixture):
    """pytest-terraform's fixture, except that `init` and `apply` ran in the session's
    pipeline (already under way when the test starts) rather than in this test's setup,
    and its teardown hands the example back for a destroy in the pipeline. The value is
    pytest-terraform's TerraformTestApi of the applied state."""

    def __call__(self, request: pytest.FixtureRequest, tmpdir_factory: Any, worker_id: str) -> Any:
        pipeline: support.Pipeline = request.getfixturevalue("pipeline")
        name = pipeline.by_root[Path(str(self.resolve_module_dir()))]
        if self.teardown_config != teardown_option.OFF:
            request.addfinalizer(lambda: pipeline.destroy(name))
        return pipeline.applied(name)


terraform = FixtureDecoratorFactory()
terraform.scope_class_map = defaultdict(lambda: PipelinedTerraformFixture)


# ---- what the examples need around them ----------------------------------------------------


def create_hello_function(target: support.Target, root: Path) -> None:
    """The basic http-api example routes to a function it expects to exist."""
    iam = target.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName="example-hello-test", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    lambda_ = target.client("lambda")
    deadline = time.monotonic() + (0 if target.is_twin else 60)
    while True:  # a new role takes a few seconds to become usable by Lambda
        try:
            lambda_.create_function(
                FunctionName="example-hello",
                Role=role["Arn"],
                Runtime="python3.13",
                Handler="app.handler",
                Code={"ZipFile": code.getvalue()},
            )
            return
        except lambda_.exceptions.InvalidParameterValueException:
            if time.monotonic() > deadline:
                raise
            time.sleep(5)


def delete_hello_function(target: support.Target) -> None:
    target.client("lambda").delete_function(FunctionName="example-hello")
    target.client("iam").delete_role(RoleName="example-hello-test")


BOOTSTRAP_BUCKET = f"sst-bootstrap-test-{secrets.token_hex(4)}"


def name_the_bootstrap_bucket(target: support.Target, root: Path) -> None:
    """The root's one required variable: a new, globally unique bucket name."""
    (root / "test.auto.tfvars").write_text(f'bucket_name = "{BOOTSTRAP_BUCKET}"\n')


def _example(name: str, root: str, **hooks: Any) -> support.Example:
    return support.Example(name, support.TREE / root, **hooks)


# The pipeline applies them in this order (the slowest first) and the tests follow it.
EXAMPLES = [
    _example("cache_basic", "modules/cache/examples/basic"),
    _example("cache_serverless", "modules/cache/examples/serverless"),
    _example("lambda_basic", "modules/lambda-function/examples/basic"),
    _example("lambda_complete", "modules/lambda-function/examples/complete"),
    _example("bootstrap", "environments/bootstrap", before_apply=name_the_bootstrap_bucket),
    _example("workflow_basic", "modules/workflow/examples/basic"),
    _example(
        "http_api_basic",
        "modules/http-api/examples/basic",
        before_apply=create_hello_function,
        after_destroy=delete_hello_function,
    ),
    _example("http_api_complete", "modules/http-api/examples/complete"),
    _example("network_basic", "modules/network/examples/basic"),
    _example("observability_basic", "modules/observability/examples/basic"),
    _example("observability_complete", "modules/observability/examples/complete"),
    _example("network_complete", "modules/network/examples/complete"),
    _example("state_table_basic", "modules/state-table/examples/basic"),
    _example("state_table_complete", "modules/state-table/examples/complete"),
    _example("fault_injection_basic", "modules/fault-injection/examples/basic"),
    _example("fault_injection_complete", "modules/fault-injection/examples/complete"),
]

# pytest-terraform finds a fixture's root relative to this file; the roots are in this
# session's copy of the tree, which the `target` fixture fills before any of them is used.
try:
    for _example_spec in EXAMPLES:
        terraform(
            os.path.relpath(_example_spec.root, Path(__file__).parent),
            name=_example_spec.name,
            scope="function",
            teardown=terraform.TEARDOWN_ON,
        )
except ValueError as unresolved:  # pytest-terraform's plugin is off (-p no:terraform)
    pytest.skip(f"the apply tests need the pytest-terraform plugin: {unresolved}", allow_module_level=True)

# What a second plan may still change, by example and resource address: the attributes and
# why. Everything else must plan no change. (None today: the lambda-function module once wrote
# an empty environment block, which made every plan publish a new version; it no longer does.)
REPLAN_EXCEPTIONS: dict[str, dict[str, tuple[set[str], str]]] = {}


def assert_replans_clean(pipeline: support.Pipeline, name: str) -> None:
    allowed = REPLAN_EXCEPTIONS.get(name, {})
    unexpected = {
        address: paths
        for address, paths in pipeline.replan(name).items()
        if address not in allowed or not set(paths) <= allowed[address][0]
    }
    assert not unexpected, f"the second plan of {name} would change: {unexpected}"


def output(example: Any, key: str) -> Any:
    return example.outputs[key]["value"]


def alias_target(target: support.Target, alias: str) -> str:
    kms = target.client("kms")
    return kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"]


def assert_encrypted_log_group(target: support.Target, name: str, key_arn: str, retention: int) -> None:
    groups = target.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    group = next(g for g in groups if g["logGroupName"] == name)
    assert group.get("kmsKeyId") == key_arn
    assert group.get("retentionInDays") == retention


def assert_key_rotates(target: support.Target, key_arn: str) -> None:
    assert target.client("kms").get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True


def inline_statements(target: support.Target, role_name: str) -> dict[str, dict[str, Any]]:
    """A role's inline policy statements by Sid; the module roles have exactly one policy."""
    iam = target.client("iam")
    assert iam.list_role_policies(RoleName=role_name)["PolicyNames"] == ["least-privilege"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName="least-privilege")["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    statements = {}
    for statement in document["Statement"]:
        resources = statement["Resource"]
        actions = statement["Action"]
        statement["Resource"] = sorted([resources] if isinstance(resources, str) else resources)
        statement["Action"] = sorted([actions] if isinstance(actions, str) else actions)
        statements[statement.get("Sid", "")] = statement
    return statements


def role_name_of(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def assert_trusts_only(target: support.Target, role_name: str, service: str) -> None:
    document = target.client("iam").get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    (statement,) = document["Statement"]
    assert statement["Principal"] == {"Service": service}
    assert "aws:SourceAccount" in json.dumps(statement.get("Condition", {}))


# ---- cache -------------------------------------------------------------------------------------


def assert_cache_users(target: support.Target, name: str, client_function: str) -> None:
    """RBAC: the group holds the IAM-authenticated app user and a "default" user that is off."""
    elasticache = target.client("elasticache")
    (group,) = elasticache.describe_user_groups(UserGroupId=name)["UserGroups"]
    assert group["Status"] == "active"
    assert sorted(group["UserIds"]) == sorted([f"{name}-app", f"{name}-default-off"])
    (app,) = elasticache.describe_users(UserId=f"{name}-app")["Users"]
    assert app["UserName"] == app["UserId"]
    assert app["Authentication"]["Type"] == "iam"
    assert app["AccessString"].startswith("on ~product:*")
    (default,) = elasticache.describe_users(UserId=f"{name}-default-off")["Users"]
    assert default["UserName"] == "default"
    assert default["AccessString"].startswith("off")
    config = target.client("lambda").get_function_configuration(FunctionName=client_function)
    statements = inline_statements(target, role_name_of(config["Role"]))
    connect = statements["CacheConnectAsAppUser"]
    assert connect["Action"] == ["elasticache:Connect"]
    assert any(resource.endswith(f":user:{name}-app") for resource in connect["Resource"])


def test_cache_basic(target, pipeline, cache_basic) -> None:
    elasticache = target.client("elasticache")
    (group,) = elasticache.describe_replication_groups(ReplicationGroupId="example-cache")[
        "ReplicationGroups"
    ]
    key_arn = alias_target(target, "alias/elasticache/example-cache")
    assert group["TransitEncryptionEnabled"] is True
    assert group["TransitEncryptionMode"] == "required"
    assert group["AtRestEncryptionEnabled"] is True
    assert group["KmsKeyId"] == key_arn
    assert group["UserGroupIds"] == ["example-cache"]
    assert sorted(c["LogType"] for c in group["LogDeliveryConfigurations"]) == ["engine-log", "slow-log"]
    (member,) = elasticache.describe_cache_clusters(CacheClusterId=group["MemberClusters"][0])[
        "CacheClusters"
    ]
    assert member["AtRestEncryptionEnabled"] is True and member["Engine"] == "valkey"
    assert output(cache_basic, "endpoint").startswith(group["NodeGroups"][0]["PrimaryEndpoint"]["Address"])
    for log_type in ("slow-log", "engine-log"):
        assert_encrypted_log_group(target, f"/elasticache/example-cache/{log_type}", key_arn, 365)
    assert_cache_users(target, "example-cache", "example-cache-client")
    assert_replans_clean(pipeline, "cache_basic")


def test_cache_serverless(target, pipeline, cache_serverless) -> None:
    elasticache = target.client("elasticache")
    (cache,) = elasticache.describe_serverless_caches(ServerlessCacheName="example-serverless")[
        "ServerlessCaches"
    ]
    # ElastiCache Serverless always requires TLS; the module adds its own key and the RBAC group.
    assert cache["Status"] == "available"
    assert cache["Engine"] == "valkey"
    assert cache["KmsKeyId"] == alias_target(target, "alias/elasticache/example-serverless")
    assert cache["UserGroupId"] == "example-serverless"
    assert cache["CacheUsageLimits"]["DataStorage"] == {"Maximum": 2, "Unit": "GB"}
    assert cache["CacheUsageLimits"]["ECPUPerSecond"] == {"Maximum": 2000}
    assert len(cache["SubnetIds"]) == 3
    assert output(cache_serverless, "endpoint") == f"{cache['Endpoint']['Address']}:6379"
    assert_cache_users(target, "example-serverless", "example-serverless-client")
    assert_replans_clean(pipeline, "cache_serverless")


# ---- lambda-function ---------------------------------------------------------------------------


def assert_secure_function(target: support.Target, name: str, key_alias: str) -> tuple[dict, dict]:
    """The module's defaults: own key for environment, logs and DLQ; X-Ray; JSON logs kept
    365 days; a DLQ; a role that may do only what its statements name."""
    lambda_ = target.client("lambda")
    config = lambda_.get_function_configuration(FunctionName=name)
    key_arn = alias_target(target, key_alias)
    assert config["KMSKeyArn"] == key_arn
    assert config["TracingConfig"]["Mode"] == "Active"
    assert config["LoggingConfig"]["LogFormat"] == "JSON"
    assert config["LoggingConfig"]["LogGroup"] == f"/aws/lambda/{name}"
    assert_encrypted_log_group(target, f"/aws/lambda/{name}", key_arn, 365)
    assert_key_rotates(target, key_arn)
    sqs = target.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=f"{name}-dlq")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn", "KmsMasterKeyId"])[
        "Attributes"
    ]
    assert config["DeadLetterConfig"]["TargetArn"] == queue["QueueArn"]
    assert queue["KmsMasterKeyId"] == key_arn
    role = role_name_of(config["Role"])
    assert_trusts_only(target, role, "lambda.amazonaws.com")
    statements = inline_statements(target, role)
    log_group_arn = target.client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")[
        "logGroups"
    ][0]["arn"]
    assert statements["WriteOwnLogs"]["Resource"] == [log_group_arn.removesuffix(":*") + ":*"]
    assert statements["UseOwnKey"]["Resource"] == [key_arn]
    assert statements["WriteTraces"]["Action"] == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    assert statements["SendToDeadLetterQueue"]["Resource"] == [queue["QueueArn"]]
    wildcard = [sid for sid, s in statements.items() if "*" in s["Resource"]]
    assert wildcard == ["WriteTraces"], "only X-Ray's actions may use Resource *"
    return config, statements


def test_lambda_basic(target, pipeline, lambda_basic) -> None:
    config, statements = assert_secure_function(target, "example-basic", "alias/lambda/example-basic")
    assert config["FunctionArn"] == output(lambda_basic, "function_arn")
    assert (config["Runtime"], config["Architectures"], config["Handler"]) == (
        "python3.13",
        ["arm64"],
        "app.handler",
    )
    assert set(statements) == {"WriteOwnLogs", "UseOwnKey", "WriteTraces", "SendToDeadLetterQueue"}
    assert "VpcConfig" not in config or not config["VpcConfig"].get("SubnetIds")
    iam = target.client("iam")
    assert iam.list_attached_role_policies(RoleName=role_name_of(config["Role"]))["AttachedPolicies"] == []
    assert (
        target.client("lambda").get_function_concurrency(FunctionName="example-basic")[
            "ReservedConcurrentExecutions"
        ]
        == 10
    )
    assert_replans_clean(pipeline, "lambda_basic")


def test_lambda_complete(target, pipeline, lambda_complete) -> None:
    config, statements = assert_secure_function(target, "example-complete", "alias/lambda/example-complete")
    assert set(statements) == {
        "WriteOwnLogs",
        "UseOwnKey",
        "WriteTraces",
        "SendToDeadLetterQueue",
        "ReadExampleTable",
    }
    assert statements["ReadExampleTable"]["Action"] == ["dynamodb:GetItem"]
    assert statements["ReadExampleTable"]["Resource"] == [
        "arn:aws:dynamodb:eu-west-1:111122223333:table/example"
    ]
    assert (config["MemorySize"], config["Timeout"]) == (1024, 15)
    assert config["Environment"]["Variables"] == {"POWERTOOLS_SERVICE_NAME": "example"}
    assert any(
        ":layer:AWSLambdaPowertoolsPythonV3-python313-arm64:" in layer["Arn"] for layer in config["Layers"]
    )
    lambda_ = target.client("lambda")
    alias = lambda_.get_alias(FunctionName="example-complete", Name="live")
    published = lambda_.get_function_configuration(
        FunctionName="example-complete", Qualifier=alias["FunctionVersion"]
    )
    assert alias["FunctionVersion"] != "$LATEST"
    assert published["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}
    assert output(lambda_complete, "invoke_arn").endswith(f"{alias['AliasArn']}/invocations")
    assert (
        lambda_.get_function_concurrency(FunctionName="example-complete")["ReservedConcurrentExecutions"] == 5
    )
    # In the VPC's private subnets, behind an egress-only group: HTTPS to the endpoints only.
    vpc_config = config["VpcConfig"]
    vpc_id = vpc_named(target, "example-fn")
    assert vpc_config["VpcId"] == vpc_id
    ec2 = target.client("ec2")
    subnets = ec2.describe_subnets(SubnetIds=vpc_config["SubnetIds"])["Subnets"]
    assert {s["VpcId"] for s in subnets} == {vpc_id} and len(subnets) == 2
    (group_id,) = vpc_config["SecurityGroupIds"]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])[
        "SecurityGroupRules"
    ]
    assert not [r for r in rules if not r["IsEgress"]]
    assert sorted(
        (r["FromPort"], r["ToPort"], r.get("PrefixListId") or r.get("CidrIpv4")) for r in rules
    ) == sorted([(443, 443, "10.20.0.0/16"), (443, 443, ec2_prefix_list(target, vpc_id))])
    attached = target.client("iam").list_attached_role_policies(RoleName=role_name_of(config["Role"]))
    assert [p["PolicyName"] for p in attached["AttachedPolicies"]] == ["AWSLambdaVPCAccessExecutionRole"]
    assert_replans_clean(pipeline, "lambda_complete")


def ec2_prefix_list(target: support.Target, vpc_id: str) -> str:
    endpoints = target.client("ec2").describe_vpc_endpoints(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "vpc-endpoint-type", "Values": ["Gateway"]}]
    )["VpcEndpoints"]
    service = endpoints[0]["ServiceName"]
    lists = target.client("ec2").describe_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [service]}]
    )
    return lists["PrefixLists"][0]["PrefixListId"]


# ---- environments/bootstrap --------------------------------------------------------------------

BOOTSTRAP_ROOT = support.TREE / "environments" / "bootstrap"


@pytest.fixture
def bootstrap_destroyable(bootstrap: Any) -> Iterator[None]:
    """The state bucket has lifecycle.prevent_destroy, so `terraform destroy` refuses it, as
    it should everywhere but here: an override file in the copy lifts it just before the
    fixture's teardown hands the example to its destroy (what was applied and planned again
    is the real configuration)."""
    yield
    (BOOTSTRAP_ROOT / "zz_test_destroy_override.tf").write_text(
        'resource "aws_s3_bucket" "state" {\n  lifecycle {\n    prevent_destroy = false\n  }\n}\n'
    )


def test_bootstrap(target, pipeline, bootstrap, bootstrap_destroyable) -> None:
    bootstrap_bucket = BOOTSTRAP_BUCKET
    s3 = target.client("s3")
    assert output(bootstrap, "state_bucket") == bootstrap_bucket
    key_arn = output(bootstrap, "state_kms_key_arn")
    assert alias_target(target, "alias/terraform-state") == key_arn
    assert_key_rotates(target, key_arn)
    assert s3.get_bucket_versioning(Bucket=bootstrap_bucket)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_encryption(Bucket=bootstrap_bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": key_arn,
    }
    assert rule["BucketKeyEnabled"] is True
    block = s3.get_public_access_block(Bucket=bootstrap_bucket)["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    ownership = s3.get_bucket_ownership_controls(Bucket=bootstrap_bucket)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (statement,) = json.loads(s3.get_bucket_policy(Bucket=bootstrap_bucket)["Policy"])["Statement"]
    assert statement["Sid"] == "DenyInsecureTransport"
    assert (statement["Effect"], statement["Action"], statement["Principal"]) == ("Deny", "s3:*", "*")
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    (lifecycle,) = s3.get_bucket_lifecycle_configuration(Bucket=bootstrap_bucket)["Rules"]
    assert lifecycle["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90
    assert_replans_clean(pipeline, "bootstrap")


# ---- workflow ----------------------------------------------------------------------------------


def test_workflow_basic(target, pipeline, workflow_basic) -> None:
    arn = output(workflow_basic, "state_machine_arn")
    machine = target.client("stepfunctions").describe_state_machine(stateMachineArn=arn)
    hello = target.client("lambda").get_function_configuration(FunctionName="example-workflow-hello")
    assert (
        json.loads(machine["definition"])["States"]["Hello"]["Parameters"]["FunctionName"]
        == hello["FunctionArn"]
    )
    assert machine["type"] == "STANDARD"
    assert machine["tracingConfiguration"] == {"enabled": True}
    logging = machine["loggingConfiguration"]
    assert (logging["level"], logging.get("includeExecutionData", False)) == ("ALL", False)
    (destination,) = logging["destinations"]
    log_group_arn = destination["cloudWatchLogsLogGroup"]["logGroupArn"]
    assert log_group_arn.endswith(":log-group:/aws/vendedlogs/states/example-hello:*")
    encryption = machine["encryptionConfiguration"]
    assert encryption["type"] == "CUSTOMER_MANAGED_KMS_KEY"
    assert_encrypted_log_group(target, "/aws/vendedlogs/states/example-hello", encryption["kmsKeyId"], 365)
    role = role_name_of(machine["roleArn"])
    assert_trusts_only(target, role, "states.amazonaws.com")
    statements = inline_statements(target, role)
    assert statements["InvokeListedFunctions"]["Action"] == ["lambda:InvokeFunction"]
    assert statements["InvokeListedFunctions"]["Resource"] == sorted(
        [hello["FunctionArn"], f"{hello['FunctionArn']}:*"]
    )
    assert statements["UseOwnKey"]["Resource"] == [encryption["kmsKeyId"]]
    assert_replans_clean(pipeline, "workflow_basic")


# ---- http-api ----------------------------------------------------------------------------------


def api_named(target: support.Target, name: str) -> dict:
    (api,) = [a for a in target.client("apigatewayv2").get_apis()["Items"] if a["Name"] == name]
    return api


def assert_stage_logs(target: support.Target, api: dict, retention: int, rate: float, burst: int) -> None:
    apigw = target.client("apigatewayv2")
    stage = apigw.get_stage(ApiId=api["ApiId"], StageName="$default")
    assert stage["AutoDeploy"] is True
    settings = stage["DefaultRouteSettings"]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (rate, burst)
    group_name = f"/aws/apigateway/{api['Name']}"
    group = target.client("logs").describe_log_groups(logGroupNamePrefix=group_name)["logGroups"][0]
    assert stage["AccessLogSettings"]["DestinationArn"] == group["arn"].removesuffix(":*")
    assert "$context.requestId" in stage["AccessLogSettings"]["Format"]
    assert_encrypted_log_group(target, group_name, group["kmsKeyId"], retention)


def permission_statement(target: support.Target, function: str, qualifier: str | None = None) -> dict:
    options = {"Qualifier": qualifier} if qualifier else {}
    policy = json.loads(target.client("lambda").get_policy(FunctionName=function, **options)["Policy"])
    (statement,) = policy["Statement"]
    return statement


def test_http_api_basic(target, pipeline, http_api_basic) -> None:
    api = api_named(target, "example-api")
    assert api["ProtocolType"] == "HTTP"
    assert output(http_api_basic, "api_endpoint") == api["ApiEndpoint"]
    apigw = target.client("apigatewayv2")
    (route,) = apigw.get_routes(ApiId=api["ApiId"])["Items"]
    (integration,) = apigw.get_integrations(ApiId=api["ApiId"])["Items"]
    assert (route["RouteKey"], route["AuthorizationType"]) == ("GET /hello", "AWS_IAM")
    assert route["Target"] == f"integrations/{integration['IntegrationId']}"
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    assert integration["IntegrationUri"].endswith(":function:example-hello/invocations")
    assert_stage_logs(target, api, retention=365, rate=50, burst=100)
    statement = permission_statement(target, "example-hello")
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert statement["Action"] == "lambda:InvokeFunction"
    assert json.dumps(statement["Condition"]).count(f"{api['ApiId']}/*/*") == 1
    assert_replans_clean(pipeline, "http_api_basic")


def test_http_api_complete(target, pipeline, http_api_complete) -> None:
    api = api_named(target, "example-api-complete")
    assert api["CorsConfiguration"]["AllowOrigins"] == ["https://shop.example.com"]
    apigw = target.client("apigatewayv2")
    routes = apigw.get_routes(ApiId=api["ApiId"])["Items"]
    # GetAuthorizers is missing from moto; the routes name their authorizer.
    authorizer = apigw.get_authorizer(ApiId=api["ApiId"], AuthorizerId=routes[0]["AuthorizerId"])
    assert authorizer["AuthorizerType"] == "JWT"
    assert authorizer["IdentitySource"] == ["$request.header.Authorization"]
    assert authorizer["JwtConfiguration"]["Audience"] == ["example-client"]
    assert authorizer["JwtConfiguration"]["Issuer"].endswith("/eu-west-1_example")
    (integration,) = apigw.get_integrations(ApiId=api["ApiId"])["Items"]  # one per function alias
    assert sorted(r["RouteKey"] for r in routes) == ["GET /items/{id}", "PUT /items/{id}"]
    assert {(r["AuthorizationType"], r["AuthorizerId"], r["Target"]) for r in routes} == {
        ("JWT", authorizer["AuthorizerId"], f"integrations/{integration['IntegrationId']}")
    }
    alias = target.client("lambda").get_alias(FunctionName="example-api-backend", Name="live")
    assert alias["AliasArn"] in integration["IntegrationUri"]
    assert_stage_logs(target, api, retention=731, rate=20, burst=40)
    statement = permission_statement(target, "example-api-backend", "live")
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert statement["Resource"] == alias["AliasArn"]
    assert_replans_clean(pipeline, "http_api_complete")


# ---- network -----------------------------------------------------------------------------------


def assert_private_network(target: support.Target, vpc_id: str, az_count: int, traffic: str) -> dict:
    ec2 = target.client("ec2")
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    subnets = ec2.describe_subnets(Filters=in_vpc)["Subnets"]
    private = [s for s in subnets if {"Key": "tier", "Value": "private"} in s.get("Tags", [])]
    assert len(private) == az_count
    assert len({s["AvailabilityZone"] for s in private}) == az_count
    assert not any(s["MapPublicIpOnLaunch"] for s in subnets)
    # The default security group admits and sends nothing.
    (default,) = ec2.describe_security_groups(
        Filters=[*in_vpc, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    assert default["IpPermissions"] == [] and default["IpPermissionsEgress"] == []
    # DynamoDB through a gateway endpoint on every private route table.
    endpoints = ec2.describe_vpc_endpoints(Filters=in_vpc)["VpcEndpoints"]
    (gateway,) = [e for e in endpoints if e["VpcEndpointType"] == "Gateway"]
    assert gateway["ServiceName"].endswith(".dynamodb")
    private_tables = {
        a["RouteTableId"]
        for t in ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]
        for a in t.get("Associations", [])
        if a.get("SubnetId") in {s["SubnetId"] for s in private}
    }
    assert len(private_tables) == az_count
    assert set(gateway["RouteTableIds"]) == private_tables
    # Flow logs to a KMS-encrypted group.
    (flow_log,) = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]
    assert flow_log["TrafficType"] == traffic
    assert flow_log["LogDestinationType"] == "cloud-watch-logs"
    return {"private": private, "endpoints": endpoints, "route_tables": private_tables}


def vpc_named(target: support.Target, name: str) -> str:
    (vpc,) = target.client("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [name]}])["Vpcs"]
    return vpc["VpcId"]


def test_network_basic(target, pipeline, network_basic) -> None:
    vpc_id = vpc_named(target, "example")
    found = assert_private_network(target, vpc_id, az_count=2, traffic="ALL")
    assert sorted(s["SubnetId"] for s in found["private"]) == sorted(
        output(network_basic, "private_subnet_ids")
    )
    ec2 = target.client("ec2")
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    # Private only: no internet gateway, no route out.
    assert (
        ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])[
            "InternetGateways"
        ]
        == []
    )
    for table in ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]:
        assert not [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    interface = sorted(
        e["ServiceName"].rsplit(".", 1)[-1] for e in found["endpoints"] if e["VpcEndpointType"] == "Interface"
    )
    assert interface == ["kms", "logs", "secretsmanager", "states", "sts"]
    key_arn = target.client("logs").describe_log_groups(logGroupNamePrefix="/vpc/example/flow-logs")[
        "logGroups"
    ][0]["kmsKeyId"]
    assert_encrypted_log_group(target, "/vpc/example/flow-logs", key_arn, 365)
    assert_key_rotates(target, key_arn)
    assert_replans_clean(pipeline, "network_basic")


def test_network_complete(target, pipeline, network_complete) -> None:
    vpc_id = output(network_complete, "vpc_id")
    found = assert_private_network(target, vpc_id, az_count=3, traffic="REJECT")
    ec2 = target.client("ec2")
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    nats = [n for n in ec2.describe_nat_gateways(Filters=in_vpc)["NatGateways"] if n["State"] != "deleted"]
    assert len(nats) == 3  # one per AZ
    for table in ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]:
        if table["RouteTableId"] in found["route_tables"]:
            (default_route,) = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
            assert default_route.get("NatGatewayId") in {n["NatGatewayId"] for n in nats}
    interface = [e for e in found["endpoints"] if e["VpcEndpointType"] == "Interface"]
    assert len(interface) == 6
    assert all(len(e["SubnetIds"]) == 1 and e["PrivateDnsEnabled"] for e in interface)
    assert_encrypted_log_group(
        target,
        "/vpc/example-complete/flow-logs",
        target.client("logs").describe_log_groups(logGroupNamePrefix="/vpc/example-complete/flow-logs")[
            "logGroups"
        ][0]["kmsKeyId"],
        365,
    )
    vpc = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    assert {"Key": "example", "Value": "complete"} in vpc["Tags"]
    assert_replans_clean(pipeline, "network_complete")


# ---- state-table -------------------------------------------------------------------------------


@pytest.fixture
def protection_lifted(target: support.Target, state_table_basic: Any) -> Iterator[None]:
    """The basic table keeps DeletionProtectionEnabled (the module default), which refuses
    `terraform destroy` as it should; lift it, as an operator retiring the table would."""
    yield
    target.client("dynamodb").update_table(
        TableName=output(state_table_basic, "table_name"), DeletionProtectionEnabled=False
    )


def assert_state_table(
    target: support.Target, name: str, key_arn: str, pitr_days: int, protected: bool
) -> dict:
    dynamodb = target.client("dynamodb")
    table = dynamodb.describe_table(TableName=name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSEDescription"]["Status"] == "ENABLED"
    assert table["SSEDescription"]["SSEType"] == "KMS"
    assert table["SSEDescription"]["KMSMasterKeyArn"] == key_arn
    assert table.get("DeletionProtectionEnabled", False) is protected
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")
    recovery = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert recovery["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert recovery["PointInTimeRecoveryDescription"]["RecoveryPeriodInDays"] == pitr_days
    assert_key_rotates(target, key_arn)
    return table


def test_state_table_basic(target, pipeline, state_table_basic, protection_lifted) -> None:
    name = output(state_table_basic, "table_name")
    key_arn = alias_target(target, f"alias/{name}")
    table = assert_state_table(target, name, key_arn, pitr_days=35, protected=True)
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    assert "StreamSpecification" not in table or not table["StreamSpecification"].get("StreamEnabled")
    assert_replans_clean(pipeline, "state_table_basic")


def test_state_table_complete(target, pipeline, state_table_complete) -> None:
    name = "example-complete-state"
    key_arn = state_table_complete.resources["aws_kms_key"]["shared"]["arn"]
    table = assert_state_table(target, name, key_arn, pitr_days=7, protected=False)
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table["LatestStreamArn"] == output(state_table_complete, "stream_arn")
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by-status"
    assert index["Projection"]["ProjectionType"] == "KEYS_ONLY"
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["status", "updated_at"]
    tags = target.client("dynamodb").list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]
    assert {"Key": "example", "Value": "complete"} in tags
    assert_replans_clean(pipeline, "state_table_complete")


# ---- observability -----------------------------------------------------------------------------


def alarms_named(target: support.Target, prefix: str) -> dict[str, dict]:
    alarms = target.client("cloudwatch").describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]
    return {alarm["AlarmName"]: alarm for alarm in alarms}


def test_observability_basic(target, pipeline, observability_basic) -> None:
    cloudwatch = target.client("cloudwatch")
    body = json.loads(cloudwatch.get_dashboard(DashboardName="example-observability-basic")["DashboardBody"])
    titles = [widget["properties"]["title"] for widget in body["widgets"]]
    assert "Catalog cache hit ratio" in titles and "Dead-letter queues: messages waiting" in titles
    assert {widget["properties"]["region"] for widget in body["widgets"]} == {target.region}
    alarms = alarms_named(target, "example-observability-basic-")
    assert set(alarms) == set(output(observability_basic, "alarm_arns"))
    assert sorted(alarms) == sorted(
        ["example-observability-basic-cache-hit-ratio"]
        + [
            f"example-observability-basic-{kind}-{key}"
            for kind in ("errors", "throttles", "dlq")
            for key in ("cart", "catalog")
        ]
    )
    assert all(alarm["AlarmActions"] == [] for alarm in alarms.values())  # no subscribers: no topic
    dlq = alarms["example-observability-basic-dlq-cart"]
    assert (dlq["MetricName"], dlq["Dimensions"]) == (
        "ApproximateNumberOfMessagesVisible",
        [{"Name": "QueueName", "Value": "example-cart-dlq"}],
    )
    ratio = alarms["example-observability-basic-cache-hit-ratio"]
    assert ratio["ComparisonOperator"] == "LessThanThreshold" and ratio["Threshold"] == 0.8
    assert {q["Id"] for q in ratio["Metrics"]} == {"hit_ratio", "hits", "misses"}
    topics = [t["TopicArn"] for t in target.client("sns").list_topics()["Topics"]]
    assert not [arn for arn in topics if arn.endswith(":example-observability-basic-alarms")]
    assert_replans_clean(pipeline, "observability_basic")


def test_observability_complete(target, pipeline, observability_complete) -> None:
    topic_arn = output(observability_complete, "alarm_topic_arn")
    sns = target.client("sns")
    attributes = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]
    key_arn = attributes["KmsMasterKeyId"]
    assert key_arn.startswith("arn:") and target.client("kms").describe_key(KeyId=key_arn)
    (statement, deny) = json.loads(attributes["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "alerts@example.com")
    alarms = alarms_named(target, "example-observability-complete-")
    assert {
        "example-observability-complete-workflow-failure-rate",
        "example-observability-complete-cache-storage",
    } <= set(alarms)
    assert all(
        alarm["AlarmActions"] == [topic_arn] and alarm["OKActions"] == [topic_arn]
        for alarm in alarms.values()
    )
    saved = {
        query["queryDefinitionId"]: query
        for query in target.client("logs").describe_query_definitions(
            queryDefinitionNamePrefix="example-observability-complete/"
        )["queryDefinitions"]
    }
    # One order's state transitions, and the saga's time and retries per state.
    assert set(saved) == {
        output(observability_complete, "query_definition_id"),
        output(observability_complete, "state_durations_query_definition_id"),
    }
    definition = saved[output(observability_complete, "query_definition_id")]
    assert definition["logGroupNames"] == ["/aws/vendedlogs/states/example-observability-checkout"]
    assert "details.name as state" in definition["queryString"]
    assert_replans_clean(pipeline, "observability_complete")


# ---- fault-injection ---------------------------------------------------------------------------


def experiment_template(target: support.Target, template_id: str) -> dict[str, Any]:
    return target.client("fis").get_experiment_template(id=template_id)["experimentTemplate"]


def assert_fis_role(target: support.Target, template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The template's role trusts FIS alone, for this account's experiments, and has one policy."""
    role = role_name_of(template["roleArn"])
    assert_trusts_only(target, role, "fis.amazonaws.com")
    return inline_statements(target, role)


def assert_logs_to(template: dict[str, Any], log_group: str) -> None:
    logging = template["logConfiguration"]
    assert logging["logSchemaVersion"] == 2
    assert logging["cloudWatchLogsConfiguration"]["logGroupArn"].endswith(f":log-group:{log_group}:*")


def test_fault_injection_basic(target, pipeline, fault_injection_basic) -> None:
    """Lambda faults: two templates on the one function, stopped by its alarm; the function
    carries the FIS extension (layer, wrapper, configuration location) and may read its
    configuration; the bucket and the log group use the module's key."""
    templates = output(fault_injection_basic, "experiment_template_ids")
    assert set(templates) == {"lambda_invocation_error", "lambda_invocation_add_delay"}
    config = target.client("lambda").get_function_configuration(FunctionName="example-fis-target")
    (alarm,) = alarms_named(target, "example-fis-target-errors").values()
    log_group = "/aws/fis/example-fis"
    key_arn = None
    for key, action_id, parameters in (
        ("lambda_invocation_error", "aws:lambda:invocation-error", {"invocationPercentage": "25"}),
        (
            "lambda_invocation_add_delay",
            "aws:lambda:invocation-add-delay",
            {"startupDelayMilliseconds": "12000"},
        ),
    ):
        template = experiment_template(target, templates[key])
        (action,) = template["actions"].values()
        assert action["actionId"] == action_id
        assert parameters.items() <= action["parameters"].items()
        (functions,) = template["targets"].values()
        assert functions["resourceType"] == "aws:lambda:function"
        assert functions["resourceArns"] == [config["FunctionArn"]]
        assert template["stopConditions"] == [{"source": "aws:cloudwatch:alarm", "value": alarm["AlarmArn"]}]
        assert_logs_to(template, log_group)
        statements = assert_fis_role(target, template)
        assert statements["InspectTargetFunctions"]["Resource"] == [config["FunctionArn"]]
        key_arn = statements["EncryptFaultConfigurations"]["Resource"][0]
    # The FIS extension, wired into the function as the module's outputs say.
    (layer,) = config["Layers"]
    assert ":layer:aws-fis-extension-" in layer["Arn"]
    environment = config["Environment"]["Variables"]
    assert environment["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/aws-fis/bootstrap"
    bucket = environment["AWS_FIS_CONFIGURATION_LOCATION"].removeprefix("arn:aws:s3:::").split("/")[0]
    assert bucket.startswith("example-fis-fis-config-")
    s3 = target.client("s3")
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": key_arn,
    }
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    function_statements = inline_statements(target, role_name_of(config["Role"]))
    assert function_statements["ReadFisConfigurations"]["Resource"] == [f"arn:aws:s3:::{bucket}/FisConfigs/*"]
    assert_encrypted_log_group(target, log_group, key_arn, 30)
    assert_replans_clean(pipeline, "fault_injection_basic")


def test_fault_injection_complete(target, pipeline, fault_injection_complete) -> None:
    """Cache faults: AZ power to the replication group's nodes in one AZ, and its subnets cut
    off, each stopped by the cache's alarms."""
    templates = output(fault_injection_complete, "experiment_template_ids")
    assert set(templates) == {"cache_interrupt_az_power", "cache_disrupt_connectivity"}
    cache_alarms = {alarm["AlarmArn"] for alarm in alarms_named(target, "example-fis-cache-cache-").values()}
    assert cache_alarms
    (group,) = target.client("elasticache").describe_replication_groups(
        ReplicationGroupId="example-fis-cache"
    )["ReplicationGroups"]
    power = experiment_template(target, templates["cache_interrupt_az_power"])
    (action,) = power["actions"].values()
    assert action["actionId"] == "aws:elasticache:replicationgroup-interrupt-az-power"
    (cache,) = power["targets"].values()
    assert cache["resourceType"] == "aws:elasticache:replicationgroup"
    assert cache["filters"] == [{"path": "ReplicationGroupId", "values": [group["ReplicationGroupId"]]}]
    statements = assert_fis_role(target, power)
    assert group["ARN"] in statements["InterruptCacheAzPower"]["Resource"]
    network = experiment_template(target, templates["cache_disrupt_connectivity"])
    (action,) = network["actions"].values()
    assert action["actionId"] == "aws:network:disrupt-connectivity"
    (subnets,) = network["targets"].values()
    assert subnets["resourceType"] == "aws:ec2:subnet"
    # The cache's subnets, and the AZ whose power is cut is one of theirs.
    subnet_ids = [arn.rsplit("/", 1)[-1] for arn in subnets["resourceArns"]]
    described = target.client("ec2").describe_subnets(SubnetIds=subnet_ids)["Subnets"]
    assert len(described) >= 2 and len({subnet["VpcId"] for subnet in described}) == 1
    assert cache["parameters"]["availabilityZoneIdentifier"] in {s["AvailabilityZone"] for s in described}
    assert_fis_role(target, network)
    for template in (power, network):
        assert {condition["value"] for condition in template["stopConditions"]} == cache_alarms
        assert_logs_to(template, "/aws/fis/example-fis-cache")
    assert_replans_clean(pipeline, "fault_injection_complete")


# ---- after the destroys ------------------------------------------------------------------------


@pytest.mark.parametrize("name", [example.name for example in EXAMPLES])
def test_destroyed_without_leftovers(pipeline: support.Pipeline, name: str) -> None:
    """Whatever the example created (anything named in its state) is gone after
    `terraform destroy`; KMS keys are pending deletion."""
    if name not in pipeline.runs:
        pytest.skip(f"{name} was not applied in this session")
    assert pipeline.destroyed(name) == {}, f"{name} left these behind"


def test_nothing_new_in_the_account(target, pipeline) -> None:
    """Once every example is destroyed the account holds no more than before the session:
    this also catches what no state names (a log group a service made, an orphan of a
    retried create)."""
    pipeline.close()
    new = support.left_behind(target, pipeline.baseline, wait_seconds=0 if target.is_twin else 120)
    assert not new, f"left in the account: {new}"
