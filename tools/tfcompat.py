"""The 6.x -> 5.100 rewrites for running our HCL where only aws provider 5.100 exists.

The modules declare aws `>= 6.28, < 7.0` for users and are written for 6.x. Some
machines (this project's own, and any air-gapped one with an old filesystem mirror)
have only aws 5.100.0. `tools.tfrun` copies the Terraform under build/ and, when the
provider it can install is 5.x, applies exactly the rewrites below to the copy. The
real modules are never changed to suit the old provider.

Keep this list short: each entry names the 6.x feature and its 5.100 form, and
tests/unit/test_tfcompat.py checks each one on its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rewrite:
    name: str
    why: str
    pattern: re.Pattern[str]
    replacement: str | Callable[[re.Match[str]], str]

    def apply(self, text: str) -> str:
        return self.pattern.sub(self.replacement, text)


REWRITES: tuple[Rewrite, ...] = (
    Rewrite(
        name="provider-constraint",
        why="Users need aws >= 6.28; the copy must also accept the 5.100 that the mirror holds.",
        pattern=re.compile(r'version\s*=\s*">= 6\.28, < 7\.0"'),
        replacement='version = ">= 5.100, < 7.0"',
    ),
    Rewrite(
        name="aws_region-region",
        why="aws 6.0 renamed data.aws_region's `name` to `region` (and deprecated `name`); 5.100 has only `name`.",
        pattern=re.compile(r"\bdata\.aws_region\.(\w+)\.region\b"),
        replacement=r"data.aws_region.\1.name",
    ),
    Rewrite(
        name="mock-aws_region-region",
        why='The same rename inside terraform test mocks: `mock_data "aws_region"` defaults set `name` on 5.100.',
        pattern=re.compile(r'(mock_data\s+"aws_region"\s*\{\s*defaults\s*=\s*\{\s*)region(\s*=)'),
        replacement=r"\1name\2",
    ),
    Rewrite(
        name="gsi-key_schema-hash",
        why="aws 6.x describes a GSI's keys with key_schema blocks (hash_key deprecated); 5.100 has only hash_key.",
        pattern=re.compile(
            r'(?<![\w"])key_schema\s*\{\s*attribute_name\s*=\s*([^\n]+?)\s*\n\s*key_type\s*=\s*"HASH"\s*\}'
        ),
        replacement=r"hash_key = \1",
    ),
    Rewrite(
        name="gsi-key_schema-range",
        why="The optional RANGE key_schema block of a GSI becomes 5.100's range_key (null when absent).",
        pattern=re.compile(
            r'dynamic\s+"key_schema"\s*\{\s*for_each\s*=\s*([^\n]+?)\s*==\s*null\s*\?\s*\[\]\s*:\s*\[\1\]\s*'
            r"content\s*\{\s*attribute_name\s*=\s*key_schema\.value\s*key_type\s*=\s*\"RANGE\"\s*\}\s*\}"
        ),
        replacement=r"range_key = \1",
    ),
    Rewrite(
        name="lambda-durable_config",
        why="aws 6.x has aws_lambda_function's durable_config block (Lambda durable functions); 5.100 has none, so the copy drops it and the function is an ordinary one.",
        pattern=re.compile(
            r'[ \t]*dynamic\s+"durable_config"\s*\{\s*for_each\s*=[^\n]*\n\s*content\s*\{[^{}]*\}\s*\}[ \t]*\n'
        ),
        replacement="",
    ),
    Rewrite(
        name="fis-action-target-functions",
        why=(
            "aws_fis_experiment_template's action target key `Functions` (the Lambda actions' target, "
            "https://docs.aws.amazon.com/fis/latest/userguide/use-lambda-actions.html) is accepted from aws 6.x "
            "(hashicorp/terraform-provider-aws#41209); 5.100 validates the key against an older list and refuses "
            "it. The copy names the target `Roles`, a key 5.100 accepts: moto stores keys as given, the target "
            "itself (aws:lambda:function by ARN) is unchanged."
        ),
        pattern=re.compile(r'(\bkey\s*=\s*)"Functions"'),
        replacement=r'\1"Roles"',
    ),
)


def rewrite(text: str) -> str:
    """The 5.100 form of one .tf or .tftest.hcl file."""
    for entry in REWRITES:
        text = entry.apply(text)
    return text
