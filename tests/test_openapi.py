"""The OpenAPI description: generated without warnings, valid, with examples, served offline."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.test import Client
from openapi_spec_validator import validate

from core.problems import PROBLEM_CONTENT_TYPE

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The schema as ``make schema`` writes it; generating it fails on any warning."""
    path = tmp_path_factory.mktemp("openapi") / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    loaded: dict[str, Any] = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return loaded


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def _has_example(content: dict[str, Any]) -> bool:
    return any(media.get("examples") or "example" in media for media in content.values())


def test_the_schema_is_generated_without_warnings_and_is_valid_openapi_3(schema: dict[str, Any]) -> None:
    validate(schema)
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "sw_<prefix>_<secret>",
        "description": "An enterprise API key, issued by a regulator or created over /api/v1/keys.",
    }


def test_the_schema_describes_the_foundation_endpoints(schema: dict[str, Any]) -> None:
    operation_ids = {operation["operationId"] for _method, _path, operation in _operations(schema)}

    assert {
        "health",
        "enterprises_me",
        "enterprises_retrieve",
        "keys_list",
        "keys_create",
        "keys_revoke",
        "appointments_list",
        "appointments_create",
        "appointments_retrieve",
        "appointments_revoke",
    } <= operation_ids


def test_every_operation_has_an_example(schema: dict[str, Any]) -> None:
    """An example of the request or of a success; an operation with neither body (a 204
    DELETE) needs one in its error responses at least."""
    missing = []
    for method, path, operation in _operations(schema):
        request = operation.get("requestBody", {}).get("content", {})
        successes = [r.get("content", {}) for status, r in operation["responses"].items() if status.startswith("2")]
        if request or any(successes):
            candidates = [request, *successes]
        else:
            candidates = [r.get("content", {}) for r in operation["responses"].values()]
        if not any(_has_example(content) for content in candidates):
            missing.append(f"{method} {path}")
    assert missing == []


def test_errors_are_documented_as_problem_json_with_examples(schema: dict[str, Any]) -> None:
    wrong = []
    for method, path, operation in _operations(schema):
        if operation["operationId"] == "health":
            continue  # 503 there is the health report itself, not a problem
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            content = response.get("content", {})
            if list(content) != [PROBLEM_CONTENT_TYPE] or not _has_example(content):
                wrong.append(f"{method} {path} {status}: {sorted(content)}")
    assert wrong == []


def test_the_schema_is_served_without_a_key(db: None, client: Client) -> None:
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.safe_load(response.content)["info"]["title"] == "Single Window API"


def test_the_schema_is_served_as_json_on_request(db: None, client: Client) -> None:
    response = client.get("/api/schema/?format=json")

    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Single Window API"


def _fetch_static(client: Client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    try:
        return b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
    finally:
        response.close()


def test_the_swagger_ui_is_served_with_its_own_static_files(db: None, client: Client) -> None:
    response = client.get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets)
    for asset in assets:
        # No CDN: there is no internet where this runs.
        assert asset.startswith("/static/"), asset
        assert _fetch_static(client, asset)
    assert 'url: "/api/schema/"' in page
