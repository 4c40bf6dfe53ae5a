"""Reading the repository's Terraform with python-hcl2, for checks that need no provider.

python-hcl2 8 keeps labels and string literals quoted and marks blocks with
`__is_block__`; the helpers here hide both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = REPO_ROOT / "tools" / "terraform-schema" / "aws_provider_args.json"
SKIPPED_DIRS = {".terraform", ".venv", ".venv-checkov", "build", ".git"}
META_ARGUMENTS = {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"}
BLOCK_MARK = "__is_block__"


def unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def strip_interpolation(value: Any) -> Any:
    """`"${var.x}"` -> `var.x`; `'"text"'` -> `text`."""
    if isinstance(value, str):
        if value.startswith("${") and value.endswith("}"):
            return value[2:-1]
        return unquote(value)
    return value


def is_block_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and item.get(BLOCK_MARK) for item in value)
    )


def body_items(body: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for key, value in body.items():
        if not key.startswith("__"):  # python-hcl2's own markers: __is_block__, __comments__
            yield key, value


def terraform_files(root: Path = REPO_ROOT) -> list[Path]:
    return sorted(
        path for path in root.rglob("*.tf") if not SKIPPED_DIRS.intersection(path.relative_to(root).parts)
    )


@cache
def parse_file(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return hcl2.load(handle)


def terraform_dirs(root: Path = REPO_ROOT) -> list[Path]:
    return sorted({path.parent for path in terraform_files(root)})


@dataclass
class Variable:
    name: str
    body: dict[str, Any]

    @property
    def required(self) -> bool:
        return "default" not in self.body

    @property
    def type(self) -> str | None:
        value = self.body.get("type")
        return None if value is None else strip_interpolation(value)

    @property
    def description(self) -> str | None:
        value = self.body.get("description")
        return None if value is None else strip_interpolation(value)


@dataclass
class TerraformDir:
    """A folder of .tf files: a module, a root or an example."""

    path: Path
    variables: dict[str, Variable] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    module_calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: list[tuple[str, str, dict[str, Any], Path]] = field(default_factory=list)
    data_sources: list[tuple[str, str, dict[str, Any], Path]] = field(default_factory=list)
    locals: dict[str, Any] = field(default_factory=dict)
    blocks: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> TerraformDir:
        loaded = cls(path)
        for file in sorted(path.glob("*.tf")):
            document = parse_file(file)
            for kind, entries in document.items():
                loaded.blocks.setdefault(kind, []).extend(entries)
                for entry in entries:
                    loaded._absorb(kind, entry, file)
        return loaded

    def _absorb(self, kind: str, entry: dict[str, Any], file: Path) -> None:
        if kind == "variable":
            for name, body in body_items(entry):
                self.variables[unquote(name)] = Variable(unquote(name), body)
        elif kind == "output":
            for name, body in body_items(entry):
                self.outputs[unquote(name)] = body
        elif kind == "module":
            for name, body in body_items(entry):
                self.module_calls[unquote(name)] = body
        elif kind == "locals":
            self.locals.update(dict(body_items(entry)))
        elif kind in ("resource", "data"):
            target = self.resources if kind == "resource" else self.data_sources
            for type_name, named in body_items(entry):
                for name, body in body_items(named):
                    target.append((unquote(type_name), unquote(name), body, file))

    def module_source(self, call: str) -> Path | None:
        source = strip_interpolation(self.module_calls[call]["source"])
        if not source.startswith("."):
            return None
        return (self.path / source).resolve()


@cache
def provider_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())


REFERENCE = re.compile(
    r"(?<![\w.])(?:(data)\.)?((?:aws|archive|random)_[a-z0-9_]+)\.([a-zA-Z_][\w-]*)"
    r"(?:\[[^\]]*\])?((?:\.[a-zA-Z_]\w*)*)"
)
MODULE_OUTPUT_REFERENCE = re.compile(r"(?<![\w.])module\.([a-zA-Z_][\w-]*)(?:\[[^\]]*\])?\.([a-zA-Z_]\w*)")


def expressions(value: Any) -> Iterator[str]:
    """Every string in a parsed body: the places expressions live."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, inner in body_items(value):
            yield key
            yield from expressions(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from expressions(inner)
