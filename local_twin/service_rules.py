"""Service rules and account quotas that AWS enforces and moto does not, refused in AWS's words.

Each rule is checked where the stack's resources are created (the API call Terraform makes), cites
the AWS page it follows, and is tested with the case AWS refuses
(tests/integration/test_twin_service_rules.py, tests/unit/test_service_rules.py). The rules are
functions of the request and of what moto holds, never of a list that repeats the HCL.

Settings (environment variables of the twin's server):
- TWIN_LAMBDA_CONCURRENCY_QUOTA: the account's concurrent executions quota, default 1,000 (Lambda's
  default quota; new accounts may get less: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
"""

from __future__ import annotations

import functools
import os
import re
from typing import Any

CONCURRENCY_QUOTA_VARIABLE = "TWIN_LAMBDA_CONCURRENCY_QUOTA"
# "Concurrent executions: 1,000" is the default quota; "New AWS accounts have reduced concurrency and
# memory quotas" without a documented number, so a test of a new account sets the variable lower.
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
DEFAULT_CONCURRENCY_QUOTA = 1_000
# "You can reserve up to the Unreserved account concurrency value minus 100. The remaining 100 units of
# concurrency are for functions that aren't using reserved concurrency."
# https://docs.aws.amazon.com/lambda/latest/dg/configuring-concurrency.html
UNRESERVED_MINIMUM = 100
UNRESERVED_BELOW_MINIMUM = (
    "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution "
    f"below its minimum value of [{UNRESERVED_MINIMUM}]."
)


class Refused(Exception):
    """A request AWS refuses: `code` is the service's error code, `message` its text. Where AWS's
    documentation gives the text (reserved concurrency, DurableConfig's validation) it is AWS's word for
    word; where it gives only the rule (SnapStart, ElastiCache RBAC), the code is AWS's and the message
    says which documented rule was broken."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def install() -> None:
    """Patches moto, in the server process, before it serves its first request."""
    for rule in RULES:
        rule()


# ---- Lambda: reserved concurrency against the account's quota -------------------------------------


def account_concurrency_quota() -> int:
    return int(os.environ.get(CONCURRENCY_QUOTA_VARIABLE, DEFAULT_CONCURRENCY_QUOTA))


def check_reserved_concurrency(quota: int, reserved_by_others: int, requested: int) -> None:
    """PutFunctionConcurrency: the account keeps at least 100 unreserved."""
    if requested < 0:
        raise Refused(
            "InvalidParameterValueException",
            "1 validation error detected: Value at 'reservedConcurrentExecutions' failed to satisfy "
            "constraint: Member must have value greater than or equal to 0",
        )
    if quota - reserved_by_others - requested < UNRESERVED_MINIMUM:
        raise Refused("InvalidParameterValueException", UNRESERVED_BELOW_MINIMUM)


def _reserved_total(backend: Any, except_function: str | None = None) -> int:
    return sum(
        int(function.reserved_concurrency)
        for function in backend.list_functions()
        if function.reserved_concurrency and function.function_name != except_function
    )


def _lambda_error(refusal: Refused) -> Exception:
    from moto.awslambda.exceptions import LambdaClientError

    return LambdaClientError(refusal.code, refusal.message)


def lambda_reserved_concurrency_quota() -> None:
    from moto.awslambda.models import LambdaBackend

    def put_function_concurrency(self: Any, function_name: str, reserved_concurrency: str) -> str:
        function = self.get_function(function_name)
        try:
            check_reserved_concurrency(
                account_concurrency_quota(),
                _reserved_total(self, function.function_name),
                int(reserved_concurrency),
            )
        except Refused as refusal:
            raise _lambda_error(refusal) from refusal
        function.reserved_concurrency = reserved_concurrency
        return function.reserved_concurrency

    LambdaBackend.put_function_concurrency = put_function_concurrency


def lambda_account_settings() -> None:
    """GetAccountSettings (moto has none): the quota and what reserved concurrency leaves of it.
    https://docs.aws.amazon.com/lambda/latest/api/API_GetAccountSettings.html"""
    import json

    from moto.awslambda import urls
    from moto.awslambda.responses import LambdaResponse

    def get_account_settings(self: Any) -> tuple[int, dict[str, str], str]:
        backend = self.backend
        functions = list(backend.list_functions())
        quota = account_concurrency_quota()
        body = {
            "AccountLimit": {
                "TotalCodeSize": 80_530_636_800,  # 75 GB (gettingstarted-limits.html)
                "CodeSizeUnzipped": 262_144_000,
                "CodeSizeZipped": 52_428_800,
                "ConcurrentExecutions": quota,
                "UnreservedConcurrentExecutions": quota - _reserved_total(backend),
            },
            "AccountUsage": {
                "TotalCodeSize": sum(int(function.code_size or 0) for function in functions),
                "FunctionCount": len(functions),
            },
        }
        return 200, {}, json.dumps(body)

    LambdaResponse.get_account_settings = get_account_settings
    urls.url_paths[r"{0}/(?P<api_version>[^/]+)/account-settings/?$"] = LambdaResponse.dispatch


