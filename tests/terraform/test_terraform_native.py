"""`terraform test` (mock providers) per module, and `terraform validate` of the roots.

Both need a terraform >= 1.7 that can download the providers' schemas. Where that is
impossible (no network, or only the fmt-only terraform 1.0.3) they skip and say why;
the users' CI (.github/workflows/ci.yml) runs them for real.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from tools import hcl

MODULES = sorted(path for path in (hcl.REPO_ROOT / "modules").iterdir() if (path / "tests").is_dir())


@cache
def usable_terraform() -> tuple[str | None, str]:
    for candidate in filter(
        None, [shutil.which("terraform"), "/usr/local/bin/terraform", "/usr/bin/terraform"]
    ):
        try:
            version = json.loads(
                subprocess.run(
                    [candidate, "version", "-json"], capture_output=True, text=True, timeout=30
                ).stdout
            )["terraform_version"]
        except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
            continue
        major, minor = (int(part) for part in version.split(".")[:2])
        if (major, minor) >= (1, 10):
            return candidate, version
    return None, "no terraform >= 1.10 on this machine (terraform 1.0.3 from PyPI is for fmt only)"


@cache
def initialised(module: Path) -> tuple[bool, str]:
    terraform, reason = usable_terraform()
    if terraform is None:
        return False, reason
    result = subprocess.run(
        [terraform, "init", "-backend=false", "-input=false", "-no-color"],
        cwd=module,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        errors = [line.strip(" │") for line in result.stderr.splitlines() if "Error" in line]
        return (
            False,
            f"terraform init cannot fetch the providers here ({errors[0] if errors else 'init failed'})",
        )
    return True, ""


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_module_terraform_test(module: Path) -> None:
    assert list((module / "tests").glob("*.tftest.hcl")), f"{module.name} has no .tftest.hcl"
    ready, reason = initialised(module)
    if not ready:
        pytest.skip(reason)
    terraform, _ = usable_terraform()
    result = subprocess.run(
        [terraform, "test", "-no-color"], cwd=module, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
