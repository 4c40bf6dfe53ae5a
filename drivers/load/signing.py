"""SigV4 for Locust's HTTP client: each request signed for execute-api, as the stack's IAM-authorized
HTTP API wants it (the same signature `DeployedStack.signed_request` makes for one request).

API Gateway's IAM authorization: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html
Signature Version 4: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
"""

from __future__ import annotations

from typing import Any

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

SERVICE = "execute-api"


class NoCredentials(RuntimeError):
    pass


class ExecuteApiAuth(requests.auth.AuthBase):
    """A requests auth that signs every prepared request (method, URL, headers, body) with SigV4.

    Credentials come from a botocore credentials object (refreshable ones refresh themselves), so
    a long run with SSO or assumed-role credentials keeps signing with fresh keys."""

    def __init__(self, credentials: Any, region: str) -> None:
        if credentials is None:
            raise NoCredentials(
                "signing for execute-api needs the caller's AWS credentials: export AWS_PROFILE "
                "(aws configure sso) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            )
        self.credentials = credentials
        self.region = region

    @classmethod
    def from_default_session(cls, region: str) -> ExecuteApiAuth:
        import boto3

        return cls(boto3.session.Session().get_credentials(), region)

    def __call__(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        body = prepared.body or b""
        if isinstance(body, str):
            body = body.encode()
        # Only the headers API Gateway sees; requests adds Content-Length after auth on some paths.
        headers = {name: value for name, value in prepared.headers.items() if name.lower() != "connection"}
        unsigned = AWSRequest(method=prepared.method, url=prepared.url, data=body, headers=headers)
        SigV4Auth(self.credentials.get_frozen_credentials(), SERVICE, self.region).add_auth(unsigned)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in unsigned.headers:
                prepared.headers[name] = unsigned.headers[name]
        return prepared
