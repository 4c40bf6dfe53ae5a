"""Run the project's own terraform commands: validate, test, plan and apply, here and on a laptop.

Every command runs on a copy of the Terraform tree under build/terraform/tree, never in
the repository (so no .terraform folders or state land in a checkout), with a CLI
configuration that the project writes itself (build/terraform/cli.tfrc):

- where a filesystem mirror of hashicorp/aws exists (an air-gapped machine, this
  project's CI), providers come only from it, symlinked rather than copied;
- elsewhere terraform downloads them as usual, into a shared plugin cache under build/.

When the newest aws provider that can be installed is 5.x, the copy gets the rewrites
listed in tools/tfcompat.py (and nothing else).

    python -m tools.tfrun validate          # init -backend=false + validate every root, 0 warnings
    python -m tools.tfrun test [MODULE ...] # terraform test per module and for the root stack
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tools import tfcompat
from tools.progress import heartbeat

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = REPO_ROOT / "build" / "terraform"
TREE = BUILD_DIR / "tree"
# What the copy holds: everything terraform reads from these folders, relative to the repo.
TERRAFORM_FOLDERS = ("modules", "terraform", "environments")
COPIED_SUFFIXES = (".tf", ".tfvars", ".hcl", ".json", ".py", ".zip", ".tftpl")
SKIPPED_NAMES = {".terraform", "backend.hcl", "__pycache__"}
AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"
# Terraform's own implied local mirror folders on Linux and macOS, plus /opt/tf-plugins, where
# machine images for air-gapped CI put one. TF_PROVIDER_MIRROR names any other.
MIRROR_CANDIDATES = (
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
    "/opt/tf-plugins",
)
MINIMUM_TERRAFORM = (1, 10)


class TerraformMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Toolchain:
    terraform: str
    version: str
    mirror: Path | None
    aws_versions: tuple[str, ...]

    @property
    def needs_compat(self) -> bool:
        """True when the newest aws provider this machine can install is older than 6."""
        if self.mirror is None:
            return False
        return max(int(version.split(".")[0]) for version in self.aws_versions) < 6


def install_hint() -> str:
    return (
        "terraform >= 1.10 is needed: install it from https://developer.hashicorp.com/terraform/install "
        "(or `brew install hashicorp/tap/terraform`, or your distribution's hashicorp apt/yum repository)."
    )


def find_mirror() -> tuple[Path | None, tuple[str, ...]]:
    candidates = [os.environ.get("TF_PROVIDER_MIRROR", ""), *MIRROR_CANDIDATES]
    for candidate in filter(None, candidates):
        root = Path(candidate).expanduser()
        provider_dir = root / AWS_PROVIDER
        if provider_dir.is_dir():
            versions = tuple(sorted(p.name for p in provider_dir.iterdir() if p.is_dir()))
            if versions:
                return root, versions
    return None, ()


def _version_of(candidate: str) -> str | None:
    try:
        completed = subprocess.run(
            [candidate, "version", "-json"], capture_output=True, text=True, timeout=60, env=terraform_env()
        )
        return str(json.loads(completed.stdout)["terraform_version"])
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        return None


def _is_recent(version: str) -> bool:
    return tuple(int(part) for part in version.split(".")[:2]) >= MINIMUM_TERRAFORM


@cache
def toolchain() -> Toolchain:
    """The first terraform >= 1.10 on PATH (an older one earlier on PATH is passed over)."""
    seen: list[str] = []
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        candidate = shutil.which("terraform", path=directory) if directory else None
        if candidate is None or candidate in seen:
            continue
        seen.append(candidate)
        version = _version_of(candidate)
        if version is not None and _is_recent(version):
            mirror, versions = find_mirror()
            return Toolchain(candidate, version, mirror, versions)
    if seen:
        raise TerraformMissing(f"no terraform >= 1.10 on PATH (found {', '.join(seen)}). {install_hint()}")
    raise TerraformMissing(f"terraform is not on PATH. {install_hint()}")


def cli_config_text(mirror: Path | None, plugin_cache: Path) -> str:
    if mirror is None:
        return f'plugin_cache_dir = "{plugin_cache}"\n'
    return (
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f'    path    = "{mirror}"\n'
        f'    include = ["{AWS_PROVIDER}"]\n'
        "  }\n"
        "}\n"
    )


def terraform_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every terraform command: the project's CLI config, no prompts."""
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    config = BUILD_DIR / "cli.tfrc"
    mirror, _ = find_mirror()
    plugin_cache = BUILD_DIR / "plugin-cache"
    plugin_cache.mkdir(exist_ok=True)
    text = cli_config_text(mirror, plugin_cache)
    if not config.exists() or config.read_text() != text:
        config.write_text(text)
    env = dict(os.environ)
    env.update(
        {
            "TF_CLI_CONFIG_FILE": str(config),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
        }
    )
    env.pop("TF_DATA_DIR", None)
    env.update(extra or {})
    return env


