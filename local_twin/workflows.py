"""Renders an ASL template the way Terraform's templatefile() does for plain `${name}`
placeholders, so the twin deploys the very file that terraform/ deploys."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholders(template: str) -> set[str]:
    return set(PLACEHOLDER.findall(template))


def render(template_path: Path, variables: Mapping[str, str]) -> str:
    template = template_path.read_text()
    missing = placeholders(template) - set(variables)
    if missing:
        raise KeyError(f"{template_path.name} needs values for {sorted(missing)}")
    rendered = PLACEHOLDER.sub(lambda match: variables[match.group(1)], template)
    json.loads(rendered)  # a template must render to JSON, as Step Functions requires
    return rendered
