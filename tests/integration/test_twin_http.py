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
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from local_twin.http_server import DEFAULT_PORT, TwinHttpServer, serving

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
        status, body = shell.status(step.line)
        deadline = time.monotonic() + SAGA_PATIENCE_SECONDS
        while "/approval" in step.line and status == 409 and time.monotonic() < deadline:
            time.sleep(0.5)
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
