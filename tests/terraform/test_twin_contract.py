"""The twin deploys what terraform/ deploys: same keys, TTL, handlers, env var names, routes.

The twin provisions with boto3 from local_twin/stack.py; if the two drift apart, the
demo and the integration tests stop describing what users get from `terraform apply`.
"""

from __future__ import annotations

import re

import pytest

from local_twin import stack, workflows
from tools import hcl

STACK = hcl.TerraformDir.load(hcl.REPO_ROOT / "terraform")


FUNCTION_CALL = STACK.module_calls["function"]  # one for_each module block, one entry per function


def module_argument(call: str, name: str) -> str:
    return hcl.strip_interpolation(STACK.module_calls[call][name])


def function_entry(key: str) -> dict:
    entries = {hcl.unquote(name): body for name, body in hcl.body_items(STACK.locals["functions"])}
    assert key in entries, f'terraform/functions.tf has no entry "{key}" in local.functions'
    return entries[key]


def environment_names(key: str) -> set[str]:
    """What the module block merges: the locals it names plus the entry's own `environment`."""
    expression = hcl.strip_interpolation(FUNCTION_CALL["environment_variables"])
    names: set[str] = set()
    for local_name in re.findall(r"local\.(\w+)", expression):
        names |= {name for name, _ in hcl.body_items(STACK.locals[local_name])}
    if "each.value.environment" in expression:
        names |= {name for name, _ in hcl.body_items(function_entry(key)["environment"])}
    return names


def test_table_keys_and_ttl() -> None:
    keys = {
        name: hcl.strip_interpolation(value)
        for name, value in hcl.body_items(STACK.module_calls["state_table"]["keys"])
    }
    assert keys == {"partition": stack.STATE_TABLE.hash_key, "sort": stack.STATE_TABLE.range_key}
    assert module_argument("state_table", "ttl_attribute") == stack.STATE_TABLE.ttl_attribute
    assert module_argument("state_table", "name").endswith(f"{stack.STATE_TABLE.suffix}")


@pytest.mark.parametrize("key", sorted(stack.FUNCTIONS))
def test_function_handler_environment_and_timeout(key: str) -> None:
    definition = stack.FUNCTIONS[key]
    entry = function_entry(key)
    assert hcl.strip_interpolation(entry["handler"]) == definition.handler
    assert environment_names(key) == set(definition.environment)
    assert int(entry["timeout"]) == definition.timeout_seconds
    assert ("vpc" in FUNCTION_CALL) == definition.in_vpc


def test_routes() -> None:
    terraform_routes = {
        hcl.unquote(key): hcl.strip_interpolation(value)
        for key, value in hcl.body_items(STACK.locals["routes"])
    }
    twin_routes = {route.route_key: route.function for route in stack.ROUTES}
    assert terraform_routes == twin_routes


def test_functions_are_the_same_set() -> None:
    functions = {hcl.unquote(key) for key, _ in hcl.body_items(STACK.locals["functions"])}
    assert functions == set(stack.FUNCTIONS)


def test_contract_reader_can_fail() -> None:
    """A sanity check of the reader itself: it must see names that are really there."""
    assert "STATE_TABLE_NAME" in environment_names("cart")
    assert "NOT_A_VARIABLE" not in environment_names("cart")


@pytest.mark.parametrize("key", sorted(stack.STATE_MACHINES))
def test_state_machine_template_and_variables(key: str) -> None:
    """Terraform's templatefile() and the twin render the same ASL file with the same variables."""
    machine = stack.STATE_MACHINES[key]
    call = STACK.module_calls[f"{key}_workflow"]
    template = hcl.strip_interpolation(call["definition_template"]).replace("${path.module}", "terraform")
    assert hcl.strip_interpolation(call["name"]) == f"local.{key}_state_machine_name"
    assert hcl.strip_interpolation(STACK.locals[f"{key}_state_machine_name"]).endswith(f"-{key}")
    assert template == machine.template
    variables = {
        name: hcl.strip_interpolation(value) for name, value in hcl.body_items(call["template_variables"])
    }
    referenced = {name: re.search(r'module\.function\["(\w+)"\]', value) for name, value in variables.items()}
    assert {name: found.group(1) for name, found in referenced.items() if found} == dict(
        machine.function_arns
    )
    assert workflows.placeholders((hcl.REPO_ROOT / machine.template).read_text()) == set(variables)
    assert hcl.strip_interpolation(call.get("type", '"STANDARD"')) == machine.type


@pytest.mark.parametrize("key", sorted(stack.STATE_MACHINES))
def test_state_machine_definition_passes_statelint(key: str) -> None:
    from statelint.config import Config
    from statelint.linter import Linter

    machine = stack.STATE_MACHINES[key]
    arns = {
        name: f"arn:aws:lambda:us-east-1:123456789012:function:{function}"
        for name, function in machine.function_arns
    }
    rendered = workflows.render(hcl.REPO_ROOT / machine.template, arns)
    assert Linter.validate(rendered, Config([], False, False)) == []
    broken = rendered.replace('"Next": "ConfirmOrder"', '"Next": "NoSuchState"')
    assert Linter.validate(broken, Config([], False, False)), "statelint must catch a dangling Next"
