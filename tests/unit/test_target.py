"""drivers.target: a deployed environment as a driver's target, without an AWS account."""

from __future__ import annotations

import boto3
import pytest

from drivers.target import DeployedStack, NoCredentials, outputs_from_json
from tools.stack import StackOutputs

API = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"


def deployed(session: boto3.session.Session) -> DeployedStack:
    return DeployedStack("dev", StackOutputs({"api_url": API, "table_name": "shop-dev-state"}), session)


def test_requests_are_sigv4_signed_for_execute_api_in_the_apis_region() -> None:
    session = boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="us-east-1"
    )
    request = deployed(session).signed_request(
        "PUT", "/carts/c1", b'{"items": {}}', {"Content-Type": "application/json"}
    )
    authorization = request.get_header("Authorization")
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    # API Gateway checks the scope: the API's own region and the execute-api service.
    assert "/eu-west-1/execute-api/aws4_request" in authorization
    assert request.full_url == f"{API}/carts/c1"
    assert request.get_header("X-amz-date")


def test_clients_are_made_in_the_stacks_region() -> None:
    session = boto3.session.Session(aws_access_key_id="a", aws_secret_access_key="b", region_name="us-east-1")
    assert deployed(session).client("dynamodb").meta.region_name == "eu-west-1"


def test_connect_refuses_clearly_without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(
        NoCredentials, match="ENV=staging runs against AWS and needs the caller's credentials"
    ):
        DeployedStack.connect("staging", session=boto3.session.Session(region_name="eu-west-1"))


def test_outputs_come_from_the_environment_roots_stack_output() -> None:
    printed = {"stack": {"sensitive": False, "type": "object", "value": {"table_name": "t", "routes": {}}}}
    assert outputs_from_json(printed).table_name == "t"
    with pytest.raises(RuntimeError, match="no `stack` output"):
        outputs_from_json({"api_url": {"value": API}})


def test_a_request_reaches_the_api_signed_and_its_answer_is_read_on_any_status() -> None:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[dict[str, str]] = []

    class Api(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            seen.append(
                {**dict(self.headers), "body": self.rfile.read(int(self.headers["Content-Length"])).decode()}
            )
            answer = json.dumps({"error": "version_conflict", "message": "stale"}).encode()
            self.send_response(409)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        session = boto3.session.Session(
            aws_access_key_id="a", aws_secret_access_key="b", region_name="eu-west-1"
        )
        stack = DeployedStack(
            "dev", StackOutputs({"api_url": f"http://127.0.0.1:{server.server_port}"}), session
        )
        answered = stack.request(
            "PUT", "/carts/c1", json_body={"items": {"A": 1}}, headers={"If-Match": '"3"'}
        )
    finally:
        server.shutdown()
        server.server_close()
    assert (answered.status, answered.json["error"]) == (409, "version_conflict")
    assert seen[0]["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=a/")
    assert seen[0]["If-Match"] == '"3"' and json.loads(seen[0]["body"]) == {"items": {"A": 1}}
