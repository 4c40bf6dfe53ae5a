"""The build and deploy helpers refuse clearly and package what the runtime lacks."""

from __future__ import annotations

import importlib.metadata
import io
import re
import tomllib
import zipfile
from pathlib import Path

import botocore
import botocore.session
import pytest

from tools import build, deploy, tfrun
from tools.packaging import function_zip


def canonical(requirement: str) -> str:
    return build.canonical_name(re.split(r"[\[=<>!~; ]", requirement, maxsplit=1)[0])


def closure(distribution: str, seen: set[str] | None = None) -> set[str]:
    """The distribution and everything it requires (extras aside), from the installed metadata."""
    seen = set() if seen is None else seen
    name = build.canonical_name(distribution)
    if name in seen:
        return seen
    seen.add(name)
    for requirement in importlib.metadata.requires(name) or []:
        if "extra ==" not in requirement:
            closure(canonical(requirement), seen)
    return seen


def test_layer_ships_the_durable_sdk_and_boto3_pinned() -> None:
    """The durable SDK (AWS: the runtime's copy is for testing and development) and the boto3
    that knows the durable execution operations go into the layer, at pyproject's pins: nothing
    in their closure is stripped as if the runtime provided it."""
    pyproject = tomllib.loads((build.REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    requirements = build.layer_requirements()
    assert requirements == pyproject, "every runtime dependency goes into the layer, as pinned"
    assert {"boto3==1.44.5"} <= set(requirements)
    assert any(r.startswith("aws-durable-execution-sdk-python==") for r in requirements)
    assert all("==" in r for r in requirements), "layer contents must be pinned"
    shipped = closure("boto3") | closure("aws-durable-execution-sdk-python")
    assert "botocore" in shipped
    assert not shipped & build.PROVIDED_BY_RUNTIME


def test_layer_pip_command_pins_the_closure_to_the_constraints(tmp_path: Path) -> None:
    command = build.pip_command(tmp_path, "arm64", "3.13")
    constraints = Path(command[command.index("--constraint") + 1])
    pinned = {line.split("==")[0] for line in constraints.read_text().splitlines() if "==" in line}
    assert {"botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil"} <= pinned


def test_layer_boto3_knows_the_durable_execution_operations() -> None:
    """What checkout and the SDK call exist in the botocore that the layer pins."""
    model = botocore.session.get_session().get_service_model("lambda")
    assert botocore.__version__ == constraint_version("botocore")
    assert {
        "CheckpointDurableExecution",
        "GetDurableExecutionState",
        "GetDurableExecution",
        "GetDurableExecutionHistory",
        "SendDurableExecutionCallbackSuccess",
        "SendDurableExecutionCallbackFailure",
    } <= set(model.operation_names)
    assert "DurableExecutionName" in model.operation_model("Invoke").input_shape.members


def constraint_version(distribution: str) -> str:
    for line in (build.REPO_ROOT / "constraints.txt").read_text().splitlines():
        if line.split("==")[0] == distribution:
            return line.split("==")[1].strip()
    raise AssertionError(f"{distribution} is not pinned in constraints.txt")


def test_runtime_provided_distributions_are_removed_by_their_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "python"

    def install(distribution: str, files: dict[str, str]) -> None:
        dist_info = site / f"{distribution}.dist-info"
        dist_info.mkdir(parents=True)
        for relative, text in files.items():
            (site / relative).parent.mkdir(parents=True, exist_ok=True)
            (site / relative).write_text(text)
        record = [f"{relative},sha256=x,1" for relative in files] + [f"{distribution}.dist-info/RECORD,,"]
        (dist_info / "RECORD").write_text("\n".join(record) + "\n")

    install("botocore-1.44.8", {"botocore/__init__.py": "", "botocore/data/x.json": "{}"})
    install("python_dateutil-2.9.0.post0", {"dateutil/__init__.py": ""})
    install("six-1.17.0", {"six.py": ""})
    install("aws_xray_sdk-2.15.0", {"aws_xray_sdk/__init__.py": "", "aws_xray_sdk/core/x.py": ""})
    (tmp_path / "outside.txt").write_text("kept")
    (site / "botocore-1.44.8.dist-info" / "RECORD").write_text(
        "botocore/__init__.py,,\n../outside.txt,,\n/etc/hostname,,\n"
    )

    monkeypatch.setattr(build, "PROVIDED_BY_RUNTIME", frozenset({"botocore", "python-dateutil", "six"}))
    removed = build.remove_runtime_provided(site)

    assert removed == ["botocore", "python-dateutil", "six"]
    left = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    assert left == [
        "aws_xray_sdk-2.15.0.dist-info/RECORD",
        "aws_xray_sdk/__init__.py",
        "aws_xray_sdk/core/x.py",
        "botocore/data/x.json",
    ]
    assert (tmp_path / "outside.txt").read_text() == "kept", (
        "only files the removed distributions recorded, and only inside the layer"
    )


def test_layer_pip_command_targets_the_lambda_platform(tmp_path: Path) -> None:
    command = build.pip_command(tmp_path, "arm64", "3.13")
    assert command[command.index("--platform") + 1] == "manylinux2014_aarch64"
    assert "--only-binary=:all:" in command


def test_function_zip_is_reproducible_and_clean() -> None:
    first, second = function_zip(), function_zip()
    assert first == second
    names = zipfile.ZipFile(io.BytesIO(first)).namelist()
    assert "handlers/cart.py" in names and "shop/carts.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_deploy_refuses_without_terraform(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    tfrun.toolchain.cache_clear()
    try:
        assert deploy.main(["plan", "dev"]) == 2
    finally:
        tfrun.toolchain.cache_clear()
    assert "terraform is not on PATH" in capsys.readouterr().err


def test_deploy_refuses_without_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.setattr(deploy, "find_terraform", lambda: "terraform")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert deploy.main(["apply", "dev"]) == 2
    assert "no AWS credentials" in capsys.readouterr().err


def test_deploy_rejects_unknown_environment(capsys: pytest.CaptureFixture) -> None:
    assert deploy.main(["plan", "qa"]) == 2
    assert "ENV must be one of dev, staging, prod" in capsys.readouterr().err


def test_lambda_example_package_is_its_source() -> None:
    """The examples deploy package.zip; it must hold exactly examples/basic/src, byte for byte."""
    example = Path(__file__).resolve().parents[2] / "modules" / "lambda-function" / "examples" / "basic"
    assert (example / "package.zip").read_bytes() == function_zip(example / "src"), (
        "rebuild it: python -c 'from tools.packaging import write_function_zip; ...'"
    )
