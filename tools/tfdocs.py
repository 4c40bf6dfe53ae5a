"""Inputs/outputs tables in terraform-docs' markdown format, between the markers.

`make docs` rewrites every module README; `tests/terraform/test_conventions.py`
fails when a README's tables differ from what this generates. terraform-docs is a
Go binary that this machine cannot download, so the same format is produced here.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from tools import hcl

BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
MODULES_DIR = hcl.REPO_ROOT / "modules"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _anchor(kind: str, name: str) -> str:
    escaped = name.replace("_", "\\_")
    return f'<a name="{kind}_{name}"></a> [{name}](#{kind}\\_{escaped})'


def _render_value(value: Any) -> str:
    if isinstance(value, str):
        stripped = hcl.strip_interpolation(value)
        if value.startswith("${"):
            return f"`{stripped}`"
        return f'`"{stripped}"`'
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, dict):
        cleaned = {k: v for k, v in value.items() if not k.startswith("__")}
        return f"`{json.dumps(cleaned, separators=(', ', ': '))}`" if cleaned else "`{}`"
    return f"`{json.dumps(value)}`"


def _render_type(type_text: str | None) -> str:
    if type_text is None:
        return "`any`"
    single_line = re.sub(r"\s+", " ", type_text)
    return f"`{single_line}`"


def _provider_lines(module_dir: Path) -> list[str]:
    versions = {}
    for block in hcl.TerraformDir.load(module_dir).blocks.get("terraform", []):
        for providers in block.get("required_providers", []):
            for name, spec in hcl.body_items(providers):
                versions[name] = hcl.strip_interpolation(spec.get("version", ""))
        if "required_version" in block:
            versions = {"terraform": hcl.strip_interpolation(block["required_version"]), **versions}
    lines = ["## Requirements", "", "| Name | Version |", "|------|---------|"]
    lines += [
        f"| {_anchor('requirement', name)} | {_escape(version)} |" for name, version in versions.items()
    ]
    return lines


def render(module_dir: Path) -> str:
    loaded = hcl.TerraformDir.load(module_dir)
    lines = [BEGIN, *_provider_lines(module_dir), "", "## Inputs", ""]
    lines += [
        "| Name | Description | Type | Default | Required |",
        "|------|-------------|------|---------|:--------:|",
    ]
    ordered = sorted(loaded.variables.values(), key=lambda v: (not v.required, v.name))
    for variable in ordered:
        default = "n/a" if variable.required else _render_value(variable.body.get("default"))
        lines.append(
            f"| {_anchor('input', variable.name)} | {_escape(variable.description or '')} | "
            f"{_escape(_render_type(variable.type))} | {_escape(default)} | {'yes' if variable.required else 'no'} |"
        )
    lines += ["", "## Outputs", "", "| Name | Description |", "|------|-------------|"]
    for name in sorted(loaded.outputs):
        description = hcl.strip_interpolation(loaded.outputs[name].get("description", ""))
        lines.append(f"| {_anchor('output', name)} | {_escape(description)} |")
    lines.append(END)
    return "\n".join(lines)


def current_block(readme: Path) -> str | None:
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        return None
    return text[text.index(BEGIN) : text.index(END) + len(END)]


def write(readme: Path, module_dir: Path) -> bool:
    generated = render(module_dir)
    text = readme.read_text()
    block = current_block(readme)
    updated = text.replace(block, generated) if block else f"{text.rstrip()}\n\n{generated}\n"
    if updated != text:
        readme.write_text(updated)
        return True
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite the tables in place")
    args = parser.parse_args(argv)
    stale = []
    for module_dir in sorted(path for path in MODULES_DIR.iterdir() if path.is_dir()):
        readme = module_dir / "README.md"
        if args.write:
            if write(readme, module_dir):
                print(f"updated {readme.relative_to(hcl.REPO_ROOT)}")
        elif current_block(readme) != render(module_dir):
            stale.append(str(readme.relative_to(hcl.REPO_ROOT)))
    if stale:
        print("stale README tables (run `make docs`): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
