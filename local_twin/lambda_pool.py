"""Execution environments for moto's Lambda, without Docker.

moto runs Lambda code in Docker, which this project cannot assume. The twin swaps
moto's `LambdaFunction.invoke` for `invoke()` below. Each function gets a pool of
warm worker processes (see lambda_worker.py), keyed by its code and configuration,
so an update of either starts fresh environments as a deployment does in AWS.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import selectors
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_twin import faults
from local_twin.lambda_runtime import LayerContent, WorkerRuntime, unpack_layers

WORKER_SCRIPT = Path(__file__).with_name("lambda_worker.py")
# Lambda's own ceiling per function is the account quota; the twin caps it lower
# because each environment is a real process on a laptop.
DEFAULT_MAX_ENVIRONMENTS = 16
INIT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    arn: str
    handler: str
    timeout_seconds: float
    memory_mb: int
    environment: dict[str, str]
    code: bytes
    reserved_concurrency: int | None = None
    # The function's layers as applied, in order (moto's Layers, with the zip moto stores for each).
    layers: tuple[LayerContent, ...] = ()

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(self.code)
        layer_arns = [layer.arn for layer in self.layers]
        digest.update(json.dumps([self.handler, self.environment, self.timeout_seconds, layer_arns]).encode())
        return digest.hexdigest()[:16]


@dataclass
class InvocationResult:
    payload: Any
    errored: bool
    log: str
    request_id: str
    cold_start: bool
    duration_ms: float | None = None
    max_memory_used_mb: int | None = None

    def report_line(self, memory_mb: int) -> str:
        """Lambda's REPORT line, which is where an operator reads an environment's peak memory."""
        fields = [f"REPORT RequestId: {self.request_id}"]
        if self.duration_ms is not None:
            fields.append(f"Duration: {self.duration_ms:.2f} ms")
            fields.append(f"Billed Duration: {math.ceil(self.duration_ms)} ms")
        fields.append(f"Memory Size: {memory_mb} MB")
        if self.max_memory_used_mb is not None:
            fields.append(f"Max Memory Used: {self.max_memory_used_mb} MB")
        return "\t".join(fields) + "\n"


class _Environment:
    def __init__(
        self,
        spec: FunctionSpec,
        task_root: Path,
        runtime_env: dict[str, str],
        runtime: WorkerRuntime,
        opt: Path,
        setup_log: str = "",
    ) -> None:
        self.spec = spec
        env = {**runtime_env, **spec.environment}
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": f"twin/{uuid.uuid4().hex}",
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
                "LAMBDA_TASK_ROOT": str(task_root),
                "LAMBDA_RUNTIME_DIR": str(runtime.site_packages),
                "_HANDLER": spec.handler,
                "TWIN_FUNCTION_ARN": spec.arn,
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(faults.caller_environment(spec.name))  # fault rules select calls by function
        self.process = subprocess.Popen(
            runtime.command(WORKER_SCRIPT, task_root, opt),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=task_root,
            env=env,
            text=True,
            bufsize=1,
        )
        self.fresh = True
        ready = self._read_line(INIT_TIMEOUT_SECONDS)
        if ready is None:
            self.kill()
            raise RuntimeError(f"execution environment for {spec.name} did not start")
        self.init_log = setup_log + json.loads(ready).get("init_log", "")

    def _read_line(self, timeout: float) -> str | None:
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                return None
        line = self.process.stdout.readline()
        return line or None

    def invoke(self, event: Any, request_id: str) -> InvocationResult:
        assert self.process.stdin is not None
        deadline = time.time() + self.spec.timeout_seconds
        request = {"event": event, "request_id": request_id, "deadline_ms": int(deadline * 1000)}
        cold, self.fresh = self.fresh, False
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self._read_line(self.spec.timeout_seconds)
        if line is None:
            timed_out = self.process.poll() is None
            self.kill()
            message = (
                f"Task timed out after {self.spec.timeout_seconds:.2f} seconds"
                if timed_out
                else "Runtime exited without providing a reason"
            )
            error_type = "Sandbox.Timedout" if timed_out else "Runtime.ExitError"
            payload = {"errorMessage": f"RequestId: {request_id} Error: {message}", "errorType": error_type}
            return InvocationResult(payload, True, message + "\n", request_id, cold)
        reply = json.loads(line)
        log = (self.init_log if cold else "") + reply["log"]
        return InvocationResult(
            reply["payload"],
            not reply["ok"],
            log,
            request_id,
            cold,
            reply.get("duration_ms"),
            reply.get("max_memory_used_mb"),
        )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@dataclass
class _FunctionPool:
    idle: list[_Environment] = field(default_factory=list)
    busy: int = 0


class TooManyRequests(Exception):
    """Raised when a function is at its concurrency limit, as Lambda's 429 is."""