def _wanted_files(source_root: Path) -> Iterable[Path]:
    for folder in TERRAFORM_FOLDERS:
        base = source_root / folder
        if not base.is_dir():
            continue
        for path in base.rglob("*"):
            if path.is_file() and path.suffix in COPIED_SUFFIXES and not SKIPPED_NAMES & set(path.parts):
                yield path


def sync_tree(compat: bool, source_root: Path = REPO_ROOT, tree: Path = TREE) -> Path:
    """Makes `tree` hold the Terraform files of `source_root` (rewritten for 5.100 when
    `compat`), keeping each root's .terraform folder and lock file so re-inits are fast."""
    wanted: dict[Path, bytes] = {}
    for path in _wanted_files(source_root):
        relative = path.relative_to(source_root)
        data = path.read_bytes()
        if compat and path.suffix in (".tf", ".hcl"):
            data = tfcompat.rewrite(data.decode()).encode()
        wanted[relative] = data
    for relative, data in wanted.items():
        target = tree / relative
        if not target.exists() or target.read_bytes() != data:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    for folder in TERRAFORM_FOLDERS:
        base = tree / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*"), reverse=True):
            if SKIPPED_NAMES & set(path.relative_to(tree).parts) or path.name.startswith(".terraform"):
                continue
            relative = path.relative_to(tree)
            if path.is_file() and relative not in wanted and not _is_state(path):
                path.unlink()
    # lambda_src is read by nothing in the copy; the zips come from `make build`.
    return tree


def _is_state(path: Path) -> bool:
    return (
        path.name.endswith((".tfstate", ".tfstate.backup", ".tfplan"))
        or path.suffix == ".zip"
        or path.name in (TWIN_OVERRIDE, TWIN_BACKEND_OVERRIDE)
    )


# Every service the modules and the stack call, for the twin's provider override.
TWIN_SERVICES = (
    "apigatewayv2",
    "cloudwatch",
    "dynamodb",
    "ec2",
    "elasticache",
    "fis",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "sfn",
    "sns",
    "sqs",
    "ssm",
    "sts",
)
TWIN_OVERRIDE = "twin_override.tf"
TWIN_BACKEND_OVERRIDE = "twin_backend_override.tf"
# us-east-2: where AWS documents Lambda durable functions (terraform/variables.tf, durable_function_regions),
# so the twin runs the whole stack, checkout-durable included, in a region AWS would accept it in.
TWIN_REGION = "us-east-2"


def twin_override_text(endpoint_url: str, region: str | None = TWIN_REGION) -> str:
    """A provider override (Terraform merges *_override.tf files into the root's own provider
    block) that points every AWS endpoint at the twin's moto server with fake credentials.
    region None keeps the root's own region (an environment applied into the twin as it is)."""
    endpoints = "\n".join(f'    {service} = "{endpoint_url}"' for service in TWIN_SERVICES)
    region_line = f'  region                      = "{region}"\n' if region else ""
    return (
        "# Written by tools.tfrun for runs against the local twin; never committed.\n"
        'provider "aws" {\n'
        f"{region_line}"
        '  access_key                  = "testing"\n'
        '  secret_key                  = "testing"\n'
        "  skip_credentials_validation = true\n"
        "  skip_metadata_api_check     = true\n"
        "  skip_requesting_account_id  = false\n"
        "  s3_use_path_style           = true\n"
        "\n"
        "  endpoints {\n"
        f"{endpoints}\n"
        "  }\n"
        "}\n"
    )


