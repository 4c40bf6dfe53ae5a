"""tools.tfcompat's 6.x -> 5.100 rewrites, one by one and over the real tree, and the parts
of tools.tfrun that need no terraform: its CLI config and the build/ copy of the tree."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import hcl2
import pytest

from tools import tfcompat, tfrun

# One case per rewrite: the 6.x form and the 5.100 form that rewrite alone makes of it.
CASES: dict[str, tuple[str, str]] = {
    "provider-constraint": (
        '    aws = {\n      source  = "hashicorp/aws"\n      version = ">= 6.28, < 7.0"\n    }\n',
        '    aws = {\n      source  = "hashicorp/aws"\n      version = ">= 5.100, < 7.0"\n    }\n',
    ),
    "aws_region-region": (
        '  region = data.aws_region.current.region\n  arn    = "logs.${data.aws_region.here.region}.amazonaws.com"\n',
        '  region = data.aws_region.current.name\n  arn    = "logs.${data.aws_region.here.name}.amazonaws.com"\n',
    ),
    "mock-aws_region-region": (
        'mock_provider "aws" {\n  mock_data "aws_region" {\n    defaults = { region = "eu-west-1" }\n  }\n}\n',
        'mock_provider "aws" {\n  mock_data "aws_region" {\n    defaults = { name = "eu-west-1" }\n  }\n}\n',
    ),
    "gsi-key_schema-hash": (
        "    content {\n"
        "      key_schema {\n"
        "        attribute_name = global_secondary_index.value.partition_key\n"
        '        key_type       = "HASH"\n'
        "      }\n"
        "    }\n",
        "    content {\n      hash_key = global_secondary_index.value.partition_key\n    }\n",
    ),
    "gsi-key_schema-range": (
        "      hash_key = x\n"
        "\n"
        '      dynamic "key_schema" {\n'
        "        for_each = global_secondary_index.value.sort_key == null ? [] : [global_secondary_index.value.sort_key]\n"
        "        content {\n"
        "          attribute_name = key_schema.value\n"
        '          key_type       = "RANGE"\n'
        "        }\n"
        "      }\n"
        "    }\n",
        "      hash_key = x\n\n      range_key = global_secondary_index.value.sort_key\n    }\n",
    ),
    "lambda-durable_config": (
        "  publish = local.publish\n"
        '  dynamic "durable_config" {\n'
        "    for_each = var.durable_config == null ? [] : [var.durable_config]\n"
        "    content {\n"
        "      execution_timeout = durable_config.value.execution_timeout\n"
        "      retention_period  = durable_config.value.retention_period\n"
        "    }\n"
        "  }\n"
        "\n"
        '  dynamic "snap_start" {\n',
        '  publish = local.publish\n\n  dynamic "snap_start" {\n',
    ),
    "fis-action-target-functions": (
        '    target {\n      key   = "Functions"\n      value = "functions"\n    }\n',
        '    target {\n      key   = "Roles"\n      value = "functions"\n    }\n',
    ),
}

# What each rewrite must leave alone: near misses of its pattern.
UNTOUCHED: dict[str, str] = {
    "provider-constraint": 'required_version = ">= 1.10"\nversion = ">= 6.0"\n',
    "aws_region-region": "name = data.aws_region.current.name\nregion = var.region\nx = data.aws_regions.all.regions\n",
    "mock-aws_region-region": 'mock_data "aws_caller_identity" {\n  defaults = { region = "eu-west-1" }\n}\n',
    "gsi-key_schema-hash": '"key_schema" = 1\nkey_schema {\n  attribute_name = "pk"\n  key_type       = "RANGE"\n}\n',
    "gsi-key_schema-range": 'dynamic "key_schema" {\n  for_each = var.keys\n  content {\n    attribute_name = key_schema.value\n  }\n}\n',
    "lambda-durable_config": 'variable "durable_config" {\n  default = null\n}\nfor_each = var.durable_config == null ? [] : ["arn"]\n',
    "fis-action-target-functions": 'value = "Functions"\nname = "functions"\nkey = "Subnets"\n',
}

BY_NAME = {entry.name: entry for entry in tfcompat.REWRITES}


def test_every_rewrite_has_a_case_and_a_reason() -> None:
    assert sorted(BY_NAME) == sorted(CASES) == sorted(UNTOUCHED)
    assert len(BY_NAME) == len(tfcompat.REWRITES), "rewrite names must be unique"
    for entry in tfcompat.REWRITES:
        assert len(entry.why) > 20, f"{entry.name} needs its why"


@pytest.mark.parametrize("name", sorted(CASES))
def test_rewrite_on_its_own(name: str) -> None:
    source, expected = CASES[name]
    assert BY_NAME[name].apply(source) == expected
    assert BY_NAME[name].apply(expected) == expected, "a rewrite must be idempotent"


@pytest.mark.parametrize("name", sorted(UNTOUCHED))
def test_rewrite_leaves_near_misses_alone(name: str) -> None:
    assert BY_NAME[name].apply(UNTOUCHED[name]) == UNTOUCHED[name]


def test_gsi_rewrites_together_give_the_5100_block() -> None:
    six = (
        '  dynamic "global_secondary_index" {\n'
        "    for_each = var.indexes\n"
        "    content {\n"
        "      name            = global_secondary_index.key\n"
        '      projection_type = "ALL"\n'
        "\n"
        "      key_schema {\n"
        "        attribute_name = global_secondary_index.value.partition_key\n"
        '        key_type       = "HASH"\n'
        "      }\n"
        "\n"
        '      dynamic "key_schema" {\n'
        "        for_each = global_secondary_index.value.sort_key == null ? [] : [global_secondary_index.value.sort_key]\n"
        "        content {\n"
        "          attribute_name = key_schema.value\n"
        '          key_type       = "RANGE"\n'
        "        }\n"
        "      }\n"
        "    }\n"
        "  }\n"
    )
    rewritten = tfcompat.rewrite(six)
    assert "key_schema" not in rewritten
    assert "hash_key = global_secondary_index.value.partition_key\n" in rewritten
    assert "range_key = global_secondary_index.value.sort_key\n" in rewritten
    assert rewritten.startswith('  dynamic "global_secondary_index" {\n    for_each = var.indexes\n')


# --- the real tree, rewritten ------------------------------------------------------

REGION_RENAMED = re.compile(r"\bdata\.aws_region\.\w+\.region\b")
# The only kinds of line a rewrite may change: the 6.x forms and the lines of their blocks.
SIX_X_LINE = re.compile(
    r'version\s*=\s*">= 6\.28, < 7\.0"'
    r"|\bdata\.aws_region\.\w+\.region\b"
    r"|defaults\s*=\s*\{\s*region\s*="
    r'|key_schema|attribute_name\s*=|key_type\s*=\s*"(HASH|RANGE)"|^\s*for_each\s*=.*== null \? \[\]|^\s*content\s*\{\s*$|^\s*\}\s*$'
    r"|durable_config|^\s*(execution_timeout|retention_period)\s*="
    r'|\bkey\s*=\s*"Functions"'
)


@pytest.fixture(scope="module")
def compat_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tfrun.sync_tree(True, tfrun.REPO_ROOT, tmp_path_factory.mktemp("tree"))


def copied(tree: Path) -> dict[Path, Path]:
    """Each file of the copy and the repository file it came from."""
    pairs = {}
    for path in sorted(tree.rglob("*")):
        if path.is_file():
            pairs[path] = tfrun.REPO_ROOT / path.relative_to(tree)
    return pairs


def test_rewritten_tree_has_no_6x_forms(compat_tree: Path) -> None:
    files = [path for path in copied(compat_tree) if path.suffix in (".tf", ".hcl")]
    assert len(files) > 50
    for path in files:
        text = path.read_text()
        assert not REGION_RENAMED.search(text), path
        assert "key_schema" not in text, path
        assert ">= 6.28" not in text, path
        assert 'dynamic "durable_config"' not in text, path
        assert not re.search(r'\bkey\s*=\s*"Functions"', text), path


def test_rewritten_tree_changes_only_what_the_rewrites_match(compat_tree: Path) -> None:
    """Outside the rewritten spans every byte is the repository's: each file is identical,
    or differs only in hunks that are the rewrite of their own text."""
    rewritten_files = 0
    for copy, source in copied(compat_tree).items():
        old, new = source.read_bytes(), copy.read_bytes()
        if old == new:
            continue
        assert copy.suffix in (".tf", ".hcl"), f"{copy} must be copied byte for byte"
        rewritten_files += 1
        before = old.decode().splitlines(keepends=True)
        after = new.decode().splitlines(keepends=True)
        matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
        # Lines outside these groups are equal; each group (changes plus 3 lines of
        # context) must be exactly the rewrite of its own text.
        for group in matcher.get_grouped_opcodes(3):
            i1, j1 = group[0][1], group[0][3]
            i2, j2 = group[-1][2], group[-1][4]
            hunk_before, hunk_after = "".join(before[i1:i2]), "".join(after[j1:j2])
            assert tfcompat.rewrite(hunk_before) == hunk_after, f"{source}: {hunk_before!r}"
            for tag, k1, k2, _, _ in group:
                for line in before[k1:k2] if tag in ("replace", "delete") else []:
                    assert SIX_X_LINE.search(line), f"{source}: the rewrites changed {line!r}"
    assert rewritten_files > 0


def test_tree_without_compat_is_a_verbatim_copy(tmp_path: Path) -> None:
    tree = tfrun.sync_tree(False, tfrun.REPO_ROOT, tmp_path)
    pairs = copied(tree)
    assert any(path.name.endswith(".tftest.hcl") for path in pairs)
    assert any(path.suffix == ".zip" for path in pairs)
    for copy, source in pairs.items():
        assert copy.read_bytes() == source.read_bytes(), copy


# --- tools.tfrun: CLI config and the copy ---------------------------------------------


def test_cli_config_without_a_mirror_uses_a_plugin_cache(tmp_path: Path) -> None:
    text = tfrun.cli_config_text(None, tmp_path / "plugin-cache")
    assert text == f'plugin_cache_dir = "{tmp_path / "plugin-cache"}"\n'
    assert "provider_installation" not in text


def test_cli_config_with_a_mirror_installs_aws_only_from_it(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    text = tfrun.cli_config_text(mirror, tmp_path / "plugin-cache")
    parsed = hcl2.loads(text)
    (installation,) = parsed["provider_installation"]
    (filesystem,) = installation["filesystem_mirror"]
    assert filesystem["path"].strip('"') == str(mirror)
    assert [entry.strip('"') for entry in filesystem["include"]] == [tfrun.AWS_PROVIDER]
    assert "direct" not in installation, "nothing may be downloaded where a mirror exists"
    assert "plugin_cache_dir" not in text


SIX_MODULE = (
    'terraform {\n  required_providers {\n    aws = {\n      source  = "hashicorp/aws"\n'
    '      version = ">= 6.28, < 7.0"\n    }\n  }\n}\n'
    "locals {\n  region = data.aws_region.current.region\n}\n"
)
FIVE_MODULE = SIX_MODULE.replace(">= 6.28, < 7.0", ">= 5.100, < 7.0").replace(
    "data.aws_region.current.region", "data.aws_region.current.name"
)
TFVARS = 'region = "eu-west-1"\nnote = "data.aws_region.current.region stays as written in tfvars"\n'


def make_source(root: Path) -> Path:
    files = {
        "modules/m/main.tf": SIX_MODULE,
        "modules/m/tests/basic.tftest.hcl": 'mock_provider "aws" {\n  mock_data "aws_region" {\n    defaults = { region = "eu-west-1" }\n  }\n}\n',
        "modules/m/examples/basic/package.zip": "PK-not-really",
        "modules/m/definition.asl.json": '{"Comment": "data.aws_region.current.region"}\n',
        "modules/m/README.md": "not terraform\n",
        "modules/m/.terraform/modules/modules.json": "{}\n",
        "modules/m/backend.hcl": 'bucket = "secret"\n',
        "environments/dev/terraform.tfvars": TFVARS,
        "environments/dev/main.tf": 'module "shop" {\n  source = "../../terraform"\n}\n',
        "lambda_src/handler.py": "print('not copied')\n",
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def listing(tree: Path) -> set[str]:
    return {path.relative_to(tree).as_posix() for path in tree.rglob("*") if path.is_file()}


def test_sync_tree_copies_the_terraform_files_and_nothing_else(tmp_path: Path) -> None:
    source, tree = make_source(tmp_path / "source"), tmp_path / "tree"
    tfrun.sync_tree(False, source, tree)
    assert listing(tree) == {
        "modules/m/main.tf",
        "modules/m/tests/basic.tftest.hcl",
        "modules/m/examples/basic/package.zip",
        "modules/m/definition.asl.json",
        "environments/dev/terraform.tfvars",
        "environments/dev/main.tf",
    }
    assert (tree / "modules/m/main.tf").read_text() == SIX_MODULE


def test_sync_tree_rewrites_only_tf_and_hcl_and_only_with_compat(tmp_path: Path) -> None:
    source, tree = make_source(tmp_path / "source"), tmp_path / "tree"
    tfrun.sync_tree(True, source, tree)
    assert (tree / "modules/m/main.tf").read_text() == FIVE_MODULE
    assert 'defaults = { name = "eu-west-1" }' in (tree / "modules/m/tests/basic.tftest.hcl").read_text()
    assert (tree / "environments/dev/terraform.tfvars").read_text() == TFVARS
    assert (tree / "modules/m/definition.asl.json").read_bytes() == (
        source / "modules/m/definition.asl.json"
    ).read_bytes()
    # Back to a 6.x machine: the copy follows.
    tfrun.sync_tree(False, source, tree)
    assert (tree / "modules/m/main.tf").read_text() == SIX_MODULE


def test_sync_tree_deletes_removed_files_and_keeps_init_and_state(tmp_path: Path) -> None:
    source, tree = make_source(tmp_path / "source"), tmp_path / "tree"
    tfrun.sync_tree(True, source, tree)
    kept = {
        "modules/m/.terraform/providers/marker": "provider",
        "modules/m/.terraform.lock.hcl": "# lock\n",
        "environments/dev/terraform.tfstate": "{}\n",
        "environments/dev/terraform.tfstate.backup": "{}\n",
        "environments/dev/plan.tfplan": "plan\n",
        "environments/dev/twin_override.tf": "# override\n",
        "environments/dev/build.zip": "PK",
    }
    for relative, text in kept.items():
        (tree / relative).parent.mkdir(parents=True, exist_ok=True)
        (tree / relative).write_text(text)
    unchanged = tree / "modules/m/main.tf"
    stamp = unchanged.stat().st_mtime_ns

    (source / "modules/m/definition.asl.json").unlink()
    (source / "environments/dev/main.tf").unlink()
    tfrun.sync_tree(True, source, tree)

    files = listing(tree)
    assert "modules/m/definition.asl.json" not in files
    assert "environments/dev/main.tf" not in files
    assert set(kept) <= files
    assert all((tree / relative).read_text() == text for relative, text in kept.items())
    assert unchanged.stat().st_mtime_ns == stamp, "an unchanged file is not rewritten"