# ---- Lambda: SnapStart and durable configuration, at create, update and publish -----------------

# "SnapStart supports ... Java 11 and later, Python 3.12 and later, .NET 8 and later"; "SnapStart does not
# support provisioned concurrency, Amazon Elastic File System (Amazon EFS), or ephemeral storage greater
# than 512 MB"; "available in all commercial Regions except Asia Pacific (New Zealand) and Asia Pacific
# (Taipei)". https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html#snapstart-runtimes
SNAPSTART_MAX_EPHEMERAL_MB = 512
SNAPSTART_UNSUPPORTED_REGIONS = {"ap-southeast-6", "ap-east-2"}


def _snapstart_runtime_supported(runtime: str | None) -> bool:
    for family, minimum in (("python", (3, 12)), ("java", (11,)), ("dotnet", (8,))):
        match = re.fullmatch(rf"{family}(\d+)(?:\.(\d+))?(?:\.x)?", runtime or "")
        if match:
            version = tuple(int(part) for part in match.groups() if part is not None)
            return version >= minimum
    return False


def check_snapstart(configuration: dict[str, Any], region: str) -> None:
    """The function's configuration as it will be: Runtime, SnapStart, EphemeralStorage, FileSystemConfigs."""
    if (configuration.get("SnapStart") or {}).get("ApplyOn", "None") != "PublishedVersions":
        return
    runtime = configuration.get("Runtime")
    if region in SNAPSTART_UNSUPPORTED_REGIONS:
        raise Refused("InvalidParameterValueException", f"SnapStart is not supported in {region}.")
    if not _snapstart_runtime_supported(runtime):
        raise Refused(
            "InvalidParameterValueException", f"{runtime} is not supported for SnapStart enabled functions."
        )
    if int((configuration.get("EphemeralStorage") or {}).get("Size", 512)) > SNAPSTART_MAX_EPHEMERAL_MB:
        raise Refused(
            "InvalidParameterValueException",
            "SnapStart is not supported for functions with ephemeral storage greater than 512 MB.",
        )
    if configuration.get("FileSystemConfigs"):
        raise Refused(
            "InvalidParameterValueException", "SnapStart is not supported for functions with Amazon EFS."
        )


# DurableConfig's valid ranges: https://docs.aws.amazon.com/lambda/latest/api/API_DurableConfig.html
DURABLE_EXECUTION_TIMEOUT_RANGE = (1, 31_622_400)
DURABLE_RETENTION_DAYS_RANGE = (1, 90)


def check_durable_config(durable: dict[str, Any] | None) -> None:
    if not durable:
        return
    for field, (low, high), member in (
        ("ExecutionTimeout", DURABLE_EXECUTION_TIMEOUT_RANGE, "durableConfig.executionTimeout"),
        ("RetentionPeriodInDays", DURABLE_RETENTION_DAYS_RANGE, "durableConfig.retentionPeriodInDays"),
    ):
        if field in durable and not low <= int(durable[field]) <= high:
            raise Refused(
                "ValidationException",
                f"1 validation error detected: Value '{durable[field]}' at '{member}' failed to satisfy "
                f"constraint: Member must have value {'less' if int(durable[field]) > high else 'greater'} "
                f"than or equal to {high if int(durable[field]) > high else low}",
            )


def _current_configuration(function: Any) -> dict[str, Any]:
    kept = getattr(function, "twin_settings", {})  # emulations.lambda_configuration_round_trip
    return {
        "Runtime": function.run_time,
        "SnapStart": kept.get("SnapStart"),
        "EphemeralStorage": {"Size": function.ephemeral_storage},
        "FileSystemConfigs": getattr(function, "file_system_configs", None),
    }


