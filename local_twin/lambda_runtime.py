"""What a twin worker may import: only what Lambda's python3.13 runtime would give the function.

Lambda puts these on a Python function's `sys.path`, in this order
(https://docs.aws.amazon.com/lambda/latest/dg/python-package.html#python-package-searchpath, and the
layer folders from https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html#packaging-layers-paths):

    /var/task                                   the function's zip (LAMBDA_TASK_ROOT)
    /opt/python/lib/python3.13/site-packages    the layers, unpacked into /opt in the function's order
    /opt/python
    /var/lang/lib/python3.13/site-packages      the runtime-included libraries (Python 3.11 and later)
    /var/runtime                                the runtime interface client
    /var/lang/lib/python3.13 ...                the standard library

The twin builds the same: the task root is the unpacked zip moto holds; /opt is the layers moto
holds for the function's applied `Layers` (see `function_layers`), unpacked in order; the runtime's
site-packages is a cached folder with the runtime's packages (`RUNTIME_DISTRIBUTIONS`); the standard
library is the worker interpreter's own. A worker runs with `-I -S`, so neither the suite's venv nor
the interpreter's own site-packages is on its path (lambda_worker.py builds `sys.path` from the folders
this module names). A package that is in the venv but not in the function's zip, its layers or the
runtime then fails at init with `Runtime.ImportModuleError`, as in AWS.

The worker is CPython 3.13 where one exists (`TWIN_LAMBDA_PYTHON`, else `python3.13` on PATH, with
`PYENV_VERSION=3.13.0` for pyenv's shim). Elsewhere it is the twin's own interpreter, isolated the same
way, and a warning says so once: the layer is then built for that interpreter's version, so version-
specific failures (syntax, removed modules) are not caught.

Packages are built once per requirement set, Python version and platform into build/lambda-runtime/,
under a file lock and by atomic rename, so two twins starting at once build each folder once.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import uuid
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tools.build import PROVIDED_BY_RUNTIME, canonical_name, layer_requirements, remove_runtime_provided
from tools.packaging import pip_install_command
from tools.progress import heartbeat

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_ROOT = REPO_ROOT / "build" / "lambda-runtime"
CONSTRAINTS = REPO_ROOT / "constraints.txt"
LAMBDA_PYTHON = (3, 13)
PYTHON_OVERRIDE_VARIABLE = "TWIN_LAMBDA_PYTHON"

# What the python3.13 runtime ships for functions to import:
# - the SDK for Python (Boto3) with its dependencies ("Your code runs in an environment that includes
#   the SDK for Python (Boto3)", https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html);
# - the durable execution SDK ("Lambda Node.js and Python runtimes include the durable execution SDK
#   for testing and development", https://docs.aws.amazon.com/lambda/latest/dg/durable-supported-runtimes.html).
# The runtime interface client (awslambdaric) is in /var/runtime too, but AWS documents it as the
# runtime's, not as a library for functions; the twin leaves it out rather than let a function rely on it.
RUNTIME_DISTRIBUTIONS = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "urllib3",
    "python-dateutil",
    "six",
    "aws-durable-execution-sdk-python",
)
# AWS documents no fixed SDK version for a runtime: "The version of the AWS SDK included in the Python
# runtime depends on the runtime version and your AWS Region" (lambda-python.html#python-sdk-included,
# which tells you to print boto3.__version__ in a function to find it). The twin gives the runtime the
# versions the project pins in constraints.txt; a team that measured its region's runtime can set
# TWIN_LAMBDA_RUNTIME_PINS (e.g. "boto3==1.40.4 botocore==1.40.4") to test against that instead.
RUNTIME_PINS_VARIABLE = "TWIN_LAMBDA_RUNTIME_PINS"


class RuntimeBuildFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class WorkerPython:
    """The interpreter that runs the twin's Lambda workers."""

    executable: str
    version: tuple[int, int]

    @property
    def is_lambdas(self) -> bool:
        return self.version == LAMBDA_PYTHON

    @property
    def tag(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    def command(self, script: Path, *arguments: str) -> list[str]:
        # -I: no PYTHON* variables, no user site, no script folder on sys.path; -S: no site-packages
        # at all (not the venv's, not the interpreter's own); -u: unbuffered, as Lambda's stdout is.
        return [self.executable, "-I", "-S", "-u", str(script), *arguments]


def _probe(executable: str, env: dict[str, str] | None = None) -> WorkerPython | None:
    try:
        result = subprocess.run(
            [executable, "-I", "-S", "-c", "import sys; print(sys.executable); print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    real, version = result.stdout.splitlines()[:2]
    major, minor = (int(part) for part in version.split())
    # The resolved interpreter, not pyenv's shim: no shell script per worker start, no PYENV_VERSION.
    return WorkerPython(real or executable, (major, minor))


@cache
def worker_python() -> WorkerPython:
    """TWIN_LAMBDA_PYTHON if set (it must run), else python3.13 from PATH, else this interpreter."""
    override = os.environ.get(PYTHON_OVERRIDE_VARIABLE)
    if override:
        found = _probe(override)
        if found is None:
            raise RuntimeBuildFailed(f"{PYTHON_OVERRIDE_VARIABLE}={override} does not run")
        return found
    name = f"python{LAMBDA_PYTHON[0]}.{LAMBDA_PYTHON[1]}"
    located = shutil.which(name)
    if located:
        env = {**os.environ, "PYENV_VERSION": os.environ.get("PYENV_VERSION", "3.13.0")}
        found = _probe(located, env)
        if found is not None and found.is_lambdas:
            return found
    current = WorkerPython(sys.executable, sys.version_info[:2])
    warnings.warn(
        f"no CPython {name} found (set {PYTHON_OVERRIDE_VARIABLE}): the twin's Lambda workers run on "
        f"Python {current.tag}, with the runtime's packages only, but not on Lambda's Python version",
        RuntimeWarning,
        stacklevel=2,
    )
    return current


def runtime_requirements() -> list[str]:
    """RUNTIME_DISTRIBUTIONS at constraints.txt's versions, or as TWIN_LAMBDA_RUNTIME_PINS says."""
    override = os.environ.get(RUNTIME_PINS_VARIABLE, "").split()
    pinned: dict[str, str] = {}
    for line in CONSTRAINTS.read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            pinned[canonical_name(match[1])] = match[2]
    for requirement in override:
        name, _, version = requirement.partition("==")
        pinned[canonical_name(name)] = version
    missing = [name for name in RUNTIME_DISTRIBUTIONS if name not in pinned]
    if missing:
        raise RuntimeBuildFailed(f"no pinned version for the runtime's {missing} in {CONSTRAINTS}")
    return [f"{name}=={pinned[name]}" for name in RUNTIME_DISTRIBUTIONS]


def _platform_tag() -> str:
    return re.sub(r"[^A-Za-z0-9_.]", "_", sysconfig.get_platform())


@contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    """One builder per cache entry across processes: a second twin waits, then finds it built."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pip_install(target: Path, requirements: Sequence[str], python: WorkerPython) -> None:
    """Wheels for the worker's Python version and this machine's platform (pip's own tags for it)."""
    command = pip_install_command(target, python.tag, requirements)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeBuildFailed(f"pip could not install {list(requirements)}:\n{result.stderr[-4000:]}")


def _cached_folder(
    kind: str,
    requirements: Sequence[str],
    python: WorkerPython,
    finish: Any = None,
    also_keyed_by: Any = None,
) -> Path:
    """build/lambda-runtime/<kind>-py<version>-<hash>: `requirements` installed for `python`.

    Built in a staging folder and renamed into place under a lock, so a folder that exists is
    complete, and two twins starting at once build it once."""
    key = [kind, sorted(requirements), python.tag, _platform_tag(), also_keyed_by]
    digest = hashlib.sha256(json.dumps(key).encode())
    final = CACHE_ROOT / f"{kind}-py{python.tag}-{digest.hexdigest()[:16]}"
    if final.exists():
        return final
    with _exclusive(final.with_name(final.name + ".lock")):
        if final.exists():
            return final
        staging = final.with_name(f"{final.name}.tmp-{uuid.uuid4().hex[:8]}")
        what = f"twin: installing the Lambda runtime's {kind} for python{python.tag} (once per machine)"
        print(f"{what} ...", flush=True)
        try:
            with heartbeat(what):
                _pip_install(staging / "site", requirements, python)
            if finish is not None:
                finish(staging)
            staging.rename(final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return final


_FIXED_TIMESTAMP = (2020, 1, 1, 0, 0, 0)


def _zip_tree(root: Path, prefix: str) -> bytes:
    """The same bytes for the same files, so Terraform's source_code_hash is stable across builds."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_dir() or "__pycache__" in path.parts:
                continue
            info = zipfile.ZipInfo(f"{prefix}/{path.relative_to(root).as_posix()}", _FIXED_TIMESTAMP)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def twin_layer_zip(python: WorkerPython | None = None) -> Path:
    """The dependencies layer as tools/build.py makes it (its requirements, less what it strips as the
    runtime's), but built for the worker's Python and this machine, for the twin's apply to upload."""
    python = python or worker_python()

    def package(staging: Path) -> None:
        remove_runtime_provided(staging / "site")
        (staging / "dependencies.zip").write_bytes(_zip_tree(staging / "site", "python"))

    # Keyed by what tools/build.py strips too: a change there rebuilds the twin's layer.
    stripped = sorted(PROVIDED_BY_RUNTIME)
    return _cached_folder("layer", layer_requirements(), python, package, stripped) / "dependencies.zip"


def runtime_site_packages(python: WorkerPython | None = None) -> Path:
    """The runtime-included libraries (Lambda's /var/lang/lib/python3.13/site-packages)."""
    return _cached_folder("runtime", runtime_requirements(), python or worker_python()) / "site"


def prepare() -> tuple[WorkerPython, Path, Path]:
    """Finds the worker's Python and builds (or finds) the layer and the runtime folder."""
    python = worker_python()
    return python, twin_layer_zip(python), runtime_site_packages(python)


@dataclass(frozen=True)
class LayerContent:
    arn: str
    code: bytes


def function_layers(function: Any) -> tuple[LayerContent, ...]:
    """The layers of a moto LambdaFunction as applied, in order, with the zip moto stores for each.
    A layer moto has no content for (another account's, such as AWS's public Powertools layer) comes
    back empty: the twin cannot download it, so the worker goes without, and says so in its init log."""
    from moto.awslambda.models import lambda_backends

    backend = lambda_backends[function.account_id][function.region]
    layers = []
    for layer in function.layers or []:
        version = backend.layers_versions_by_arn(layer["Arn"])
        layers.append(LayerContent(layer["Arn"], bytes(getattr(version, "code_bytes", b"") or b"")))
    return tuple(layers)


def unpack_layers(layers: Iterable[LayerContent], opt: Path) -> None:
    """Extracts the layers into `opt` in the function's order, a later layer's files replacing an
    earlier one's, as Lambda merges them into /opt
    (https://docs.aws.amazon.com/lambda/latest/dg/chapter-layers.html)."""
    opt.mkdir(parents=True, exist_ok=True)
    for layer in layers:
        if layer.code:
            with zipfile.ZipFile(io.BytesIO(layer.code)) as archive:
                archive.extractall(opt)


@dataclass(frozen=True)
class WorkerRuntime:
    """How a worker starts: the interpreter, and the folders its sys.path is made of."""

    python: WorkerPython
    site_packages: Path

    @classmethod
    def prepare(cls) -> WorkerRuntime:
        python, _, site_packages = prepare()
        return cls(python, site_packages)

    def search_path(self, task_root: Path, opt: Path) -> dict[str, list[str]]:
        """Lambda's order; `site_dirs` are the ones whose .pth files Python's site module would read."""
        layer_site = opt / "python" / "lib" / f"python{self.python.tag}" / "site-packages"
        return {
            "path": [str(task_root), str(layer_site), str(opt / "python"), str(self.site_packages)],
            "site_dirs": [str(layer_site), str(self.site_packages)],
        }

    def command(self, script: Path, task_root: Path, opt: Path) -> list[str]:
        return self.python.command(script, json.dumps(self.search_path(task_root, opt)))
