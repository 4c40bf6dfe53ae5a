"""What a driver runs against: the local twin, or an environment deployed in AWS.

A driver needs five things of a stack, and no more: the names and ARNs that `terraform output`
gives, AWS clients to read metrics, logs, items and histories with, and the shop's HTTP API
(routed and, in AWS, SigV4-signed). `Target` names them. `LocalTwin` is one (it starts the twin
and answers through the twin's API Gateway emulation); `DeployedStack` is the other, built from
an environment's `terraform output` and the caller's own AWS credentials.

Experiments that need the twin's hands on a dependency (pausing redis-server, say) take a
`LocalTwin`; in AWS the same faults come from Fault Injection Service.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from tools.stack import HttpResponse, StackOutputs, StackReader, parsed_body, request_text

REPO_ROOT = Path(__file__).resolve().parent.parent
DEPLOYED_ENVIRONMENTS = ("dev", "staging", "prod")


class Target(Protocol):
    """The interface every driver takes (LocalTwin and DeployedStack both have it)."""

    @property
    def outputs(self) -> StackOutputs: ...

    @property
    def table_name(self) -> str: ...

    @property
    def function_keys(self) -> list[str]: ...

    def client(self, service: str) -> Any: ...

    def function_name(self, key: str) -> str: ...

    def state_machine_arn(self, key: str) -> str: ...

    def checkout_engine(self, engine: str | None) -> AbstractContextManager[None]: ...

    def function_environment(self, key: str) -> dict[str, str]: ...

    def stored_item(self, pk: str, sk: str) -> dict[str, Any] | None: ...

    def product_stock(self, sku: str) -> int: ...

    def function_log(self, key: str, since_ms: int = 0) -> list[str]: ...

    def wait_for_stream_invalidation(self, skus: set[str], since_ms: int, timeout: float = 30.0) -> None: ...

    def request(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        raw_body: str | None = None,
    ) -> HttpResponse: ...


class NoCredentials(RuntimeError):
    pass


def require_credentials(environment: str, session: Any = None) -> Any:
    """The caller's boto3 session, or NoCredentials saying how to give it some."""
    import boto3

    session = session or boto3.session.Session()
    if session.get_credentials() is None:
        raise NoCredentials(
            f"ENV={environment} runs against AWS and needs the caller's credentials: configure a "
            "profile (aws configure sso) and export AWS_PROFILE, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY."
        )
    return session


def terraform_outputs(environment: str, terraform: str = "terraform") -> StackOutputs:
    """An environment root's outputs, as `terraform output -json` prints them from its backend."""
    if environment not in DEPLOYED_ENVIRONMENTS:
        raise ValueError(f"environment must be one of {DEPLOYED_ENVIRONMENTS}, not {environment!r}")
    root = REPO_ROOT / "environments" / environment
    shown = subprocess.run(
        [terraform, f"-chdir={root}", "output", "-json", "-no-color"], capture_output=True, text=True
    )
    if shown.returncode != 0:
        raise RuntimeError(f"terraform output in {root} failed: {shown.stderr.strip()[-2000:]}")
    return outputs_from_json(json.loads(shown.stdout))


def outputs_from_json(printed: dict[str, Any]) -> StackOutputs:
    """The stack's values from `terraform output -json` of an environment root (its `stack` output)."""
    if "stack" not in printed:
        raise RuntimeError("the environment root has no `stack` output: apply it with this version first")
    return StackOutputs(printed["stack"]["value"])


@dataclass
class DeployedStack(StackReader):
    """An environment deployed in AWS, read with the caller's own credentials."""

    environment: str
    stack: StackOutputs
    session: Any  # boto3.session.Session
    timeout_seconds: float = 30.0
    _clients: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def connect(cls, environment: str, session: Any = None) -> DeployedStack:

        session = require_credentials(environment, session)
        return cls(environment, terraform_outputs(environment), session)

    @property
    def outputs(self) -> StackOutputs:
        return self.stack

    @property
    def region(self) -> str:
        api_url = self.outputs.api_url or ""
        # https://{api-id}.execute-api.{region}.amazonaws.com
        host = urlsplit(api_url).hostname or ""
        parts = host.split(".")
        if len(parts) >= 4 and parts[1] == "execute-api":
            return parts[2]
        return str(self.session.region_name)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, region_name=self.region)
        return self._clients[service]

    def signed_request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> urllib.request.Request:
        """The request as API Gateway's IAM authorization wants it: SigV4 for execute-api."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        if not self.outputs.api_url:
            raise RuntimeError(f"{self.environment}'s stack has no api_url output")
        url = self.outputs.api_url.rstrip("/") + path
        unsigned = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
        SigV4Auth(
            self.session.get_credentials().get_frozen_credentials(), "execute-api", self.region
        ).add_auth(unsigned)
        return urllib.request.Request(url, data=body, headers=dict(unsigned.headers.items()), method=method)

    def request(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        raw_body: str | None = None,
    ) -> HttpResponse:
        text = request_text(json_body, raw_body)
        sent_headers = {"Content-Type": "application/json"} if text is not None else {}
        sent_headers.update(headers or {})
        prepared = self.signed_request(
            method, path, text.encode() if text is not None else None, sent_headers
        )
        try:
            with urllib.request.urlopen(prepared, timeout=self.timeout_seconds) as answered:
                status, answer_headers, payload = answered.status, dict(answered.headers), answered.read()
        except urllib.error.HTTPError as refused:
            status, answer_headers, payload = refused.code, dict(refused.headers), refused.read()
        return HttpResponse(status, answer_headers, parsed_body(payload))
