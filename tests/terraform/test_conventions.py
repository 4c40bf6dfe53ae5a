"""Static checks that keep the Terraform honest where no provider can be downloaded:
formatting, parsing, module conventions, module wiring and README tables."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.terraform.test_provider_schema import check_body
from tools import hcl, tfdocs, tfrun

MODULES = sorted(path for path in (hcl.REPO_ROOT / "modules").iterdir() if path.is_dir())
ALL_DIRS = hcl.terraform_dirs()
# build/ and the virtual environments hold copies and packages, not the project's HCL.
FMT_FOLDERS = ["modules", "terraform", "environments", "tests"]
CALLERS = [d for d in ALL_DIRS if hcl.TerraformDir.load(d).module_calls]
REQUIRED_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md")


def rel(path: Path) -> str:
    return str(path.relative_to(hcl.REPO_ROOT))


def test_terraform_fmt() -> None:
    try:
        chain = tfrun.toolchain()
    except tfrun.TerraformMissing as missing:
        pytest.skip(str(missing))
    result = subprocess.run(
        [chain.terraform, "fmt", "-check", "-recursive", "-diff", *FMT_FOLDERS],
        cwd=hcl.REPO_ROOT,
        capture_output=True,
        text=True,
        env=tfrun.terraform_env(),
    )
    assert result.returncode == 0, f"run `make fmt`:\n{result.stdout}{result.stderr}"
    assert result.stderr == "", result.stderr


@pytest.mark.parametrize("path", hcl.terraform_files(), ids=rel)
def test_every_file_parses(path: Path) -> None:
    assert isinstance(hcl.parse_file(path), dict)


def test_at_least_the_cart_slice_modules_exist() -> None:
    names = {module.name for module in MODULES}
    assert {"network", "state-table", "lambda-function", "http-api"} <= names


@pytest.mark.parametrize("module", MODULES, ids=rel)
def test_module_layout(module: Path) -> None:
    missing = [name for name in REQUIRED_FILES if not (module / name).exists()]
    assert not missing, f"{rel(module)} lacks {missing}"
    assert (module / "examples" / "basic" / "main.tf").exists(), f"{rel(module)} needs examples/basic"


@pytest.mark.parametrize("module", MODULES, ids=rel)
def test_modules_hold_no_provider_configuration(module: Path) -> None:
    for path in module.glob("*.tf"):
        assert "provider" not in hcl.parse_file(path), f"{rel(path)} configures a provider"


@pytest.mark.parametrize("directory", [*MODULES, hcl.REPO_ROOT / "terraform"], ids=rel)
def test_version_constraints(directory: Path) -> None:
    terraform_blocks = hcl.TerraformDir.load(directory).blocks.get("terraform", [])
    required_version = [
        hcl.strip_interpolation(b["required_version"]) for b in terraform_blocks if "required_version" in b
    ]
    assert required_version == [">= 1.10"]
    providers = {}
    for block in terraform_blocks:
        for entry in block.get("required_providers", []):
            providers.update({name: spec for name, spec in hcl.body_items(entry)})
    assert hcl.strip_interpolation(providers["aws"]["version"]) == ">= 6.28, < 7.0"


@pytest.mark.parametrize("directory", [*MODULES, hcl.REPO_ROOT / "terraform"], ids=rel)
def test_variables_and_outputs_are_typed_and_described(directory: Path) -> None:
    loaded = hcl.TerraformDir.load(directory)
    problems = [f"variable {v.name} has no type" for v in loaded.variables.values() if v.type is None]
    problems += [
        f"variable {v.name} has no description" for v in loaded.variables.values() if not v.description
    ]
    problems += [
        f"output {name} has no description"
        for name, body in loaded.outputs.items()
        if "description" not in body
    ]
    assert not problems, "\n".join(problems)


_ENUM_HINT = re.compile(r"\b(one of|must|may contain only|is required when|between)\b")


@pytest.mark.parametrize("module", MODULES, ids=rel)
def test_validation_messages_say_what_is_allowed(module: Path) -> None:
    loaded = hcl.TerraformDir.load(module)
    validated = 0
    for variable in loaded.variables.values():
        for validation in variable.body.get("validation", []):
            validated += 1
            message = hcl.strip_interpolation(validation["error_message"])
            assert _ENUM_HINT.search(message), f"{variable.name}: {message!r} does not say what is allowed"
    assert validated >= 3, f"{rel(module)} validates too little"


@pytest.mark.parametrize("module", MODULES, ids=rel)
def test_readme_tables_are_current(module: Path) -> None:
    assert tfdocs.current_block(module / "README.md") == tfdocs.render(module), "run `make docs`"


@pytest.mark.parametrize("module", MODULES, ids=rel)
def test_readme_tables_list_exactly_the_interface(module: Path) -> None:
    block = tfdocs.current_block(module / "README.md") or ""
    loaded = hcl.TerraformDir.load(module)
    assert set(re.findall(r'name="input_(\w+)"', block)) == set(loaded.variables)
    assert set(re.findall(r'name="output_(\w+)"', block)) == set(loaded.outputs)


@pytest.mark.parametrize("caller", CALLERS, ids=rel)
def test_module_calls_match_the_callee(caller: Path) -> None:
    loaded = hcl.TerraformDir.load(caller)
    problems = []
    for call, body in loaded.module_calls.items():
        source = loaded.module_source(call)
        assert source is not None and source.is_dir(), f"module {call}: source {source} is not a local folder"
        callee = hcl.TerraformDir.load(source)
        passed = {key for key, _ in hcl.body_items(body)} - {
            "source",
            "version",
            "providers",
            "count",
            "for_each",
            "depends_on",
        }
        unknown = passed - set(callee.variables)
        missing = {name for name, v in callee.variables.items() if v.required} - passed
        if unknown:
            problems.append(f"module {call} passes undeclared {sorted(unknown)}")
        if missing:
            problems.append(f"module {call} omits required {sorted(missing)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("caller", CALLERS, ids=rel)
def test_module_output_references_exist(caller: Path) -> None:
    loaded = hcl.TerraformDir.load(caller)
    problems = []
    for text in hcl.expressions([loaded.blocks]):
        for match in hcl.MODULE_OUTPUT_REFERENCE.finditer(text):
            call, output = match.groups()
            if call not in loaded.module_calls:
                problems.append(f"module.{call} is not declared")
                continue
            outputs = hcl.TerraformDir.load(loaded.module_source(call)).outputs
            if output not in outputs:
                problems.append(f"module.{call}.{output}: no such output")
    assert not problems, "\n".join(sorted(set(problems)))


def test_schema_checker_catches_unknown_and_deprecated_names() -> None:
    """The schema test must be able to fail: feed it known-bad bodies."""
    node = hcl.provider_schema()["resource"]["aws_lambda_function"]
    bad = {
        "function_name": "x",
        "memory": 128,  # invented
        "vpc_config": [{"subnet_id": "s", "__is_block__": True}],  # wrong nested name
        "environment": "not a block",  # block written as argument
    }
    problems = check_body(node, bad, "t")
    assert any("'memory'" in p for p in problems)
    assert any("'subnet_id'" in p for p in problems)
    assert any("'environment'" in p and "block" in p for p in problems)
    deprecated = hcl.provider_schema()["data"]["aws_region"]
    assert any("deprecated" in p for p in check_body(deprecated, {"name": "eu-west-1"}, "t"))
