"""The twin's HTTP API with the real functions behind it: the README's "Try it" lines, run as a
newcomer would paste them, and API Gateway's answers where no function is involved."""

from __future__ import annotations

import http.client
import json
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from local_twin.http_server import DEFAULT_PORT, TwinHttpServer, serving
from local_twin.throttling import STAGE_REFRESH_SECONDS

pytestmark = pytest.mark.twin

README = Path(__file__).resolve().parents[2] / "README.md"
README_API = f"http://127.0.0.1:{DEFAULT_PORT}"
# A person pastes the approval a few seconds after placing the order; the saga needs that long
# to reach WaitForApproval, so the test waits for it as the person would.
SAGA_PATIENCE_SECONDS = 60


@pytest.fixture(scope="module")
def api(twin: object) -> Iterator[TwinHttpServer]:
    with serving(twin) as server:
        yield server


@dataclass
class Step:
    line: str
    expected: int | None


def try_it_steps() -> list[Step]:
    section = README.read_text().split("\n## Try it\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the README's Try it section has no sh block"
    steps = []
    for line in block.group(1).splitlines():
        if not line.strip():
            continue
        command, _, comment = line.partition("  # ")
        steps.append(Step(command.strip(), int(comment) if comment.strip().isdigit() else None))
    return steps


def run_curl_args(args: list[str]) -> tuple[int, str]:
    """What curl does with the flags the README uses (-i, -s, -X, -H, -d), for machines without it."""
    method, headers, data, url = "GET", {}, None, ""
    words = iter(args[1:])
    for word in words:
        if word == "-X":
            method = next(words)
        elif word == "-H":
            name, _, value = next(words).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            data = next(words)
            method = "POST" if method == "GET" else method
        elif word in ("-i", "-s"):
            continue
        else:
            url = word
    split = urlsplit(url)
    connection = http.client.HTTPConnection(split.hostname, split.port, timeout=60)
    connection.request(method, split.path, body=data.encode() if data else None, headers=headers)
    response = connection.getresponse()
    body = response.read().decode()
    connection.close()
    return response.status, body


class Shell:
    """Runs README lines with the variables earlier lines set: through bash and curl where curl
    exists, else by reading curl's arguments."""

    def __init__(self, base_url: str) -> None:
        self.variables = {"API": base_url}
        self.curl = shutil.which("curl") is not None and shutil.which("bash") is not None

    def expand(self, text: str) -> str:
        return re.sub(r"\$(\w+)", lambda m: self.variables[m.group(1)], text)

    def bash(self, script: str) -> str:
        result = subprocess.run(
            ["bash", "-c", script],
            env={**os.environ, **self.variables},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return result.stdout

    def status(self, line: str) -> tuple[int, str]:
        if self.curl:
            output = self.bash(line)
            head, _, body = output.partition("\r\n\r\n")
            return int(head.split()[1]), body
        return run_curl_args(shlex.split(self.expand(line)))

    def assign(self, name: str, value: str) -> None:
        if self.curl:
            self.variables[name] = self.bash(f'{name}={value}\nprintf %s "${name}"')
            return
        command = re.fullmatch(r"\$\((curl .*) \| sed -E '(.*)'\)", value)
        assert command, f"cannot run {value} without curl"
        _, body = run_curl_args(shlex.split(self.expand(command.group(1))))
        pattern = re.fullmatch(r"s/(.*)/\\1/", command.group(2))
        assert pattern
        self.variables[name] = re.sub(pattern.group(1), r"\1", body)


def test_the_readme_try_it_lines_run_against_the_twin(api: TwinHttpServer) -> None:
    steps = try_it_steps()
    assert steps[0].line == f"API={README_API}", "the block starts by naming make twin's address"
    curls = [step for step in steps if step.line.startswith("curl ")]
    assert len(curls) >= 9 and all(step.expected for step in curls), "every curl line says its status"
    routes = {"PUT /products/", "GET /products/", "PUT /carts/", "POST /carts/", "POST /orders", "/approval"}
    assert all(any(route.split()[-1] in step.line for step in curls) for route in routes)
    assert all("Content-Type: application/json" in step.line for step in curls if " -d " in step.line)

    shell = Shell(api.base_url)
    for step in steps[1:]:
        assignment = re.fullmatch(r"(\w+)=(.*)", step.line)
        if assignment:
            shell.assign(assignment.group(1), assignment.group(2))
            assert shell.variables[assignment.group(1)], step.line
            continue
        # Run once, with no wait before it: the approval, pasted right after the order, may come
        # before the saga waits for it, and must still be 202 (the order keeps the decision).
        status, body = shell.status(step.line)
        assert status == step.expected, (step.line, status, body)

    order = re.fullmatch(r"[0-9a-f-]{36}", shell.variables["ORDER"])
    assert order, shell.variables["ORDER"]
    deadline = time.monotonic() + SAGA_PATIENCE_SECONDS
    while True:
        status, body = run_curl_args(["curl", f"{api.base_url}/orders/{order.group(0)}"])
        document = json.loads(body)
        if document["status"] == "CONFIRMED" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert (status, document["status"]) == (200, "CONFIRMED"), document
    assert "WaitForApproval" in document["history"]
    assert document["total_cents"] == 3 * 45000


def test_api_gateway_answers_for_what_no_route_serves(api: TwinHttpServer) -> None:
    for method, path in [("GET", "/"), ("PATCH", "/carts/c1"), ("GET", "/carts/a%2Fb"), ("GET", "/products")]:
        status, body = run_curl_args(["curl", "-X", method, f"{api.base_url}{path}"])
        assert (status, body) == (404, '{"message":"Not Found"}'), (method, path)


def test_the_functions_answer_through_the_server(api: TwinHttpServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", api.server_address[1], timeout=60)
    connection.request(
        "PUT", "/carts/http-cart", body=b'{"items": {"SKU-1": 1}}', headers={"Content-Type": "text/plain"}
    )
    response = connection.getresponse()
    assert response.status == 415 and json.loads(response.read())["error"] == "unsupported_media_type"
    connection.request(
        "PUT",
        "/carts/http-cart",
        body=b'{"items": {"SKU-1": 1}}',
        headers={"Content-Type": "application/json"},
    )
    response = connection.getresponse()
    assert response.status == 201, response.read()
    assert response.getheader("ETag") == '"1"'
    assert response.getheader("Apigw-Requestid")
    assert json.loads(response.read())["items"] == {"SKU-1": 1}
    connection.request("DELETE", "/carts/http-cart", headers={"If-Match": '"1"'})
    response = connection.getresponse()
    assert (response.status, response.read()) == (204, b"")
    connection.close()


def test_what_a_client_from_the_outside_found_is_refused_through_the_server(
    api: TwinHttpServer, twin: Any
) -> None:
    """Issue 20: each of these once wrote, or answered 500, through the twin's HTTP server."""
    connection = http.client.HTTPConnection("127.0.0.1", api.server_address[1], timeout=60)

    def send(method: str, path: str, body: bytes | None = None) -> tuple[int, dict[str, Any]]:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else {}

    for method, path, body in [
        ("PUT", "/carts/outside-1%0A", b'{"items": {}}'),
        ("POST", "/carts/outside-1%0A/items", b'{"sku": "SKU-1", "quantity": 1}'),
        ("PUT", "/products/OUTSIDE-1%0A", b'{"name": "Mug", "price_cents": 1, "stock": 1, "version": 0}'),
        (
            "PUT",
            "/products/OUTSIDE-1",
            b'{"name": "Mug \\ud800", "price_cents": 1, "stock": 1, "version": 0}',
        ),
        ("PUT", "/carts/outside-1", b'{"items": {"SKU-1": 1}, "items": {}}'),
    ]:
        status, answer = send(method, path, body)
        assert (status, answer.get("error")) == (400, "invalid_input"), (method, path, answer)
    for method in ("put", "Delete", "post"):
        status, answer = send(method, "/carts/outside-1", b'{"items": {}}')
        assert (status, answer) == (404, {"message": "Not Found"}), method
    # The same connection served all of them, and nothing was written under any of these ids.
    assert send("GET", "/carts/outside-1")[0] == 404
    assert send("GET", "/products/OUTSIDE-1")[0] == 404
    connection.close()
    keys = {
        (item["pk"]["S"], item["sk"]["S"])
        for item in twin.client("dynamodb").scan(TableName=twin.table_name)["Items"]
    }
    assert not {key for key in keys if "OUTSIDE" in key[0].upper()}, keys


def test_a_burst_of_64_connections_all_get_an_http_answer(api: TwinHttpServer) -> None:
    # More at once than the function has environments: some may be throttled (a 500, as API
    # Gateway answers), none may be left without an answer.
    def get(index: int) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", api.server_address[1], timeout=120)
        try:
            connection.request("GET", f"/carts/burst-{index}")
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=64) as pool:
        statuses = list(pool.map(get, range(64)))
    assert len(statuses) == 64
    assert set(statuses) <= {404, 500}, statuses


def test_the_applied_stage_throttles_the_server_and_twin_request_alike(
    api: TwinHttpServer, twin: Any
) -> None:
    """Issue 17: the stage's throttling as terraform applied it, and as it is changed afterwards
    through the apigatewayv2 API, holds for curl and for the demo's and tests' twin.request."""
    apigateway = twin.client("apigatewayv2")
    (api_id,) = [
        item["ApiId"]
        for item in apigateway.get_apis()["Items"]
        if item["ApiEndpoint"] == twin.outputs.api_url
    ]
    applied = apigateway.get_stage(ApiId=api_id, StageName="$default")
    limits = applied["DefaultRouteSettings"]
    assert limits["ThrottlingBurstLimit"] >= 64, (
        "the twin's own bursts of 64 (above) fit in its stage's bucket"
    )

    def recreate(route_settings: dict[str, Any]) -> None:
        # moto has no UpdateStage: the same stage again, with these RouteSettings.
        apigateway.delete_stage(ApiId=api_id, StageName="$default")
        apigateway.create_stage(
            ApiId=api_id,
            StageName="$default",
            AutoDeploy=applied["AutoDeploy"],
            AccessLogSettings=applied["AccessLogSettings"],
            DefaultRouteSettings=applied["DefaultRouteSettings"],
            RouteSettings=route_settings,
            StageVariables=applied.get("StageVariables", {}),
            Tags=applied.get("Tags", {}),
        )
        time.sleep(STAGE_REFRESH_SECONDS + 0.2)  # the twin reads the stage again once a second

    def over_http(index: int) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", api.server_address[1], timeout=120)
        try:
            connection.request("GET", f"/carts/throttled-{index}")
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def in_process(index: int) -> tuple[int, bytes]:
        response = twin.request("GET", f"/carts/throttled-{index}")
        return response.status, json.dumps(response.body, separators=(",", ":")).encode()

    # A token every 1,000 s: the burst of 5 alone decides, however long the requests take.
    recreate({"GET /carts/{cart_id}": {"ThrottlingBurstLimit": 5, "ThrottlingRateLimit": 0.001}})
    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(lambda i: (over_http if i % 2 else in_process)(i), range(20)))
        statuses = sorted(status for status, _ in answers)
        assert statuses == [404] * 5 + [429] * 15, answers  # 404: no such cart, from the function
        assert {body for status, body in answers if status == 429} == {b'{"message":"Too Many Requests"}'}
        # Another route keeps the stage's default limits.
        assert twin.request("PUT", "/carts/throttled-other", json_body={"items": {"SKU-1": 1}}).status == 201
    finally:
        recreate(applied.get("RouteSettings", {}))
    assert twin.request("GET", "/carts/throttled-other").status == 200


def test_a_failed_invoke_is_a_500_and_is_not_retried(api: TwinHttpServer, twin: Any) -> None:
    """API Gateway invokes a Lambda proxy integration once: a failed Invoke answers 500, and the
    function does not run a second time (a retried POST /orders met its own idempotency record,
    in progress, and answered 409 duplicate_in_progress on a key's first request)."""
    with twin.faults.injected(
        {"kind": "error", "service": "lambda", "operation": "Invoke", "code": "ServiceException", "count": 1}
    ) as (rule,):
        response = twin.request("PUT", "/carts/invoke-failed", json_body={"items": {"SKU-1": 1}})
        assert (response.status, response.body) == (500, {"message": "Internal Server Error"})
        assert twin.faults.fired(rule["id"]) == 1
    # Not retried: the cart was never written, and the next request reaches the function.
    assert twin.request("GET", "/carts/invoke-failed").status == 404


def test_every_answer_carries_a_request_id_errors_included(twin: Any) -> None:
    """botocore reads ResponseMetadata.RequestId from x-amzn-RequestId; moto's Step Functions
    interpreter needs it to describe a failed Lambda task (it failed the execution without)."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as refused:
        twin.client("lambda").get_function(FunctionName="no-such-function")
    assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert refused.value.response["ResponseMetadata"].get("RequestId"), refused.value.response
    listed = twin.client("lambda").list_functions(MaxItems=1)
    assert listed["ResponseMetadata"].get("RequestId")