class LambdaPool:
    def __init__(
        self, runtime_env: dict[str, str], work_dir: Path | None = None, runtime: WorkerRuntime | None = None
    ) -> None:
        self._runtime_env = runtime_env
        self._runtime = runtime
        # Absolute: workers start with the task root as their working directory and path.
        self._work_dir = (work_dir or Path(tempfile.mkdtemp(prefix="twin-lambda-"))).resolve()
        self._work_dir.mkdir(parents=True, exist_ok=True)
        self._pools: dict[str, _FunctionPool] = {}
        self._lock = threading.Lock()
        self._unpacking: dict[Path, threading.Lock] = {}

    def _unpacked(self, root: Path, unpack: Any) -> Path:
        """`root`, unpacked once: the environments that start together (a burst of cold starts)
        wait for the first one's copy instead of each extracting and deleting its own. A profile
        of the server under eight concurrent clients spent two thirds of its time doing that."""
        with self._lock:
            once = self._unpacking.setdefault(root, threading.Lock())
        with once:
            if not root.exists():
                staging = root.with_suffix(".tmp" + uuid.uuid4().hex[:6])
                unpack(staging)
                staging.rename(root)
        return root

    def _task_root(self, spec: FunctionSpec) -> Path:
        def unpack(staging: Path) -> None:
            with zipfile.ZipFile(io.BytesIO(spec.code)) as archive:
                archive.extractall(staging)

        return self._unpacked(self._work_dir / f"{spec.name}-{spec.fingerprint}", unpack)

    def _opt(self, spec: FunctionSpec) -> Path:
        """The function's /opt: its layers, unpacked in the function's order. Functions with the same
        layers share one copy, so Python compiles the layers' modules once per twin, not per function."""
        digest = hashlib.sha256()
        for layer in spec.layers:
            digest.update(layer.arn.encode() + hashlib.sha256(layer.code).digest())
        return self._unpacked(
            self._work_dir / f"opt-{digest.hexdigest()[:16]}",
            lambda staging: unpack_layers(spec.layers, staging),
        )

    def _environment(self, spec: FunctionSpec) -> _Environment:
        if self._runtime is None:
            self._runtime = WorkerRuntime.prepare()
        # A layer the twin has no zip for (another account's) is left out, and the init log says so.
        setup_log = "".join(
            f"twin: no content for layer {layer.arn}; this environment runs without it\n"
            for layer in spec.layers
            if not layer.code
        )
        return _Environment(
            spec, self._task_root(spec), self._runtime_env, self._runtime, self._opt(spec), setup_log
        )

    def _acquire(self, spec: FunctionSpec) -> _Environment:
        key = spec.fingerprint
        # Reserved concurrency 0 throttles every invocation, warm environments or not: AWS's way to
        # stop a function ("Configuring reserved concurrency",
        # https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
        limit = DEFAULT_MAX_ENVIRONMENTS if spec.reserved_concurrency is None else spec.reserved_concurrency
        if faults.throttled(spec.name):  # a lambda-throttle rule: the function as if at a limit of 0
            limit = 0
        with self._lock:
            pool = self._pools.setdefault(key, _FunctionPool())
            if pool.busy >= limit:
                raise TooManyRequests(f"Rate Exceeded: {spec.name} is at its concurrency limit of {limit}")
            while pool.idle:
                environment = pool.idle.pop()
                if environment.alive:
                    pool.busy += 1
                    return environment
            pool.busy += 1
        try:
            environment = self._environment(spec)
        except Exception:
            with self._lock:
                pool.busy -= 1
            raise
        return environment

    def _release(self, spec: FunctionSpec, environment: _Environment) -> None:
        with self._lock:
            pool = self._pools[spec.fingerprint]
            pool.busy -= 1
            if environment.alive:
                pool.idle.append(environment)

    def invoke(self, spec: FunctionSpec, event: Any) -> InvocationResult:
        environment = self._acquire(spec)
        try:
            return faults.invoke(spec, environment, event, str(uuid.uuid4()))  # crash/timeout rules
        finally:
            self._release(spec, environment)

    def shutdown(self) -> None:
        """Ends every idle environment (busy ones end with the server's process group) and
        removes the unpacked code."""
        with self._lock:
            for pool in self._pools.values():
                for environment in pool.idle:
                    environment.kill()
                pool.idle = []
        shutil.rmtree(self._work_dir, ignore_errors=True)


def environment_variables_for_worker(endpoint_url: str, region: str) -> dict[str, str]:
    """What the Lambda service itself puts into every environment, pointed at the twin."""
    inherited = {key: os.environ[key] for key in ("PATH", "LANG", "TZ", "SYSTEMROOT") if key in os.environ}
    return {
        **inherited,
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        # No X-Ray daemon on a laptop: Tracer stays in the code and is switched off here.
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
