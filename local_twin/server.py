"""The twin's server process: moto in server mode, with Lambda invokes run locally.

Started by `LocalTwin` as `python -m local_twin.server --ready-file F`. It binds a
free loopback port, enables Step Functions executions, writes `{"port": N}` to the
ready file and serves until SIGTERM/SIGINT. Its Lambda worker processes are its
children; they die with it (PR_SET_PDEATHSIG) and are also ended on shutdown.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import signal
import threading
import uuid
from pathlib import Path
from typing import Any

import requests
from moto.awslambda import models as lambda_models
from moto.awslambda.exceptions import LambdaClientError
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from local_twin import (
    alarm_actions,
    cache_auth,
    emulations,
    faults,
    iam,
    lost_answers,
    network,
    service_rules,
    streams,
)
from local_twin.durable import ACCOUNT_ID as durable_account
from local_twin.durable import (
    DurableExecutionAlreadyStarted,
    DurableExecutions,
    is_durable_api,
    is_handler_invocation,
)
from local_twin.lambda_pool import (
    DEFAULT_MAX_ENVIRONMENTS,
    FunctionSpec,
    LambdaPool,
    TooManyRequests,
    environment_variables_for_worker,
)
from local_twin.lambda_runtime import WorkerRuntime, function_layers
from tools.stack import client_factory
from tools.tfrun import TWIN_REGION

LOOPBACK = "127.0.0.1"


class _RateExceeded(LambdaClientError):
    code = 429

    def __init__(self, message: str) -> None:
        super().__init__("TooManyRequestsException", message)


class _DurableExecutionAlreadyStarted(LambdaClientError):
    code = 409

    def __init__(self, message: str) -> None:
        super().__init__("DurableExecutionAlreadyStartedException", message)


def install_local_invoke(
    pool: LambdaPool,
    substitutions: dict[str, str] | None = None,
    durable: DurableExecutions | None = None,
    network_view: network.NetworkView | None = None,
    role_sessions: iam.RoleSessions | None = None,
    enforcer: iam.Enforcer | None = None,
    cache_exchange_url: str | None = None,
) -> None:
    """Routes every moto Lambda invoke (API, Step Functions task) to the worker pool.

    `substitutions` replaces the value of the named environment variables wherever a function
    has them: what Terraform configured for AWS (an ElastiCache endpoint with TLS) becomes
    what the twin runs (its redis-server on loopback). Lambda keeps Terraform's values.

    An invoke that names a durable execution starts it on `durable`, which runs the handler
    through this same endpoint, one invoke per replay.

    `network_view` gives each function's worker the network paths its VPC has (network.py), and
    `role_sessions` the credentials of its own execution role (iam.py), as Lambda does; `enforcer`
    decides whether that role may write the invocation's log lines, which Lambda writes as the role.
    `cache_exchange_url` is where the worker's redis connections exchange their IAM tokens (cache_auth.py).
    """
    substitutions = substitutions or {}

    def invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> bytes:
        execution_name = request_headers.get("X-Amz-Durable-Execution-Name")
        if durable is not None and execution_name and not is_handler_invocation(request_headers):
            return start_durable(self, execution_name, body, request_headers, response_headers)
        event = json.loads(body) if body else {}
        environment = {
            name: substitutions.get(name, value) for name, value in (self.environment_vars or {}).items()
        }
        if network_view is not None:
            vpc_key = json.dumps(self.vpc_config, sort_keys=True, default=str)
            environment[network.POLICY_VARIABLE] = network_view.policy(self.function_arn, vpc_key)
        if role_sessions is not None:
            environment.update(role_sessions.environment(self.role, self.function_name))
        if cache_exchange_url is not None:
            environment[cache_auth.WORKER_VARIABLE] = cache_exchange_url
        spec = FunctionSpec(
            name=self.function_name,
            arn=self.function_arn,
            handler=self.handler,
            timeout_seconds=float(self.timeout),
            memory_mb=int(self.memory_size),
            environment=environment,
            code=self.code_bytes,
            reserved_concurrency=None
            if self.reserved_concurrency is None
            else int(self.reserved_concurrency),
            layers=function_layers(self),
        )

        def run() -> Any:
            try:
                result = pool.invoke(spec, event)
            except TooManyRequests as exc:
                raise _RateExceeded(str(exc)) from exc
            exists = self.logs_group_name in self.logs_backend.groups
            if enforcer is not None and not enforcer.may_deliver_logs(
                self.role, self.function_name, self.account_id, self.region, self.logs_group_name, exists
            ):
                return result  # Lambda drops the lines of a role that may not write them
            self.logs_backend.ensure_log_group(self.logs_group_name)
            self.save_logs(
                f"START RequestId: {result.request_id}\n{result.log}END RequestId: {result.request_id}\n"
                + result.report_line(spec.memory_mb)
            )
            return result

        if request_headers.get("x-amz-invocation-type") == "Event":
            threading.Thread(target=run, daemon=True).start()
            return b""
        result = run()
        if result.errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(result.payload).encode("utf-8")

    def start_durable(
        self: Any, execution_name: str, body: str, request_headers: Any, response_headers: Any
    ) -> bytes:
        assert durable is not None
        payload = body.decode() if isinstance(body, bytes) else (body or "{}")
        try:
            arn = durable.start(self.function_name, str(self.version), execution_name, payload)
        except DurableExecutionAlreadyStarted as exc:
            raise _DurableExecutionAlreadyStarted(str(exc)) from exc
        response_headers["X-Amz-Durable-Execution-Arn"] = arn
        response_headers["X-Amz-Executed-Version"] = str(self.version)
        if request_headers.get("X-Amz-Invocation-Type") == "Event":
            return b""
        # A synchronous invoke of a durable function waits for the execution's end (15 minutes).
        execution = durable.wait(arn, timeout_seconds=900)
        if execution.get("Status") != "SUCCEEDED":
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(execution.get("Error") or {"ErrorMessage": execution.get("Status")}).encode()
        return str(execution.get("Result") or "null").encode()

    lambda_models.LambdaFunction.invoke = invoke


def install_durable_api(durable: DurableExecutions, enforcer: iam.Enforcer | None = None) -> None:
    """The durable execution API (checkpoints, state, history, callbacks) on the moto port,
    checked against the caller's role first when IAM is enforced."""
    original = DomainDispatcherApplication.__call__

    def dispatch(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        if is_durable_api(environ.get("PATH_INFO", "")):
            refusal = (
                enforcer.check_durable_api(environ, durable_account, durable.lambda_arn)
                if enforcer is not None
                else None
            )
            if refusal is not None:
                status, body = refusal
                error_type = json.loads(body)["__type"]
                start_response(
                    f"{status} Refused",
                    [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type)],
                )
                return [body.encode()]
            return durable.forward(environ, start_response)
        return original(self, environ, start_response)

    DomainDispatcherApplication.__call__ = dispatch