# An environment's own S3 backend, replaced by local state beside the copy when it is applied
# into the twin: the override changes where state lives, and nothing the stack creates.
LOCAL_BACKEND_OVERRIDE = (
    "# Written by tools.tfrun for runs against the local twin; never committed.\n"
    'terraform {\n  backend "local" {}\n}\n'
)


def target_twin(root: Path, endpoint_url: str, region: str | None = TWIN_REGION) -> Path:
    """Points `root` (a folder of the copy) at the twin: the override above, and local state."""
    (root / TWIN_OVERRIDE).write_text(twin_override_text(endpoint_url, region))
    if (root / "backend.tf").exists():
        (root / TWIN_BACKEND_OVERRIDE).write_text(LOCAL_BACKEND_OVERRIDE)
    return root


def prepare() -> Path:
    return sync_tree(toolchain().needs_compat)


def terraform(
    args: Sequence[str],
    root: Path,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 900,
    on_line: Callable[[str], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """One terraform command, in its own process group: on a timeout, an exception or Ctrl-C the
    whole group (terraform and its provider plugins) is ended, so nothing outlives the caller.
    `on_line` sees each line of standard output as terraform prints it (for progress)."""
    argv = [toolchain().terraform, f"-chdir={root}", *args]
    process = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=terraform_env(env),
        start_new_session=True,
    )
    try:
        if on_line is None:
            stdout, stderr = process.communicate(timeout=timeout)
        else:
            stdout, stderr = _streamed(process, on_line, timeout)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)


def _streamed(
    process: subprocess.Popen[str], on_line: Callable[[str], None], timeout: float
) -> tuple[str, str]:
    """Standard output line by line while standard error drains on a thread (so neither pipe fills)."""
    assert process.stdout is not None and process.stderr is not None
    errors: list[str] = []
    drain = threading.Thread(target=lambda: errors.append(process.stderr.read()), daemon=True)
    drain.start()
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line)
        on_line(line)
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(process.args, timeout)
    process.wait(timeout=max(1.0, deadline - time.monotonic()))
    drain.join(timeout=5)
    return "".join(lines), "".join(errors)


