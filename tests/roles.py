"""Roles the tests make for the functions and state machines they create: the trust policy the
service needs to assume it, and inline policies that a test can take away and give back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def put_policy(iam: Any, role: str, policy: str, statements: list[dict[str, Any]]) -> None:
    document = {"Version": "2012-10-17", "Statement": statements}
    iam.put_role_policy(RoleName=role, PolicyName=policy, PolicyDocument=json.dumps(document))


def create_role(
    iam: Any,
    name: str,
    statements: list[dict[str, Any]] | None = None,
    service: str = "lambda.amazonaws.com",
    policy: str = "least-privilege",
) -> str:
    """A role `service` may assume, with `statements` as one inline policy; returns its ARN."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if statements:
        put_policy(iam, name, policy, statements)
    return str(arn)


@contextmanager
def without_policy(iam: Any, role: str, policy: str, statements: list[dict[str, Any]]) -> Iterator[None]:
    """The role without one of its inline policies (`statements`), given back afterwards."""
    iam.delete_role_policy(RoleName=role, PolicyName=policy)
    try:
        yield
    finally:
        put_policy(iam, role, policy, statements)
