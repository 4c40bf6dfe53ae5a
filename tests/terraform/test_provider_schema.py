"""Every argument, block and attribute name we write exists in the provider schema.

Nothing else validates HCL here (the AWS provider cannot be downloaded), so a typo or
an invented argument would otherwise first show up in a user's `terraform plan`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from tools import hcl

SCHEMA = hcl.provider_schema()
DIRS = hcl.terraform_dirs()
DYNAMIC_KEYS = {"for_each", "iterator", "content", "labels"}
# Built into Terraform (terraform.io/builtin/terraform), not the aws provider's: test helpers
# such as modules/http-api/tests/setup use terraform_data for values known only after apply.
BUILTIN_TYPES = {"terraform_data"}


def check_body(node: dict[str, Any], body: dict[str, Any], where: str) -> list[str]:
    problems = []
    args = set(node.get("args", []))
    blocks = node.get("blocks", {})
    as_block = set(node.get("attribute_as_block", []))
    deprecated = set(node.get("deprecated", []))
    for key, value in hcl.body_items(body):
        if key in hcl.META_ARGUMENTS:
            continue
        if key in deprecated:
            problems.append(f"{where}: '{key}' is deprecated in the provider")
        if key == "dynamic":
            for entry in value:
                for label, dynamic in hcl.body_items(entry):
                    name = hcl.unquote(label)
                    extra = {k for k, _ in hcl.body_items(dynamic)} - DYNAMIC_KEYS
                    if extra:
                        problems.append(f"{where}: dynamic '{name}' has unknown keys {sorted(extra)}")
                    if name in blocks:
                        for content in dynamic.get("content", []):
                            problems += check_body(blocks[name], content, f"{where}.{name}")
                    elif name not in as_block:
                        problems.append(f"{where}: no block '{name}' (dynamic)")
        elif hcl.is_block_list(value):
            if key in blocks:
                for item in value:
                    problems += check_body(blocks[key], item, f"{where}.{key}")
            elif key not in as_block:
                problems.append(f"{where}: no block '{key}'")
        elif key not in args and key not in as_block:
            hint = " (it is a block)" if key in blocks else ""
            problems.append(f"{where}: no argument '{key}'{hint}")
    return problems


def test_vendored_schema_matches_its_recorded_checksum() -> None:
    recorded = (hcl.SCHEMA_FILE.parent / "aws_provider_args.json.sha256").read_text().strip()
    assert hashlib.sha256(hcl.SCHEMA_FILE.read_bytes()).hexdigest() == recorded


def test_there_is_terraform_to_check() -> None:
    assert len(DIRS) >= 5


@pytest.mark.parametrize("directory", DIRS, ids=lambda p: str(p.relative_to(hcl.REPO_ROOT)))
def test_blocks_use_only_known_names(directory: Path) -> None:
    loaded = hcl.TerraformDir.load(directory)
    problems = []
    for kind, entries in (("resource", loaded.resources), ("data", loaded.data_sources)):
        for type_name, name, body, file in entries:
            if type_name in BUILTIN_TYPES:
                continue
            where = f"{file.relative_to(hcl.REPO_ROOT)}: {kind} {type_name}.{name}"
            node = SCHEMA[kind].get(type_name)
            if node is None:
                problems.append(f"{where}: type not in the vendored schema (regenerate it, see its README)")
                continue
            problems += check_body(node, body, where)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("directory", DIRS, ids=lambda p: str(p.relative_to(hcl.REPO_ROOT)))
def test_references_name_existing_attributes(directory: Path) -> None:
    loaded = hcl.TerraformDir.load(directory)
    declared = {("resource", t, n) for t, n, _, _ in loaded.resources}
    declared |= {("data", t, n) for t, n, _, _ in loaded.data_sources}
    problems = []
    everything = [loaded.blocks]
    for text in hcl.expressions(everything):
        for match in hcl.REFERENCE.finditer(text):
            kind = "data" if match.group(1) else "resource"
            type_name, name, chain = match.group(2), match.group(3), match.group(4)
            if (kind, type_name, name) not in declared or not chain:
                continue
            node = SCHEMA[kind].get(type_name, {})
            attribute = chain.split(".")[1]
            known = set(node.get("args", [])) | set(node.get("attributes", [])) | set(node.get("blocks", {}))
            if attribute not in known:
                problems.append(f"{directory.relative_to(hcl.REPO_ROOT)}: {match.group(0)}: no '{attribute}'")
            elif attribute in node.get("deprecated", []):
                problems.append(f"{directory.relative_to(hcl.REPO_ROOT)}: {match.group(0)}: deprecated")
    assert not problems, "\n".join(sorted(set(problems)))
