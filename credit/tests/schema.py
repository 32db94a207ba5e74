"""Checking an answer against the OpenAPI description, as the declarations' tests do: object
schemas closed to undocumented properties, nullable references read as "that or null"."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from typing import Any

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from openapi_schema_validator import OAS30ReadValidator


@cache
def description() -> dict[str, Any]:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    served: dict[str, Any] = json.loads(OpenApiJsonRenderer().render(generated))
    served["components"] = _closed(served["components"])
    return served


def _closed(node: Any) -> Any:
    node = copy.deepcopy(node)
    for schema in _dicts(node):
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        if schema.get("nullable") and "allOf" in schema and "type" not in schema:
            schema["anyOf"] = [{"allOf": schema.pop("allOf")}, {"enum": [None]}]
            del schema["nullable"]
    return node


def _dicts(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _dicts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _dicts(value)


def _operation(operation_id: str) -> dict[str, Any]:
    for item in description()["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                return operation
    raise LookupError(operation_id)


def assert_documented(operation_id: str, response: Any) -> None:
    """The response's status is documented for the operation, and its JSON body fits the schema."""
    status = str(response.status_code)
    responses = _operation(operation_id)["responses"]
    assert status in responses, f"{operation_id} answered {status}, documented: {sorted(responses)}"
    content = responses[status].get("content", {})
    media = "application/json" if response.status_code < 400 else "application/problem+json"
    assert media in content, f"{operation_id} {status}: documented as {sorted(content)}"
    root = {**_closed(content[media]["schema"]), "components": description()["components"]}
    validator = OAS30ReadValidator(root, format_checker=OAS30ReadValidator.FORMAT_CHECKER)
    problems = [
        f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
        for error in validator.iter_errors(response.json())
    ]
    assert problems == [], f"{operation_id} {status}:\n" + "\n".join(problems)
