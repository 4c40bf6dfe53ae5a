"""What moto lacks for `terraform apply` of this project's stack, emulated in the twin's server.

Each emulation is small, tested (tests/integration/test_twin_emulations.py) and listed in
docs/twin.md with the real service's behaviour beside it.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any


def install() -> None:
    """Patches moto, in the server process, before it serves its first request."""
    for emulation in EMULATIONS:
        emulation()


# ---- Step Functions ----------------------------------------------------------------------


def _definition_diagnostics(definition: str | None) -> list[dict[str, str]]:
    """The errors Step Functions reports for a definition (a subset: JSON, StartAt, Type, End)."""

    def error(code: str, message: str, location: str = "") -> dict[str, str]:
        found = {"severity": "ERROR", "code": code, "message": message}
        if location:
            found["location"] = location
        return found

    if not definition:
        return [error("MISSING_DESCRIPTION", "The definition is empty.")]
    try:
        document = json.loads(definition)
    except ValueError as exc:
        return [error("INVALID_JSON_DESCRIPTION", f"Invalid JSON: {exc}")]
    states = document.get("States") if isinstance(document, dict) else None
    if not isinstance(states, dict) or not states:
        return [error("SCHEMA_VALIDATION_FAILED", "The field 'States' is required.", "/States")]
    errors = []
    if document.get("StartAt") not in states:
        errors.append(
            error("SCHEMA_VALIDATION_FAILED", "'StartAt' must name a state in 'States'.", "/StartAt")
        )
    for name, state in states.items():
        if not isinstance(state, dict) or "Type" not in state:
            errors.append(error("SCHEMA_VALIDATION_FAILED", "Every state needs a 'Type'.", f"/States/{name}"))
    terminal = [
        s
        for s in states.values()
        if isinstance(s, dict) and (s.get("End") is True or s.get("Type") in ("Succeed", "Fail"))
    ]
    if not terminal:
        errors.append(error("MISSING_END_STATE", "The workflow has no terminal state."))
    return errors


def sfn_validate_state_machine_definition() -> None:
    """ValidateStateMachineDefinition (the aws provider calls it on every plan that changes a
    definition). Step Functions answers result OK or FAIL with ERROR diagnostics instead of
    raising; the twin checks JSON syntax, StartAt, each state's Type and a terminal state."""
    from moto.core.responses import ActionResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def validate_state_machine_definition(self: Any) -> ActionResult:
        diagnostics = _definition_diagnostics(self._get_param("definition"))
        return ActionResult(
            {"result": "FAIL" if diagnostics else "OK", "diagnostics": diagnostics, "truncated": False}
        )

    StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition


def sfn_list_state_machine_versions() -> None:
    """ListStateMachineVersions (the aws provider reads it on every refresh). Step Functions
    lists a state machine's published versions, newest first, and raises
    StateMachineDoesNotExist for an unknown ARN."""
    from moto.core.responses import ActionResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def list_state_machine_versions(self: Any) -> ActionResult:
        machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
        versions = sorted(machine.versions.values(), key=lambda v: v.version, reverse=True)
        return ActionResult(
            {
                "stateMachineVersions": [
                    {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date} for v in versions
                ]
            }
        )

    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions


# ---- Lambda ------------------------------------------------------------------------------

_LAMBDA_KEPT_SETTINGS = ("DeadLetterConfig", "LoggingConfig", "SnapStart")


