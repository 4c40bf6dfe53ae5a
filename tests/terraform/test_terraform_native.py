"""`terraform validate` of every root and `terraform test` per module and for the stack.

Everything runs through tools.tfrun: on its build/ copy of the tree (with the 6.x->5.100
rewrites where only aws 5.100 can be installed) and with the project's CLI config. A
machine without terraform skips these tests and says how to install it; one with a
terraform older than 1.10 fails them.

The commands run once per session, two at a time (a root's init and commands never
overlap), and each test waits for its own. tfrun keeps every root's .terraform under
build/, so re-inits are quick.

The stack's tests (terraform/tests) plan it with each environment's values; the last
tests here check that those values are the environments' terraform.tfvars, and read the
plans for what the stack's own assertions cannot reach (resources inside its modules).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools import hcl, tfrun

REPO = tfrun.REPO_ROOT
STACK = "terraform"
STACK_TESTS = REPO / STACK / "tests"
ROOTS = [path.relative_to(REPO).as_posix() for path in tfrun.roots(REPO) if any(path.glob("*.tf"))]
MODULES = sorted(path for path in (REPO / "modules").iterdir() if (path / "tests").is_dir())
TEST_ROOTS = [*(path.relative_to(REPO).as_posix() for path in MODULES), STACK]
ENVIRONMENTS = sorted(path.parent.name for path in (REPO / "environments").glob("*/terraform.tfvars"))
# Arguments of an environment's `module "shop"` that `make plan` passes, not terraform.tfvars.
BUILD_ARGUMENTS = {"function_package_zip", "dependencies_layer_zip"}
WORKERS = max(1, min(2, os.cpu_count() or 1))


# --- running terraform ------------------------------------------------------------


@dataclass
class StackPlans:
    """What `terraform test -json -verbose` of the stack printed: its messages and, per run
    block, the planned values of every resource (provider schemas dropped)."""

    text: str = ""
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)


def read_stack_output(stdout: str) -> StackPlans:
    plans = StackPlans()
    lines = []
    for line in stdout.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            lines.append(line)
            continue
        if message.get("type") == "test_plan":
            changes = message["test_plan"].get("resource_changes", [])
            plans.resources[message["@testrun"]] = {
                change["address"]: change["change"]["after"]
                for change in changes
                if change["mode"] == "managed"
            }
            continue
        lines.append(message.get("@message", ""))
        diagnostic = message.get("diagnostic")
        if diagnostic:
            where = diagnostic.get("range", {})
            lines.append(
                f"  {diagnostic.get('detail', '')} ({where.get('filename', '')}:{where.get('start', {}).get('line', '')})"
            )
    plans.text = "\n".join(lines)
    return plans


class Runner:
    """Submits every validate and test once, longest first, and hands out the results."""

    def __init__(self, tree: Path) -> None:
        self.tree = tree
        self.locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="terraform")
        if tfrun.toolchain().mirror is None:
            # Providers come from the registry into a shared plugin cache, which is not
            # safe for concurrent inits: fill it one root at a time first.
            for root in dict.fromkeys([*TEST_ROOTS, *ROOTS]):
                tfrun.init(tree / root)
        self.tests: dict[str, Future[subprocess.CompletedProcess[str]]] = {
            root: self.pool.submit(self._test, root) for root in TEST_ROOTS
        }
        self.validations: dict[str, Future[tfrun.ValidateResult]] = {
            root: self.pool.submit(self._validate, root) for root in ROOTS
        }
        self._stack_plans: StackPlans | None = None

    def _test(self, root: str) -> subprocess.CompletedProcess[str]:
        extra = ["-json", "-verbose"] if root == STACK else []
        with self.locks[root]:
            return tfrun.test_root(self.tree / root, extra)

    def _validate(self, root: str) -> tfrun.ValidateResult:
        with self.locks[root]:
            return tfrun.validate_root(self.tree / root, self.tree)

    def stack_plans(self) -> tuple[subprocess.CompletedProcess[str], StackPlans]:
        result = self.tests[STACK].result()
        if self._stack_plans is None:
            self._stack_plans = read_stack_output(result.stdout)
        return result, self._stack_plans

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def tree() -> Path:
    if shutil.which("terraform") is None:
        pytest.skip(f"terraform is not on PATH. {tfrun.install_hint()}")
    tfrun.toolchain()  # a terraform older than 1.10 fails here, saying what to install
    return tfrun.prepare()


@pytest.fixture(scope="session")
def runner(tree: Path) -> Iterator[Runner]:
    running = Runner(tree)
    try:
        yield running
    finally:
        running.close()


@pytest.mark.parametrize("root", ROOTS)
def test_validate(runner: Runner, root: str) -> None:
    outcome = runner.validations[root].result()
    assert outcome.ok, f"{root}: {outcome.errors} errors, {outcome.warnings} warnings\n{outcome.detail}"


@pytest.mark.parametrize("root", TEST_ROOTS)
def test_terraform_test(runner: Runner, root: str) -> None:
    if root == STACK:
        result, plans = runner.stack_plans()
        output = plans.text + result.stderr
    else:
        result = runner.tests[root].result()
        output = result.stdout + result.stderr
    assert result.returncode == 0, output


def test_every_module_has_terraform_tests() -> None:
    modules = sorted(path for path in (REPO / "modules").iterdir() if path.is_dir())
    assert [path.name for path in modules] == [path.name for path in MODULES]
    for module in MODULES:
        assert list((module / "tests").glob("*.tftest.hcl")), f"{module.name} has no .tftest.hcl"
    assert list(STACK_TESTS.glob("*.tftest.hcl")), "the stack has no .tftest.hcl"


# --- the stack's runs carry the environments' values -----------------------------


def literal(value: Any) -> Any:
    """python-hcl2's value with its quotes and markers removed."""
    if isinstance(value, str):
        return hcl.unquote(value)
    if isinstance(value, dict):
        return {key: literal(inner) for key, inner in hcl.body_items(value)}
    if isinstance(value, list):
        return [literal(inner) for inner in value]
    return value