def lambda_snapstart_and_durable_config() -> None:
    from moto.awslambda.models import LambdaBackend, LambdaFunction

    original_create = LambdaBackend.create_function
    original_update = LambdaFunction.update_configuration

    @functools.wraps(original_create)
    def create_function(self: Any, spec: dict[str, Any]) -> Any:
        try:
            check_snapstart(spec, self.region_name)
            check_durable_config(spec.get("DurableConfig"))
        except Refused as refusal:
            raise _lambda_error(refusal) from refusal
        return original_create(self, spec)

    @functools.wraps(original_update)
    def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        after = {**_current_configuration(self), **config_updates}
        try:
            check_snapstart(after, self.region)
            check_durable_config(config_updates.get("DurableConfig"))
        except Refused as refusal:
            raise _lambda_error(refusal) from refusal
        if "EphemeralStorage" in config_updates:  # moto's update drops it, so a later check would miss it
            self.ephemeral_storage = int(config_updates["EphemeralStorage"]["Size"])
        return original_update(self, config_updates)

    LambdaBackend.create_function = create_function
    LambdaFunction.update_configuration = update_configuration


# ---- ElastiCache: RBAC users and IAM authentication ---------------------------------------------


def check_elasticache_user(user_id: str, user_name: str, authentication_type: str | None) -> None:
    """CreateUser with IAM authentication: "the user ID and user name must be identical".
    https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth-iam.html#auth-iam-limits"""
    if authentication_type == "iam" and user_id != user_name:
        raise Refused(
            "InvalidParameterCombination",
            f"User ID {user_id} and user name {user_name} must be the same for IAM authentication.",
        )


def check_replication_group_rbac(user_group_ids: list[str], transit_encryption: bool) -> None:
    """Role-based access control needs encryption in transit: "To use RBAC, ... you must enable
    in-transit encryption". https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Clusters.RBAC.html"""
    if user_group_ids and not transit_encryption:
        raise Refused(
            "InvalidParameterCombination",
            "Encryption in transit must be enabled for the replication group to use user groups.",
        )


# "IAM authentication is available when using ElastiCache for Valkey 7.2 and above or Redis OSS 7.0 and
# above." https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth-iam.html#auth-iam-limits
IAM_AUTH_MINIMUM_VERSIONS = {"valkey": (7, 2), "redis": (7, 0)}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def check_iam_auth_engine(engine: str, version: str | None, iam_users: list[str]) -> None:
    """A replication group whose user groups hold IAM-authenticated users runs an engine that has
    IAM authentication."""
    minimum = IAM_AUTH_MINIMUM_VERSIONS.get((engine or "redis").lower())
    if not iam_users or minimum is None or not version:
        return
    if _version(version) < minimum:
        raise Refused(
            "InvalidParameterCombination",
            f"IAM authentication needs Valkey 7.2 or Redis OSS 7.0 or later; users {', '.join(iam_users)} "
            f"authenticate with IAM and the replication group runs {engine} {version}.",
        )


def _elasticache_error(refusal: Refused) -> Exception:
    from moto.elasticache.exceptions import ElastiCacheException

    return ElastiCacheException(refusal.code, refusal.message)


def elasticache_rbac() -> None:
    from moto.elasticache.responses import ElastiCacheResponse

    original_create_user = ElastiCacheResponse.create_user
    original_create_group = ElastiCacheResponse.create_replication_group

    @functools.wraps(original_create_user)
    def create_user(self: Any) -> Any:
        mode = self._get_params().get("AuthenticationMode") or {}
        try:
            check_elasticache_user(self._get_param("UserId"), self._get_param("UserName"), mode.get("Type"))
        except Refused as refusal:
            raise _elasticache_error(refusal) from refusal
        return original_create_user(self)

    @functools.wraps(original_create_group)
    def create_replication_group(self: Any) -> Any:
        transit = bool(self._get_bool_param("TransitEncryptionEnabled"))
        group_ids = list(self._get_param("UserGroupIds") or [])
        backend = self.elasticache_backend
        groups = getattr(backend, "twin_user_groups", {})  # emulations.elasticache_user_groups keeps them
        iam_users = sorted(
            {
                user_id
                for group_id in group_ids
                for user_id in groups.get(group_id, {}).get("UserIds", [])
                if getattr(backend.users.get(user_id), "authentication_type", None) == "iam"
            }
        )
        try:
            check_replication_group_rbac(group_ids, transit)
            check_iam_auth_engine(
                self._get_param("Engine") or "redis", self._get_param("EngineVersion"), iam_users
            )
        except Refused as refusal:
            raise _elasticache_error(refusal) from refusal
        return original_create_group(self)

    ElastiCacheResponse.create_user = create_user
    ElastiCacheResponse.create_replication_group = create_replication_group


RULES = (
    lambda_reserved_concurrency_quota,
    lambda_account_settings,
    lambda_snapstart_and_durable_config,
    elasticache_rbac,
)