class ApplyProgress:
    """Resources done out of planned, from `terraform apply -json`'s machine-readable UI
    (developer.hashicorp.com/terraform/internals/machine-readable-ui: planned_change,
    change_summary, apply_complete, apply_errored, diagnostic), reported at most every
    `every_seconds` and when the apply ends. Errors are kept as terraform words them."""

    def __init__(
        self, report: Callable[[str], None], every_seconds: float = 5.0, what: str = "terraform apply"
    ):
        self.report = report
        self.every_seconds = every_seconds
        self.what = what
        self.planned = 0
        self.done = 0
        self.errors: list[str] = []
        self.started = time.monotonic()
        self._last_report = self.started

    def __call__(self, line: str) -> None:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            return
        kind = message.get("type")
        if kind == "change_summary" and message.get("changes", {}).get("operation") == "plan":
            changes = message["changes"]
            self.planned = changes.get("add", 0) + changes.get("change", 0) + changes.get("remove", 0)
            self._emit(force=True)
        elif kind == "apply_complete" and message.get("hook", {}).get("action") != "read":
            # Data sources are read (action "read") before the plan is summed up: not a planned change.
            self.done += 1
            self._emit()
        elif kind == "diagnostic" and message.get("@level") == "error":
            diagnostic = message.get("diagnostic", {})
            self.errors.append(f"{diagnostic.get('summary', '')}: {diagnostic.get('detail', '')}".strip(": "))
        elif kind == "change_summary":
            self._emit(force=True)

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        return f"{self.what}: {self.done}/{self.planned} resources ({elapsed:.0f} s)"

    def remind(self, quiet_seconds: float = 15.0) -> None:
        """Reports where the apply stands when nothing has been reported for `quiet_seconds`: one
        resource (a cache, a replication group) can take a minute, and a count that does not move
        still shows the apply is alive. Called from a timer (tools.progress.heartbeat)."""
        if time.monotonic() - self._last_report >= quiet_seconds:
            self._emit(force=True)

    def _emit(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_report >= self.every_seconds:
            self._last_report = now
            self.report(self.line())


def init(root: Path, *, backend: bool = False) -> subprocess.CompletedProcess[str]:
    args = ["init", "-input=false", "-no-color"]
    if not backend:
        args.append("-backend=false")
    return terraform(args, root)


def plan_to_file(
    root: Path, package_zip: Path, plan_file: Path, *, backend: bool = False
) -> subprocess.CompletedProcess[str]:
    """`terraform init`, then `plan -out=plan_file` of a root with the function package: what
    `make plan ENV=twin` and the idle-cost report both run against an empty twin (the root
    already pointed at it with `target_twin`). The first command that fails is the one returned."""
    initialised = init(root, backend=backend)
    if initialised.returncode != 0:
        return initialised
    return terraform(
        [
            "plan",
            "-input=false",
            "-no-color",
            f"-out={plan_file}",
            f"-var=function_package_zip={package_zip}",
        ],
        root,
    )


def roots(tree: Path = TREE) -> list[Path]:
    """Every root that validate covers: modules, their examples, the stack, every environment."""
    found: list[Path] = []
    for module in sorted((tree / "modules").iterdir()):
        if module.is_dir():
            found.append(module)
            found.extend(sorted(p for p in (module / "examples").glob("*") if p.is_dir()))
    found.append(tree / "terraform")
    found.extend(sorted(p for p in (tree / "environments").iterdir() if p.is_dir()))
    return found


@dataclass
class ValidateResult:
    root: str
    ok: bool
    errors: int
    warnings: int
    detail: str
    seconds: float


def validate_root(root: Path, tree: Path = TREE) -> ValidateResult:
    started = time.monotonic()
    name = str(root.relative_to(tree))
    initialised = init(root)
    if initialised.returncode != 0:
        return ValidateResult(name, False, 1, 0, initialised.stdout + initialised.stderr, 0.0)
    result = terraform(["validate", "-json", "-no-color"], root)
    report = json.loads(result.stdout)
    diagnostics = "\n".join(
        f"{d['severity']}: {d['summary']}: {d.get('detail', '')} ({d.get('range', {}).get('filename', '')}:"
        f"{d.get('range', {}).get('start', {}).get('line', '')})"
        for d in report.get("diagnostics", [])
    )
    errors, warnings = report["error_count"], report["warning_count"]
    return ValidateResult(
        name, errors == 0 and warnings == 0, errors, warnings, diagnostics, time.monotonic() - started
    )


def test_root(root: Path, extra: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    initialised = init(root)
    if initialised.returncode != 0:
        return initialised
    return terraform(["test", "-no-color", *extra], root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=["validate", "test"])
    parser.add_argument("roots", nargs="*", help="paths relative to the repository (default: all)")
    args = parser.parse_args(argv)
    try:
        chain = toolchain()
    except TerraformMissing as missing:
        print(missing, file=sys.stderr)
        return 2
    tree = prepare()
    print(
        f"terraform {chain.version}; aws provider from "
        f"{chain.mirror or 'the registry'} {', '.join(chain.aws_versions)}"
        f"{' (5.100 compatibility copy: tools/tfcompat.py)' if chain.needs_compat else ''}"
    )
    if args.action == "validate":
        selected = [tree / r for r in args.roots] if args.roots else roots(tree)
        failed = 0
        for root in selected:
            outcome = validate_root(root, tree)
            status = "ok" if outcome.ok else "FAILED"
            print(f"  {status:6} {outcome.root} ({outcome.seconds:.1f} s)")
            if not outcome.ok:
                failed += 1
                print(outcome.detail)
        return 1 if failed else 0
    selected = (
        [tree / r for r in args.roots]
        if args.roots
        else [*sorted(p.parent for p in (tree / "modules").glob("*/tests")), tree / "terraform"]
    )
    failed = 0
    for root in selected:
        with heartbeat(f"terraform test {root.relative_to(tree)}"):
            result = test_root(root)
        print(f"== terraform test {root.relative_to(tree)}: {'ok' if result.returncode == 0 else 'FAILED'}")
        if result.returncode != 0:
            failed += 1
            print(result.stdout + result.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