def lambda_configuration_round_trip() -> None:
    """DeadLetterConfig, LoggingConfig and SnapStart as set. Lambda returns what
    CreateFunction / UpdateFunctionConfiguration set (LoggingConfig defaults to Text logs in
    /aws/lambda/<name>; SnapStart's OptimizationStatus is On for published versions); moto
    drops the first two and hard-codes SnapStart off, so every re-plan showed drift."""
    from moto.awslambda.models import LambdaFunction

    original_init = LambdaFunction.__init__
    original_get = LambdaFunction.get_configuration
    original_update = LambdaFunction.update_configuration

    @functools.wraps(original_init)
    def init(self: Any, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        self.twin_settings = {key: spec[key] for key in _LAMBDA_KEPT_SETTINGS if spec.get(key)}

    @functools.wraps(original_get)
    def get_configuration(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original_get(self, *args, **kwargs)
        settings = getattr(self, "twin_settings", {})
        if "DeadLetterConfig" in settings:
            config["DeadLetterConfig"] = settings["DeadLetterConfig"]
        config["LoggingConfig"] = {
            "LogFormat": "Text",
            "LogGroup": f"/aws/lambda/{self.function_name}",
            **settings.get("LoggingConfig", {}),
        }
        apply_on = settings.get("SnapStart", {}).get("ApplyOn", "None")
        published = str(self.version) != "$LATEST"
        config["SnapStart"] = {
            "ApplyOn": apply_on,
            "OptimizationStatus": "On" if apply_on == "PublishedVersions" and published else "Off",
        }
        return config

    @functools.wraps(original_update)
    def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        settings = dict(getattr(self, "twin_settings", {}))
        for key in _LAMBDA_KEPT_SETTINGS:
            if key in config_updates:
                settings[key] = config_updates[key]
                self.code_or_config_updated = True
        self.twin_settings = settings
        return original_update(self, config_updates)

    LambdaFunction.__init__ = init
    LambdaFunction.get_configuration = get_configuration
    LambdaFunction.update_configuration = update_configuration


def lambda_vpc_id_of_subnets() -> None:
    """VpcConfig.VpcId. Lambda reports the VPC of the function's subnets; moto hard-codes
    vpc-123abc, and the aws provider's replace_security_groups_on_destroy then looks for
    that VPC's default security group, so destroy failed."""
    from moto.awslambda.models import LambdaFunction
    from moto.ec2.exceptions import InvalidSubnetIdError
    from moto.ec2.models import ec2_backends

    def vpc_config(self: Any) -> dict[str, Any] | None:
        if not self._vpc_config:
            return None
        config = dict(self._vpc_config)
        vpc_id = ""
        for subnet_id in config.get("SubnetIds") or []:
            try:
                vpc_id = ec2_backends[self.account_id][self.region].get_subnet(subnet_id).vpc_id
                break
            except InvalidSubnetIdError:
                continue
        config["VpcId"] = vpc_id
        return config

    LambdaFunction.vpc_config = property(vpc_config)


def lambda_public_layers() -> None:
    """Layers published by other accounts (AWS's public Powertools layer). Lambda lets any
    account use a layer version whose owner shared it publicly; moto knows only layers
    published in its own backend and refused the function. The twin accepts another
    account's layer ARN as given (its code is not downloaded: the local workers run the
    function's own zip with the project's dependencies)."""
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction._get_layers_data

    @functools.wraps(original)
    def get_layers_data(self: Any, layer_versions_arns: list[str]) -> list[dict[str, Any]]:
        own = [arn for arn in layer_versions_arns if arn.split(":")[4] == self.account_id]
        found = {entry["Arn"]: entry for entry in original(self, own)}
        return [found.get(arn, {"Arn": arn, "CodeSize": 0}) for arn in layer_versions_arns]

    LambdaFunction._get_layers_data = get_layers_data


# ---- SSM ---------------------------------------------------------------------------------

FIS_EXTENSION_PARAMETER = "/aws/service/fis/lambda-extension/AWS-FIS-extension-{architecture}/1.x.x"
# The account AWS publishes the extension from differs by region (AWS's list of "AWS FIS Lambda
# extension ARNs"); the twin stands in its own, since it never runs the extension's code.
FIS_EXTENSION_ACCOUNT = "000000000000"


def ssm_fis_extension_parameters() -> None:
    """AWS's public parameters for the FIS Lambda extension layer
    (https://docs.aws.amazon.com/fis/latest/userguide/actions-lambda-extension-arns.html):
    `/aws/service/fis/lambda-extension/AWS-FIS-extension-<arm64|x86_64>/1.x.x` holds the layer
    version's ARN in every region. moto seeds some of AWS's public parameters (AMIs, regions) but
    not these, and modules/fault-injection reads one at plan. The twin answers with an ARN of the
    documented shape, aws-fis-extension-<architecture> published by another account."""
    from moto.ssm.models import Parameter, ParameterDict

    original = ParameterDict._check_loading_status

    @functools.wraps(original)
    def check_loading_status(self: Any, key: str) -> None:
        original(self, key)
        for architecture in ("arm64", "x86_64"):
            name = FIS_EXTENSION_PARAMETER.format(architecture=architecture)
            if str(key or "").startswith(name) and not dict.get(self, name):
                arn = f"arn:aws:lambda:{self.region_name}:{FIS_EXTENSION_ACCOUNT}:layer:aws-fis-extension-{architecture}:1"
                # Beside moto's own seeding: straight into the dict, not through __getitem__ again.
                defaultdict.__getitem__(self, name).append(
                    Parameter(
                        account_id=self.account_id,
                        name=name,
                        value=arn,
                        parameter_type="String",
                        description=None,
                        allowed_pattern=None,
                        keyid=None,
                        last_modified_date=0.0,
                        version=1,
                        data_type="text",
                    )
                )

    ParameterDict._check_loading_status = check_loading_status


# ---- IAM ---------------------------------------------------------------------------------


def iam_aws_managed_policies() -> None:
    """AWS managed policies (arn:aws:iam::aws:policy/...), such as
    AWSLambdaVPCAccessExecutionRole, exist in every account and can be attached to roles;
    moto creates them only when its iam.load_aws_managed_policies option is on."""
    from moto.core.config import default_user_config

    default_user_config.setdefault("iam", {})["load_aws_managed_policies"] = True


# ---- EC2 ---------------------------------------------------------------------------------


def ec2_rule_descriptions() -> None:
    """Security group rule descriptions whatever the rule's peer. EC2's
    DescribeSecurityGroupRules returns the Description of a rule to a CIDR, a security group
    or a prefix list alike; moto kept it only for CIDR rules, so every
    aws_vpc_security_group_*_rule to a group or prefix list showed drift."""
    from moto.ec2.models.security_groups import SecurityGroupRule

    original_init = SecurityGroupRule.__init__

    @functools.wraps(original_init)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        prefix_list = kwargs.get("prefix_list_id", args[7] if len(args) > 7 else None)
        self.twin_prefix_list_description = (prefix_list or {}).get("Description")

    def description(self: Any) -> str | None:
        return (
            self.ip_range.get("Description")
            or self.source_group.get("Description")
            or getattr(self, "twin_prefix_list_description", None)
        )

    SecurityGroupRule.__init__ = init
    SecurityGroupRule.description = property(description)


def ec2_unknown_rule_id_error() -> None:
    """RevokeSecurityGroupIngress/Egress with a SecurityGroupRuleIds entry the group no longer
    has. EC2 answers InvalidSecurityGroupRuleId.NotFound, which the aws provider takes as
    "already revoked" when it clears a default security group; moto answered
    InvalidPermission.NotFound, which failed the apply whenever another request had revoked
    the rule first."""
    from moto.ec2.exceptions import InvalidSecurityGroupRuleIdNotFoundError
    from moto.ec2.models.security_groups import SecurityGroupBackend

    def checked(method: Any, direction: str) -> Any:
        @functools.wraps(method)
        def revoke(self: Any, group_name_or_id: str, *args: Any, **kwargs: Any) -> Any:
            rule_ids = kwargs.get("security_rule_ids") or []
            group = self.get_security_group_by_name_or_id(group_name_or_id, kwargs.get("vpc_id"))
            if group is not None:
                known = {rule.id for rule in getattr(group, direction)}
                for rule_id in rule_ids:
                    if rule_id not in known:
                        raise InvalidSecurityGroupRuleIdNotFoundError(rule_id)
            return method(self, group_name_or_id, *args, **kwargs)

        return revoke

    SecurityGroupBackend.revoke_security_group_ingress = checked(
        SecurityGroupBackend.revoke_security_group_ingress, "ingress_rules"
    )
    SecurityGroupBackend.revoke_security_group_egress = checked(
        SecurityGroupBackend.revoke_security_group_egress, "egress_rules"
    )


# ---- ElastiCache -------------------------------------------------------------------------


def _elasticache_fault(code: str, message: str) -> Exception:
    from moto.elasticache.exceptions import ElastiCacheException

    return ElastiCacheException(code, message)


def _twin_store(backend: Any, name: str) -> dict[str, dict[str, Any]]:
    """A dict of emulated resources kept on moto's backend (one per account and region)."""
    if not hasattr(backend, name):
        setattr(backend, name, {})
    return getattr(backend, name)


def elasticache_user_groups() -> None:
    """Create/Describe/Modify/DeleteUserGroup. ElastiCache keeps RBAC user groups that name
    their users (one must be called "default"), lists the caches that use each, reports them
    in each user's UserGroupIds, and forgets a deleted group (UserGroupNotFound after)."""
    from moto.core.responses import ActionResult
    from moto.elasticache.responses import ElastiCacheResponse

    def groups(self: Any) -> dict[str, dict[str, Any]]:
        return _twin_store(self.elasticache_backend, "twin_user_groups")

    def view(self: Any, group: dict[str, Any], status: str | None = None) -> dict[str, Any]:
        backend = self.elasticache_backend
        group_id = group["UserGroupId"]
        replication_groups = [
            rg.replication_group_id
            for rg in backend.replication_groups.values()
            if group_id in (rg.user_group_ids or [])
        ]
        serverless = [
            cache["ServerlessCacheName"]
            for cache in _twin_store(backend, "twin_serverless_caches").values()
            if cache.get("UserGroupId") == group_id
        ]
        return {
            **group,
            "Status": status or group["Status"],
            "ReplicationGroups": replication_groups,
            "ServerlessCaches": serverless,
        }

    def link_users(self: Any, group_id: str, user_ids: list[str], linked: bool) -> None:
        for user_id in user_ids:
            user = self.elasticache_backend.users.get(user_id)
            if user is None:
                continue
            if linked and group_id not in user.user_group_ids:
                user.user_group_ids.append(group_id)
            if not linked and group_id in user.user_group_ids:
                user.user_group_ids.remove(group_id)

    def check_users(self: Any, user_ids: list[str]) -> None:
        users = self.elasticache_backend.users
        for user_id in user_ids:
            if user_id not in users:
                raise _elasticache_fault("UserNotFound", f"User {user_id} not found.")
        if not any(users[user_id].name == "default" for user_id in user_ids):
            raise _elasticache_fault(
                "DefaultUserRequired", "User group needs to contain a user named default."
            )

    def find(self: Any, group_id: str) -> dict[str, Any]:
        if group_id not in groups(self):
            raise _elasticache_fault("UserGroupNotFound", f"User group {group_id} not found.")
        return groups(self)[group_id]

    def create_user_group(self: Any) -> ActionResult:
        group_id = self._get_param("UserGroupId")
        user_ids = list(self._get_param("UserIds") or [])
        if group_id in groups(self):
            raise _elasticache_fault("UserGroupAlreadyExists", f"User group {group_id} already exists.")
        check_users(self, user_ids)
        backend = self.elasticache_backend
        arn = f"arn:aws:elasticache:{backend.region_name}:{backend.account_id}:usergroup:{group_id}"
        group = {
            "UserGroupId": group_id,
            "Status": "active",
            "Engine": self._get_param("Engine"),
            "UserIds": user_ids,
            "MinimumEngineVersion": "6.0",
            "ARN": arn,
        }
        groups(self)[group_id] = group
        link_users(self, group_id, user_ids, linked=True)
        tags = self._get_param("Tags") or []
        if tags:
            backend.tagging_service.tag_resource(arn, tags)
        return ActionResult(view(self, group, "creating"))

    def describe_user_groups(self: Any) -> ActionResult:
        group_id = self._get_param("UserGroupId")
        found = [find(self, group_id)] if group_id else list(groups(self).values())
        return ActionResult({"UserGroups": [view(self, group) for group in found]})

    def modify_user_group(self: Any) -> ActionResult:
        group = find(self, self._get_param("UserGroupId"))
        added = list(self._get_param("UserIdsToAdd") or [])
        removed = list(self._get_param("UserIdsToRemove") or [])
        user_ids = [u for u in group["UserIds"] if u not in removed] + [
            u for u in added if u not in group["UserIds"]
        ]
        check_users(self, user_ids)
        group["UserIds"] = user_ids
        link_users(self, group["UserGroupId"], removed, linked=False)
        link_users(self, group["UserGroupId"], added, linked=True)
        return ActionResult(view(self, group, "modifying"))

    def delete_user_group(self: Any) -> ActionResult:
        group = find(self, self._get_param("UserGroupId"))
        found = view(self, group, "deleting")
        if found["ReplicationGroups"] or found["ServerlessCaches"]:
            raise _elasticache_fault("InvalidUserGroupState", f"User group {group['UserGroupId']} is in use.")
        del groups(self)[group["UserGroupId"]]
        link_users(self, group["UserGroupId"], group["UserIds"], linked=False)
        return ActionResult(found)

    ElastiCacheResponse.create_user_group = create_user_group
    ElastiCacheResponse.describe_user_groups = describe_user_groups
    ElastiCacheResponse.modify_user_group = modify_user_group
    ElastiCacheResponse.delete_user_group = delete_user_group


def elasticache_cache_parameter_groups() -> None:
    """Create/Describe/Modify/DeleteCacheParameterGroup and DescribeCacheParameters.
    ElastiCache keeps named parameter groups of a family; DescribeCacheParameters with
    Source=user lists the values set by ModifyCacheParameterGroup."""
    from moto.core.responses import ActionResult, EmptyResult
    from moto.elasticache.responses import ElastiCacheResponse

    def groups(self: Any) -> dict[str, dict[str, Any]]:
        return _twin_store(self.elasticache_backend, "twin_parameter_groups")

    def find(self: Any, name: str) -> dict[str, Any]:
        if name not in groups(self):
            raise _elasticache_fault("CacheParameterGroupNotFound", f"CacheParameterGroup {name} not found.")
        return groups(self)[name]

    def create_cache_parameter_group(self: Any) -> ActionResult:
        name = self._get_param("CacheParameterGroupName")
        if name in groups(self):
            raise _elasticache_fault(
                "CacheParameterGroupAlreadyExists", f"CacheParameterGroup {name} already exists."
            )
        backend = self.elasticache_backend
        arn = f"arn:aws:elasticache:{backend.region_name}:{backend.account_id}:parametergroup:{name}"
        group = {
            "CacheParameterGroupName": name,
            "CacheParameterGroupFamily": self._get_param("CacheParameterGroupFamily"),
            "Description": self._get_param("Description"),
            "IsGlobal": False,
            "ARN": arn,
            "twin_parameters": {},
        }
        groups(self)[name] = group
        tags = self._get_param("Tags") or []
        if tags:
            backend.tagging_service.tag_resource(arn, tags)
        return ActionResult({"CacheParameterGroup": public(group)})

    def public(group: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in group.items() if not k.startswith("twin_")}

    def describe_cache_parameter_groups(self: Any) -> ActionResult:
        name = self._get_param("CacheParameterGroupName")
        found = [find(self, name)] if name else list(groups(self).values())
        return ActionResult({"CacheParameterGroups": [public(group) for group in found]})

    def describe_cache_parameters(self: Any) -> ActionResult:
        group = find(self, self._get_param("CacheParameterGroupName"))
        parameters = [
            {"ParameterName": key, "ParameterValue": value, "Source": "user", "IsModifiable": True}
            for key, value in sorted(group["twin_parameters"].items())
        ]
        return ActionResult({"Parameters": parameters})

    def modify_cache_parameter_group(self: Any) -> ActionResult:
        name = self._get_param("CacheParameterGroupName")
        group = find(self, name)
        for pair in self._get_param("ParameterNameValues") or []:
            group["twin_parameters"][pair["ParameterName"]] = pair["ParameterValue"]
        return ActionResult({"CacheParameterGroupName": name})

    def reset_cache_parameter_group(self: Any) -> ActionResult:
        name = self._get_param("CacheParameterGroupName")
        group = find(self, name)
        if self._get_bool_param("ResetAllParameters"):
            group["twin_parameters"].clear()
        for pair in self._get_param("ParameterNameValues") or []:
            group["twin_parameters"].pop(pair["ParameterName"], None)
        return ActionResult({"CacheParameterGroupName": name})

    def delete_cache_parameter_group(self: Any) -> ActionResult:
        name = self._get_param("CacheParameterGroupName")
        find(self, name)
        del groups(self)[name]
        return EmptyResult()

    ElastiCacheResponse.create_cache_parameter_group = create_cache_parameter_group
    ElastiCacheResponse.describe_cache_parameter_groups = describe_cache_parameter_groups
    ElastiCacheResponse.describe_cache_parameters = describe_cache_parameters
    ElastiCacheResponse.modify_cache_parameter_group = modify_cache_parameter_group
    ElastiCacheResponse.reset_cache_parameter_group = reset_cache_parameter_group
    ElastiCacheResponse.delete_cache_parameter_group = delete_cache_parameter_group


def elasticache_serverless_caches() -> None:
    """Create/Describe/Modify/DeleteServerlessCache. ElastiCache Serverless keeps the cache's
    settings, serves a TLS endpoint on 6379 and a reader endpoint on 6380, becomes available,
    and after deletion answers ServerlessCacheNotFoundFault."""
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.elasticache.responses import ElastiCacheResponse
    from moto.moto_api._internal import mock_random

    settable = (
        "Description",
        "CacheUsageLimits",
        "SecurityGroupIds",
        "UserGroupId",
        "SnapshotRetentionLimit",
        "DailySnapshotTime",
    )

    def caches(self: Any) -> dict[str, dict[str, Any]]:
        return _twin_store(self.elasticache_backend, "twin_serverless_caches")

    def find(self: Any, name: str) -> dict[str, Any]:
        if name not in caches(self):
            raise _elasticache_fault("ServerlessCacheNotFoundFault", f"Serverless cache {name} not found.")
        return caches(self)[name]

    def create_serverless_cache(self: Any) -> ActionResult:
        params = self._get_params()
        name = params["ServerlessCacheName"]
        if name in caches(self):
            raise _elasticache_fault(
                "ServerlessCacheAlreadyExistsFault", f"Serverless cache {name} already exists."
            )
        group_id = params.get("UserGroupId")
        if group_id and group_id not in _twin_store(self.elasticache_backend, "twin_user_groups"):
            raise _elasticache_fault("UserGroupNotFound", f"User group {group_id} not found.")
        backend = self.elasticache_backend
        host = (
            f"{name}-{mock_random.get_random_string(6, lower_case=True)}.serverless.use1.cache.amazonaws.com"
        )
        major = params.get("MajorEngineVersion") or "8"
        cache = {
            "ServerlessCacheName": name,
            "CreateTime": utcnow(),
            "Status": "available",
            "Engine": params.get("Engine"),
            "MajorEngineVersion": major,
            "FullEngineVersion": f"{major}.0",
            "KmsKeyId": params.get("KmsKeyId"),
            "SubnetIds": list(params.get("SubnetIds") or []),
            "Endpoint": {"Address": host, "Port": 6379},
            "ReaderEndpoint": {"Address": host, "Port": 6380},
            "ARN": f"arn:aws:elasticache:{backend.region_name}:{backend.account_id}:serverlesscache:{name}",
            "SnapshotRetentionLimit": 0,
            "DailySnapshotTime": "00:00",
            "SecurityGroupIds": [],
            "Description": "",
        }
        cache.update({key: params[key] for key in settable if params.get(key) is not None})
        caches(self)[name] = cache
        if params.get("Tags"):
            backend.tagging_service.tag_resource(cache["ARN"], params["Tags"])
        return ActionResult({"ServerlessCache": {**cache, "Status": "creating"}})

    def describe_serverless_caches(self: Any) -> ActionResult:
        name = self._get_param("ServerlessCacheName")
        found = [find(self, name)] if name else list(caches(self).values())
        return ActionResult({"ServerlessCaches": found})

    def modify_serverless_cache(self: Any) -> ActionResult:
        params = self._get_params()
        cache = find(self, params["ServerlessCacheName"])
        cache.update({key: params[key] for key in settable if params.get(key) is not None})
        if params.get("RemoveUserGroup"):
            cache.pop("UserGroupId", None)
        return ActionResult({"ServerlessCache": {**cache, "Status": "modifying"}})

    def delete_serverless_cache(self: Any) -> ActionResult:
        cache = find(self, self._get_param("ServerlessCacheName"))
        del caches(self)[cache["ServerlessCacheName"]]
        return ActionResult({"ServerlessCache": {**cache, "Status": "deleting"}})

    ElastiCacheResponse.create_serverless_cache = create_serverless_cache
    ElastiCacheResponse.describe_serverless_caches = describe_serverless_caches
    ElastiCacheResponse.modify_serverless_cache = modify_serverless_cache
    ElastiCacheResponse.delete_serverless_cache = delete_serverless_cache


def elasticache_delete_cache_subnet_group() -> None:
    """DeleteCacheSubnetGroup. ElastiCache deletes an unused subnet group (CacheSubnetGroupInUse
    while a replication group uses it; CacheSubnetGroupNotFoundFault when unknown)."""
    from moto.core.responses import EmptyResult
    from moto.elasticache.responses import ElastiCacheResponse

    def delete_cache_subnet_group(self: Any) -> EmptyResult:
        name = self._get_param("CacheSubnetGroupName")
        backend = self.elasticache_backend
        if name not in backend.cache_subnet_groups:
            raise _elasticache_fault("CacheSubnetGroupNotFoundFault", f"CacheSubnetGroup {name} not found.")
        if any(rg.cache_subnet_group_name == name for rg in backend.replication_groups.values()):
            raise _elasticache_fault("CacheSubnetGroupInUse", f"CacheSubnetGroup {name} is in use.")
        del backend.cache_subnet_groups[name]
        return EmptyResult()

    ElastiCacheResponse.delete_cache_subnet_group = delete_cache_subnet_group


def elasticache_replication_group_members() -> None:
    """A replication group's member cache clusters, and deletion that completes.

    ElastiCache creates one cache cluster per node (<group>-001, ...), NumCacheClusters of them
    with cluster mode disabled (moto made one unless ReplicasPerNodeGroup was given, so a
    multi-AZ group's second plan wanted its replica again), visible through
    DescribeCacheClusters with the group's node type, engine, parameter group, subnet group,
    security groups, windows and encryption settings (the aws provider reads
    at_rest_encryption_enabled, transit_encryption_mode, parameter_group_name and
    security_group_ids from the first one); moto created none. DeleteReplicationGroup
    answers "deleting" and the group and its clusters disappear minutes later
    (ReplicationGroupNotFoundFault); moto kept the group "deleting" forever."""
    from moto.elasticache.models import CacheCluster, ElastiCacheBackend, ReplicationGroup

    original_members = ReplicationGroup._set_node_members_clusters_disabled
    original_create = ElastiCacheBackend.create_replication_group
    original_delete = ElastiCacheBackend.delete_replication_group

    def member(backend: Any, group: Any, cluster_id: str) -> Any:
        # Every constructor argument, None unless the group says otherwise.
        settings: dict[str, Any] = dict.fromkeys(list(inspect.signature(CacheCluster).parameters))
        settings.update(
            account_id=backend.account_id,
            region_name=backend.region_name,
            cache_cluster_id=cluster_id,
            cache_node_type=group.cache_node_type,
            replication_group_id=group.replication_group_id,
            engine=group.engine,
            engine_version=group.engine_version,
            cache_parameter_group_name=group.cache_parameter_group_name,
            cache_subnet_group_name=group.cache_subnet_group_name,
            transit_encryption_enabled=group.transit_encryption_enabled,
            preferred_maintenance_window=group.preferred_maintenance_window,
            port=group.port,
            auto_minor_version_upgrade=group.auto_minor_version_upgrade,
            snapshot_retention_limit=group.snapshot_retention_limit,
            snapshot_window=group.snapshot_window,
            security_group_ids=group.security_group_ids,
            tags=[],
            log_delivery_configurations=[],
        )
        cluster = CacheCluster(**settings)
        cluster.replication_group_id = group.replication_group_id
        cluster.num_cache_nodes = 1
        cluster.snapshot_window = group.snapshot_window
        cluster.at_rest_encryption_enabled = group.at_rest_encryption_enabled
        cluster.transit_encryption_mode = group.transit_encryption_mode
        cluster.cache_parameter_group = {
            "CacheParameterGroupName": group.cache_parameter_group_name,
            "ParameterApplyStatus": "in-sync",
        }
        cluster.security_groups = [
            {"SecurityGroupId": group_id, "Status": "active"} for group_id in group.security_group_ids or []
        ]
        cluster.replication_group_log_delivery_enabled = bool(group.log_delivery_configurations)
        return cluster

    @functools.wraps(original_create)
    def create_replication_group(self: Any, *args: Any, **kwargs: Any) -> Any:
        group = original_create(self, *args, **kwargs)
        for cluster_id in group.member_clusters:
            self.cache_clusters[cluster_id] = member(self, group, cluster_id)
        return group

    @functools.wraps(original_delete)
    def delete_replication_group(self: Any, replication_group_id: str, *args: Any, **kwargs: Any) -> Any:
        existing = self.replication_groups.get(replication_group_id)
        members = list(existing.member_clusters) if existing is not None else []
        group = original_delete(self, replication_group_id, *args, **kwargs)
        self.replication_groups.pop(replication_group_id, None)
        for cluster_id in members:
            self.cache_clusters.pop(cluster_id, None)
        return group

    @functools.wraps(original_members)
    def set_members(self: Any, *args: Any, **kwargs: Any) -> None:
        # moto counts the nodes from ReplicasPerNodeGroup alone; NumCacheClusters says the same.
        if not kwargs.get("replicas_per_node_group"):
            kwargs["replicas_per_node_group"] = max(0, (kwargs.get("num_cache_clusters") or 1) - 1)
        original_members(self, *args, **kwargs)

    ReplicationGroup._set_node_members_clusters_disabled = set_members
    ElastiCacheBackend.create_replication_group = create_replication_group
    ElastiCacheBackend.delete_replication_group = delete_replication_group


def elasticache_tags_on_every_arn() -> None:
    """ListTagsForResource and friends on user group, parameter group and serverless cache
    ARNs, which ElastiCache tags like any other; moto's ARN check knew only five kinds."""
    import re

    from moto.elasticache.models import ElastiCacheBackend

    original_init = ElastiCacheBackend.__init__

    @functools.wraps(original_init)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.arn_regex = re.compile(
            r"^arn:aws:elasticache:.*:[0-9]*:(cluster|snapshot|subnetgroup|replicationgroup|user"
            r"|usergroup|parametergroup|serverlesscache):.*$"
        )

    ElastiCacheBackend.__init__ = init


# ---- CloudWatch Logs ---------------------------------------------------------------------


def logs_query_definitions() -> None:
    """Put/Describe/DeleteQueryDefinition (saved Logs Insights queries, which
    modules/observability creates). CloudWatch Logs keeps each saved query by id with its name,
    query string and log groups: Put without an id creates one (a new UUID), Put with an id
    replaces that query, Describe lists them by name prefix (sorted by name, paged by
    maxResults/nextToken), Delete answers success, and an unknown id is ResourceNotFoundException.
    moto has none of the three."""
    import time
    import uuid

    from moto.logs.exceptions import InvalidParameterException, ResourceNotFoundException
    from moto.logs.responses import LogsResponse

    def definitions(self: Any) -> dict[str, dict[str, Any]]:
        return _twin_store(self.logs_backend, "twin_query_definitions")

    def put_query_definition(self: Any) -> str:
        name = self._get_param("name")
        query_string = self._get_param("queryString")
        if not name or not query_string:
            raise InvalidParameterException("name and queryString are required.")
        definition_id = self._get_param("queryDefinitionId")
        if definition_id and definition_id not in definitions(self):
            raise ResourceNotFoundException("The specified query definition does not exist.")
        definition_id = definition_id or str(uuid.uuid4())
        definitions(self)[definition_id] = {
            "queryLanguage": self._get_param("queryLanguage") or "CWLI",
            "queryDefinitionId": definition_id,
            "name": name,
            "queryString": query_string,
            "lastModified": int(time.time() * 1000),
            "logGroupNames": list(self._get_param("logGroupNames") or []),
        }
        return json.dumps({"queryDefinitionId": definition_id})

    def describe_query_definitions(self: Any) -> str:
        prefix = self._get_param("queryDefinitionNamePrefix") or ""
        language = self._get_param("queryLanguage")
        found = sorted(
            (
                d
                for d in definitions(self).values()
                if d["name"].startswith(prefix) and language in (None, d["queryLanguage"])
            ),
            key=lambda d: (d["name"], d["queryDefinitionId"]),
        )
        start = int(self._get_param("nextToken") or 0)
        size = int(self._get_param("maxResults") or 1000)
        page = found[start : start + size]
        answer: dict[str, Any] = {"queryDefinitions": page}
        if start + size < len(found):
            answer["nextToken"] = str(start + size)
        return json.dumps(answer)

    def delete_query_definition(self: Any) -> str:
        definition_id = self._get_param("queryDefinitionId")
        if definitions(self).pop(definition_id, None) is None:
            raise ResourceNotFoundException("The specified query definition does not exist.")
        return json.dumps({"success": True})

    LogsResponse.put_query_definition = put_query_definition
    LogsResponse.describe_query_definitions = describe_query_definitions
    LogsResponse.delete_query_definition = delete_query_definition


EMULATIONS: tuple[Callable[[], None], ...] = (
    sfn_validate_state_machine_definition,
    sfn_list_state_machine_versions,
    lambda_configuration_round_trip,
    lambda_vpc_id_of_subnets,
    lambda_public_layers,
    iam_aws_managed_policies,
    ec2_rule_descriptions,
    ec2_unknown_rule_id_error,
    elasticache_user_groups,
    elasticache_cache_parameter_groups,
    elasticache_serverless_caches,
    elasticache_delete_cache_subnet_group,
    elasticache_replication_group_members,
    elasticache_tags_on_every_arn,
    logs_query_definitions,
    ssm_fis_extension_parameters,
)
