"""One warm Lambda execution environment of the local twin.

Run as a script, never imported by the handlers: the twin starts one process per
execution environment, with the function's environment variables and its unpacked
zip as the working directory. The process imports the handler once (the "init"
phase) and then serves invocations one at a time for as long as the twin keeps it,
so module-scope state (clients, connections, cached config) lives across warm
invocations exactly as it does in AWS.

The twin starts it as `python -I -S lambda_worker.py SEARCH_PATH` (see lambda_runtime.py), so this
script imports only the standard library, and the handler only what Lambda would put on its path:
SEARCH_PATH is a JSON object naming the task root, the layers' folders and the runtime's packages.

Protocol: one JSON object per line on the original stdin/stdout. Everything the
handler prints (Powertools Logger, EMF metrics, print) is captured per invocation
from file descriptors 1 and 2 and sent back with the result as the invocation's log.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import site
import sys
import threading
import time
import traceback
from typing import Any

_LOG_FENCE = "\x00twin-log-fence\x00"


def _die_with_parent() -> None:
    """A worker must never outlive the twin, even when the twin is SIGKILLed.

    PR_SET_PDEATHSIG would fire when the *thread* that spawned the worker ends, and
    the twin spawns from short-lived request threads, so the worker watches instead.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


class LambdaContext:
    """The attributes of the context object that the python3.13 runtime passes."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ["TWIN_FUNCTION_ARN"]
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


class _LogCapture:
    """Collects what the process writes to fd 1 and 2, one invocation at a time."""

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        os.dup2(write_fd, 1)
        os.dup2(write_fd, 2)
        os.close(write_fd)
        self._reader = os.fdopen(read_fd, "r", encoding="utf-8", errors="replace")
        self._lines: list[str] = []
        self._fenced = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self._reader:
            if line.rstrip("\n") == _LOG_FENCE:
                self._fenced.set()
                continue
            with self._lock:
                self._lines.append(line)

    def drain(self) -> str:
        sys.stdout.flush()
        sys.stderr.flush()
        self._fenced.clear()
        os.write(1, (_LOG_FENCE + "\n").encode())
        self._fenced.wait(timeout=5)
        with self._lock:
            text = "".join(self._lines)
            self._lines.clear()
        return text


def _peak_memory_mb() -> int:
    """This process's peak RSS, as Lambda's REPORT line gives an environment's. VmHWM, not
    ru_maxrss: ru_maxrss survives fork and exec, so a worker would report its parent's peak."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _error_payload(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


class _Fault(Exception):
    """An init failure that the runtime reports under its own error type, not the exception's."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type, self.message, self.trace = error_type, message, trace or []


def _load_handler(handler: str) -> Any:
    """The python3.13 runtime's handler loading, with its error types and messages (awslambdaric's
    bootstrap._get_handler: https://github.com/aws/aws-lambda-python-runtime-interface-client,
    awslambdaric/bootstrap.py), e.g. a missing package is Runtime.ImportModuleError, "Unable to import
    module 'app': No module named 'requests'"."""
    module_name, dot, function_name = handler.rpartition(".")
    if not dot:
        raise _Fault(
            "Runtime.MalformedHandlerName",
            f"Bad handler '{handler}': not enough values to unpack (expected 2, got 1)",
        )
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise _Fault(
            "Runtime.BuiltInModuleConflict", f"Cannot use built-in module {module_name} as a handler module"
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise _Fault("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from exc
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise _Fault(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}", trace
        ) from exc
    try:
        return getattr(module, function_name)
    except AttributeError as exc:
        raise _Fault(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        ) from exc


def _use_lambdas_search_path(search_path: dict[str, list[str]]) -> None:
    """Lambda's folders before the standard library, as the runtime orders them; .pth files in the site
    folders are read as Python's site module would (with -S it imports nothing by itself)."""
    standard_library = [entry for entry in sys.path if entry not in search_path["path"]]
    sys.path[:] = [*search_path["path"], *standard_library]
    for folder in search_path["site_dirs"]:
        site.addsitedir(folder, known_paths=set(sys.path))
    sys.argv[:] = [sys.argv[0]]


def _load_guard(file_name: str) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        f"_twin_{file_name.removesuffix('.py')}", os.path.join(os.path.dirname(__file__), file_name)
    )
    assert spec is not None and spec.loader is not None
    guard = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(guard)
    return guard


def _install_guards() -> None:
    """The twin's network rules (network_guard.py) and ElastiCache's IAM authentication
    (cache_auth_guard.py), before the handler's init opens a connection. Their variables are the
    twin's, not the function's: Lambda has none, so they are removed."""
    policy = os.environ.pop("TWIN_NETWORK_POLICY", None)
    if policy:
        _load_guard("network_guard.py").install(policy)
    exchange = os.environ.pop("TWIN_CACHE_AUTH", None)
    if exchange:
        _load_guard("cache_auth_guard.py").install(exchange)


def main() -> None:
    _die_with_parent()
    control_out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    control_in = sys.stdin
    if len(sys.argv) > 1:
        _use_lambdas_search_path(json.loads(sys.argv[1]))
    else:  # started without the twin's runtime: the task root at least comes first
        sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
    logs = _LogCapture()
    _install_guards()

    init_error: dict[str, Any] | None = None
    handler = None
    try:
        handler = _load_handler(os.environ["_HANDLER"])
    except _Fault as fault:
        init_error = {"errorMessage": fault.message, "errorType": fault.error_type, "stackTrace": fault.trace}
    except Exception as exc:  # an error raised by the module's own init code keeps its type
        init_error = _error_payload(exc)
    control_out.write(json.dumps({"ready": True, "init_log": logs.drain()}) + "\n")

    for line in control_in:
        request = json.loads(line)
        os.environ["_X_AMZN_REQUEST_ID"] = request["request_id"]
        context = LambdaContext(request["request_id"], request["deadline_ms"])
        started = time.perf_counter()
        if init_error is not None:
            result: dict[str, Any] = {"ok": False, "payload": init_error}
        else:
            try:
                payload = handler(request["event"], context)  # type: ignore[misc]
                result = {"ok": True, "payload": payload}
            except Exception as exc:
                traceback.print_exc()
                result = {"ok": False, "payload": _error_payload(exc)}
        result["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
        result["max_memory_used_mb"] = _peak_memory_mb()
        result["log"] = logs.drain()
        control_out.write(json.dumps(result, default=str) + "\n")


if __name__ == "__main__":
    main()