def stack_runs() -> dict[str, dict[str, Any]]:
    runs: dict[str, dict[str, Any]] = {}
    for path in sorted(STACK_TESTS.glob("*.tftest.hcl")):
        for entry in hcl.parse_file(path).get("run", []):
            for name, body in hcl.body_items(entry):
                variables: dict[str, Any] = {}
                for block in body.get("variables", []):
                    variables.update(literal(block))
                runs[hcl.unquote(name)] = {
                    "command": literal(body.get("command", "apply")),
                    "variables": variables,
                }
    return runs


def mocked_regions() -> set[str]:
    regions = set()
    for path in sorted(STACK_TESTS.glob("*.tftest.hcl")):
        for provider in hcl.parse_file(path).get("mock_provider", []):
            for _, body in hcl.body_items(provider):
                for mock in body.get("mock_data", []):
                    for label, data in hcl.body_items(mock):
                        if hcl.unquote(label) == "aws_region":
                            regions.add(literal(data["defaults"])["region"])
    return regions


def tfvars(environment: str) -> dict[str, Any]:
    return literal(hcl.parse_file(REPO / "environments" / environment / "terraform.tfvars"))


def expected_stack_variables(environment: str) -> dict[str, Any]:
    """What the environment's root passes to the stack, with its terraform.tfvars applied.
    An argument that the tfvars leave out gets the environment's default; it may be left
    out of the run too when that equals the stack's own default."""
    folder = REPO / "environments" / environment
    root = hcl.TerraformDir.load(folder)
    stack = hcl.TerraformDir.load(REPO / STACK)
    values = tfvars(environment)
    expected: dict[str, Any] = {}
    for argument, value in hcl.body_items(root.module_calls["shop"]):
        if argument == "source" or argument in BUILD_ARGUMENTS:
            continue
        expression = hcl.strip_interpolation(value)
        if isinstance(value, str) and value.startswith("${") and expression.startswith("var."):
            name = expression.removeprefix("var.")
            if name in values:
                expected[argument] = values[name]
                continue
            default = literal(root.variables[name].body.get("default"))
            if default != literal(stack.variables[argument].body.get("default")):
                expected[argument] = default
        else:
            expected[argument] = literal(value)
    return expected


def test_every_environment_has_a_plan_run() -> None:
    assert {"dev", "staging", "prod"} <= set(ENVIRONMENTS)
    runs = stack_runs()
    for environment in ENVIRONMENTS:
        assert environment in runs, f"terraform/tests needs a run {environment!r} with its tfvars"
        assert runs[environment]["command"] == "plan"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_stack_run_variables_are_the_environments_tfvars(environment: str) -> None:
    variables = dict(stack_runs()[environment]["variables"])
    package = variables.pop("function_package_zip")
    assert (REPO / STACK / package).resolve().is_file(), f"{package} must be a zip, relative to terraform/"
    variables.pop("dependencies_layer_zip", None)
    assert variables == expected_stack_variables(environment)


def test_mocked_region_is_the_environments_region() -> None:
    assert mocked_regions() == {tfvars(environment)["region"] for environment in ENVIRONMENTS}


# --- what each environment's plan creates ---------------------------------------