def install_dynamodb_isolation() -> None:
    """Serializes the twin's DynamoDB operations.

    moto undoes a failed TransactWriteItems by putting back a deep copy of the whole
    table taken before it started, which silently drops every write that another
    request made meanwhile (the server is threaded). DynamoDB's transactions are atomic
    and isolated; one lock around moto's DynamoDB backend keeps the twin so.
    """
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()

    def serialized(method: Any) -> Any:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(*args, **kwargs)

        return call

    for name in (
        "transact_write_items",
        "transact_get_items",
        "put_item",
        "update_item",
        "delete_item",
        "batch_write_item",
        "get_item",
        "batch_get_item",
        "query",
        "scan",
    ):
        if hasattr(DynamoDBBackend, name):
            setattr(DynamoDBBackend, name, serialized(getattr(DynamoDBBackend, name)))


def install_network_tracking(network_view: network.NetworkView) -> None:
    """Tells `network_view` when a request may have changed the network (an EC2 or ElastiCache write)."""
    original = DomainDispatcherApplication.__call__

    def dispatch(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        if network.is_network_write(environ):
            network_view.changed()
        return original(self, environ, start_response)

    DomainDispatcherApplication.__call__ = dispatch


REQUEST_ID_HEADERS = ("x-amzn-requestid", "x-amz-request-id")


def install_request_ids() -> None:
    """Every answer carries a request id, as AWS's do (`x-amzn-RequestId`, which botocore reads
    into ResponseMetadata.RequestId). moto's error answers had none, and moto's own Step Functions
    interpreter, building a Lambda task's error from a throttled Invoke, failed the whole
    execution with KeyError('RequestId') instead of the Lambda.TooManyRequestsException the
    state's Retry names, leaving an order neither confirmed nor compensated."""
    original = DomainDispatcherApplication.__call__

    def dispatch(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        def starting(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            if not any(name.lower() in REQUEST_ID_HEADERS for name, _ in headers):
                headers = [*headers, ("x-amzn-RequestId", str(uuid.uuid4()))]
            return start_response(status, headers, *exc_info)

        return original(self, environ, starting)

    DomainDispatcherApplication.__call__ = dispatch


def install_lost_answer_replay() -> lost_answers.LostAnswers:
    """Outermost: a retry of a call the twin already answered 2xx gets that answer (lost_answers.py)."""
    replay = lost_answers.LostAnswers()
    original = DomainDispatcherApplication.__call__

    def dispatch(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        return replay(functools.partial(original, self), environ, start_response)

    DomainDispatcherApplication.__call__ = dispatch
    return replay


def _twin_client(endpoint: str, region: str) -> Any:
    return client_factory(endpoint, region)


def serve(
    ready_file: Path,
    region: str,
    substitutions: dict[str, str] | None = None,
    cache_addresses: list[str] | None = None,
) -> None:
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    endpoint = f"http://{LOOPBACK}:{port}"
    # moto's Step Functions interpreter calls Lambda through this port.
    os.environ["MOTO_PORT"] = str(port)
    pool = LambdaPool(
        environment_variables_for_worker(endpoint, region),
        ready_file.parent / "lambda-environments",
        WorkerRuntime.prepare(),
    )
    durable = DurableExecutions(endpoint, region, invocation_concurrency=DEFAULT_MAX_ENVIRONMENTS)
    network_view = network.NetworkView(_twin_client(endpoint, region), cache_addresses or [])
    install_network_tracking(network_view)
    # Each function calls as its own role, checked by iam.py; TWIN_IAM=off leaves the admin keys.
    role_sessions = None
    evaluator = None
    enforcer = None
    if iam.enforced():
        evaluator = iam.Evaluator()
        role_sessions = iam.RoleSessions(_twin_client(endpoint, region)("sts"))
        enforcer = iam.Enforcer(role_sessions, evaluator, ready_file.parent / "iam-usage.json")
        iam.install(enforcer)
    install_durable_api(durable, enforcer)
    # CloudWatch's SNS notifications, decided by the topic's and its key's policies (moto takes none)
    alarm_actions.install(enforcer)
    # /_twin/faults, outside every other hook but the request ids
    faults.install(cache_endpoint=(substitutions or {}).get("CACHE_ENDPOINT"))
    # ElastiCache's IAM authentication for the twin's redis-server, whose app user then has a password
    # only this process knows (twin.py sets it when IAM is enforced)
    cache_exchange_url = None
    cache_password = os.environ.pop(cache_auth.PASSWORD_VARIABLE, "")
    if enforcer is not None and cache_password:
        cache_auth.install(cache_auth.CacheAuthority(enforcer, cache_password, region))
        cache_exchange_url = endpoint + cache_auth.EXCHANGE_PATH
    install_request_ids()  # injected faults and the durable API answer with one too
    install_lost_answer_replay()  # outermost: a replayed answer keeps its request id
    install_local_invoke(
        pool, substitutions, durable, network_view, role_sessions, enforcer, cache_exchange_url
    )
    install_dynamodb_isolation()
    emulations.install()
    service_rules.install()  # what AWS refuses and moto allows (service rules, account quotas)
    # DynamoDB stream event source mappings, as Lambda polls them: as the function's role
    stream_poller = streams.start(enforcer)
    requests.post(
        f"{endpoint}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}}, timeout=10
    ).raise_for_status()

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    temporary = ready_file.with_suffix(".tmp")
    temporary.write_text(json.dumps({"port": port, "pid": os.getpid()}))
    temporary.rename(ready_file)
    owner = os.getppid()
    try:
        while not stop.wait(0.5):
            if os.getppid() != owner:  # whoever started the twin is gone
                break
    finally:
        stream_poller.stop()
        durable.stop()
        pool.shutdown()
        if evaluator is not None:
            evaluator.close()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--region", default=TWIN_REGION)
    parser.add_argument(
        "--substitute",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="run functions with VALUE for the environment variable NAME (repeatable)",
    )
    parser.add_argument(
        "--cache-address",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="where the twin serves the stack's caches: refused to functions that cannot reach them",
    )
    args = parser.parse_args()
    substitutions = dict(item.split("=", 1) for item in args.substitute)
    serve(args.ready_file, args.region, substitutions, args.cache_address)


if __name__ == "__main__":
    main()
