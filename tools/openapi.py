"""The shop's OpenAPI document, generated from the code: each HTTP function's Powertools resolver
describes its own routes (paths from the route decorators, parameters and bodies from the
signatures and pydantic models, responses from `http.documented`), and Powertools' OpenAPIMerge
joins the three into one document.

    python -m tools.openapi --out build/openapi.json
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

REPO_ROOT = Path(__file__).resolve().parent.parent
# The functions that serve HTTP routes, by their key in terraform/functions.tf.
HTTP_FUNCTIONS = {"cart": "handlers.cart", "catalog": "handlers.catalog", "checkout": "handlers.checkout"}
TITLE = "serverless-state shop"
VERSION = "1.0.0"
# The handlers read their configuration at import time. Generating the document calls nothing,
# so placeholders that only have to be well-formed stand in where nothing is set.
_IMPORT_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "openapi",
    "AWS_SECRET_ACCESS_KEY": "openapi",
    "STATE_TABLE_NAME": "openapi-state",
    "ORDERS_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:openapi",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "ServerlessState",
}


class ComponentClash(RuntimeError):
    pass


def resolvers() -> dict[str, Any]:
    for name, value in _IMPORT_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    source = str(REPO_ROOT / "lambda_src")
    if source not in sys.path:
        sys.path.insert(0, source)
    return {function: importlib.import_module(module).app for function, module in HTTP_FUNCTIONS.items()}


def document() -> dict[str, Any]:
    merge = OpenAPIMerge(
        title=TITLE,
        version=VERSION,
        description=(
            "The shop's HTTP API (API Gateway HTTP API, payload format 2.0). In AWS every call is "
            "signed with SigV4 (IAM authorization); the local twin accepts unsigned calls."
        ),
        on_conflict="error",
    )
    components: dict[str, Any] = {}
    for function, app in resolvers().items():
        schema = json.loads(app.get_openapi_json_schema(title=f"{TITLE}: {function}", version=VERSION))
        # The merge keeps the last of two same-named schemas; two different ones would be a bug.
        for name, definition in schema.get("components", {}).get("schemas", {}).items():
            if components.setdefault(name, definition) != definition:
                raise ComponentClash(f"two different schemas are both named {name!r}")
        merge.add_schema(schema)
    return json.loads(merge.get_openapi_json_schema())


def operations(openapi: dict[str, Any]) -> set[str]:
    """`"METHOD /path/{param}"` for every operation: the form of Terraform's route keys."""
    return {f"{method.upper()} {path}" for path, item in openapi.get("paths", {}).items() for method in item}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="openapi", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("build") / "openapi.json")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    openapi = document()
    args.out.write_text(json.dumps(openapi, indent=2) + "\n")
    print(f"{args.out}: {len(operations(openapi))} operations")


if __name__ == "__main__":
    main()