@pytest.fixture(scope="session")
def stack_plans(runner: Runner) -> StackPlans:
    result, plans = runner.stack_plans()
    assert result.returncode == 0, plans.text + result.stderr
    return plans


def of_type(resources: dict[str, dict[str, Any]], address_part: str) -> dict[str, dict[str, Any]]:
    return {address: after for address, after in resources.items() if address_part in address}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_stack_plan_follows_the_environment(stack_plans: StackPlans, environment: str) -> None:
    values = tfvars(environment)
    resources = stack_plans.resources[environment]
    stack = hcl.TerraformDir.load(REPO / STACK)
    durable_enabled = values.get("durable_checkout", {}).get("enabled", False)
    switches = {True: True, "var.durable_checkout.enabled": durable_enabled}
    roles = {
        hcl.unquote(role)
        for role, body in hcl.body_items(stack.locals["functions"])
        if switches[hcl.strip_interpolation(body.get("enabled", True))]
    }
    functions = {
        role: resources[f'module.function["{role}"].aws_lambda_function.this'] for role in sorted(roles)
    }
    assert len(of_type(resources, ".aws_lambda_function.this")) == len(roles)

    table = resources["module.state_table.aws_dynamodb_table.this"]
    assert table["deletion_protection_enabled"] is values["state_table"]["deletion_protection"]
    assert (
        table["point_in_time_recovery"][0]["recovery_period_in_days"]
        == values["state_table"]["recovery_period_in_days"]
    )

    settings = values["functions"]
    snap_start = settings["snap_start"]
    for role, function in functions.items():
        assert function["reserved_concurrent_executions"] == settings["reserved_concurrency"], role
        assert function["memory_size"] == settings["memory_size"], role
        assert function["snap_start"] == ([{"apply_on": "PublishedVersions"}] if snap_start else []), role
    aliases = of_type(resources, ".aws_lambda_alias.this")
    # A durable function has an alias whatever SnapStart says: its executions run on published versions.
    durable = {'module.function["checkout_durable"].aws_lambda_alias.this[0]'} if durable_enabled else set()
    assert set(aliases) >= durable
    assert len(aliases) == (len(roles) if snap_start else len(durable))
    checkout_environment = functions["checkout"]["environment"][0]["variables"]
    assert checkout_environment["CHECKOUT_ENGINE"] == values.get("checkout_engine", "step-functions")
    assert all(alias["name"] == "live" for alias in aliases.values())

    # The API: one integration and one permission per function that serves routes, keyed
    # by its name (and alias), with the alias as the permission's qualifier.
    suffix = ":live" if snap_start else ""
    routed = set(literal(stack.locals["routes"]).values())
    targets = {functions[role]["function_name"] + suffix for role in routed}
    integrations = of_type(resources, "module.http_api.aws_apigatewayv2_integration.this[")
    assert {address.split('"')[1] for address in integrations} == targets
    permissions = of_type(resources, "module.http_api.aws_lambda_permission.this[")
    assert {address.split('"')[1] for address in permissions} == targets
    assert {permission["qualifier"] for permission in permissions.values()} == {
        "live" if snap_start else None
    }

    cache = values.get("cache", {})
    if "replicas" in cache:
        group = resources["module.cache.aws_elasticache_replication_group.this[0]"]
        assert group["num_cache_clusters"] == 1 + cache["replicas"]
        assert group["multi_az_enabled"] is (cache["replicas"] > 0)
        assert group["node_type"] == cache["node_type"]

    subnets = of_type(resources, "module.network.aws_subnet.private[")
    assert len(subnets) == values["network"]["az_count"]

    api = values.get("api", {})
    if "rate_limit" in api:
        stage = resources["module.http_api.aws_apigatewayv2_stage.default"]
        route_settings = stage["default_route_settings"][0]
        assert route_settings["throttling_rate_limit"] == api["rate_limit"]
        assert route_settings["throttling_burst_limit"] == api["burst_limit"]


def test_ci_runs_terraform_test_for_every_module_and_the_stack() -> None:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    matrix = workflow["jobs"]["terraform-test"]["strategy"]["matrix"]["root"]
    assert sorted(matrix) == sorted(TEST_ROOTS)


def test_cache_keeps_no_secret() -> None:
    """The cache's app user authenticates with IAM tokens (asserted in its terraform test):
    no password is generated, and none is kept in state or Secrets Manager."""
    cache = hcl.TerraformDir.load(REPO / "modules" / "cache")
    types = {type_name for type_name, *_ in [*cache.resources, *cache.data_sources]}
    assert not {name for name in types if name.startswith(("aws_secretsmanager_", "random_"))}
