"""The OpenAPI document is generated from the handlers (`make openapi`) and describes exactly the
routes Terraform gives API Gateway."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from tools import hcl
from tools.openapi import operations

REPO_ROOT = Path(__file__).resolve().parents[2]


def terraform_routes() -> dict[str, str]:
    """terraform/main.tf's `local.routes`, read statically as the stack's own tests read it."""
    stack = hcl.TerraformDir.load(REPO_ROOT / "terraform")
    return {hcl.unquote(key): hcl.unquote(value) for key, value in hcl.body_items(stack.locals["routes"])}


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # A fresh interpreter, as `make openapi` runs it: the handlers import with no test fixtures.
    out = tmp_path_factory.mktemp("openapi") / "openapi.json"
    subprocess.run(
        [sys.executable, "-m", "tools.openapi", "--out", str(out)], cwd=REPO_ROOT, check=True, timeout=120
    )
    return json.loads(out.read_text())


def test_the_document_has_exactly_the_terraform_routes(openapi: dict[str, Any]) -> None:
    routes = terraform_routes()
    assert len(routes) >= 9
    assert operations(openapi) == set(routes)


def test_the_document_is_valid_openapi(openapi: dict[str, Any]) -> None:
    assert openapi["openapi"].startswith("3.1")
    validate(openapi)


def test_every_operation_documents_its_bodies_and_answers(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            responses = operation["responses"]
            successes = [status for status in responses if status.startswith("2")]
            assert successes, where
            for status in successes:
                content = responses[status]["content"]
                if status == "204":
                    assert content == {}, where
                else:
                    assert content["application/json"]["schema"]["$ref"].startswith(
                        "#/components/schemas/"
                    ), where
            assert responses["400"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorBody"
            }, where
            if method in ("put", "post"):
                body = operation["requestBody"]
                assert body["required"] is True, where
                assert set(body["content"]) == {"application/json"}, where
                assert {"413", "415"} <= set(responses), where
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    assert parameter["required"] and parameter["schema"]["pattern"].startswith("^"), where
    assert schemas["PutProduct"]["properties"]["price_cents"]["minimum"] == 1
    assert schemas["PutCart"]["additionalProperties"] is False
    assert set(schemas["ErrorBody"]["required"]) == {"error", "message"}
    order = openapi["paths"]["/orders"]["post"]
    assert {p["name"] for p in order["parameters"] if p["required"]} == {"idempotency-key"}
