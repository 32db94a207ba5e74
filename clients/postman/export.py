"""Write the Postman collection (v2.1) of the API from its OpenAPI schema.

    python clients/postman/export.py                      # the schema of this checkout (manage.py spectacular)
    python clients/postman/export.py --schema openapi.yaml
    python clients/postman/export.py --schema http://127.0.0.1:8000/api/schema/
    python clients/postman/export.py --check              # exit 1 when the committed collection is stale

One request per operation, in a folder per tag, named by its summary. Every request reads
``{{base_url}}`` and authenticates with the bearer ``{{api_key}}`` (operations that need no key
say so); a POST sends ``Idempotency-Key: {{$guid}}``; a body is the schema's first request
example. The output is deterministic: the same schema gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = Path(__file__).resolve().parent / "single-window.postman_collection.json"
COLLECTION_SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
# Stable, so regenerating the collection changes nothing Postman uses to recognise it.
COLLECTION_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "urn:single-window:postman-collection"))
RAW_LANGUAGES = {"application/json": "json", "application/xml": "xml", "text/csv": "text"}

Json = dict[str, Any]


# --- Reading the schema ------------------------------------------------------------------------


def load_schema(source: str | None = None) -> Json:
    """The schema from a file (JSON or YAML), a URL, or (``None``) this checkout's ``manage.py spectacular``."""
    if source is None:
        generated = subprocess.run(
            [sys.executable, "manage.py", "spectacular", "--format", "openapi-json"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        text = generated.stdout.decode()
    elif source.startswith(("http://", "https://")):
        import httpx  # noqa: PLC0415 - only for a live schema

        answer = httpx.get(source, headers={"Accept": "application/vnd.oai.openapi+json"}, timeout=30)
        answer.raise_for_status()
        text = answer.text
    else:
        text = Path(source).read_text(encoding="utf-8")
    try:
        loaded: Json = json.loads(text)
    except ValueError:
        import yaml  # noqa: PLC0415 - YAML only when the schema is not JSON

        loaded = yaml.safe_load(text)
    return loaded


def operations(schema: Json) -> list[tuple[str, str, Json]]:
    """(method, path, operation) of every operation, in the schema's order."""
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


# --- Building the collection -------------------------------------------------------------------


def _first_example(media: Json) -> Any:
    examples = media.get("examples") or {}
    for example in examples.values():
        if "value" in example:
            return example["value"]
    return media.get("example")


def _body(operation: Json) -> tuple[Json | None, str | None]:
    """The request body (Postman ``raw`` mode) and its content type: JSON when offered, else the first."""
    content: Json = operation.get("requestBody", {}).get("content", {})
    if not content:
        return None, None
    content_type = "application/json" if "application/json" in content else next(iter(content))
    example = _first_example(content[content_type])
    if content_type == "multipart/form-data":
        fields = example if isinstance(example, dict) else {}
        formdata = [{"key": key, "value": str(value), "type": "text"} for key, value in fields.items()]
        return {"mode": "formdata", "formdata": formdata}, None
    if example is None:
        raw = ""
    elif isinstance(example, str):
        raw = example
    else:
        raw = json.dumps(example, ensure_ascii=False, indent=2)
    language = RAW_LANGUAGES.get(content_type, "text")
    return {"mode": "raw", "raw": raw, "options": {"raw": {"language": language}}}, content_type


def _url(path: str, operation: Json) -> Json:
    segments = [segment for segment in path.split("/") if segment]
    postman_segments = [f":{s[1:-1]}" if s.startswith("{") and s.endswith("}") else s for s in segments]
    parameters = operation.get("parameters", [])
    url: Json = {
        "raw": "{{base_url}}/" + "/".join(postman_segments) + ("/" if path.endswith("/") else ""),
        "host": ["{{base_url}}"],
        "path": postman_segments + ([""] if path.endswith("/") else []),
    }
    query = [
        {"key": p["name"], "value": "", "description": p.get("description", ""), "disabled": True}
        for p in parameters
        if p.get("in") == "query"
    ]
    if query:
        url["query"] = query
    variables = [
        {"key": p["name"], "value": "", "description": p.get("description", "")}
        for p in parameters
        if p.get("in") == "path"
    ]
    if variables:
        url["variable"] = variables
    return url


def _needs_key(operation: Json) -> bool:
    return any(requirement for requirement in operation.get("security", []))


def request_item(method: str, path: str, operation: Json) -> Json:
    headers: list[Json] = []
    body, content_type = _body(operation)
    if content_type:
        headers.append({"key": "Content-Type", "value": content_type})
    if method == "post" and _needs_key(operation):
        headers.append({"key": "Idempotency-Key", "value": "{{$guid}}", "description": "Makes a retry safe."})
    request: Json = {
        "method": method.upper(),
        "header": headers,
        "url": _url(path, operation),
        "description": operation.get("description", ""),
    }
    if not _needs_key(operation):
        request["auth"] = {"type": "noauth"}
    if body is not None:
        request["body"] = body
    return {
        "id": operation["operationId"],
        "name": operation.get("summary") or operation["operationId"],
        "request": request,
        "response": [],
    }


def build_collection(schema: Json, *, base_url: str = DEFAULT_BASE_URL) -> Json:
    """The v2.1 collection: a folder per tag (in the order tags first appear), a request per operation."""
    folders: dict[str, list[Json]] = {}
    for method, path, operation in operations(schema):
        tag = (operation.get("tags") or ["other"])[0]
        folders.setdefault(tag, []).append(request_item(method, path, operation))
    info = schema.get("info", {})
    return {
        "info": {
            "_postman_id": COLLECTION_ID,
            "name": info.get("title", "Single Window API"),
            "description": info.get("description", ""),
            "version": info.get("version", ""),
            "schema": COLLECTION_SCHEMA,
        },
        "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{api_key}}", "type": "string"}]},
        "variable": [
            {"key": "base_url", "value": base_url, "type": "string"},
            {"key": "api_key", "value": "", "type": "string"},
        ],
        "item": [{"name": tag, "item": items} for tag, items in folders.items()],
    }


def render(collection: Json) -> str:
    return json.dumps(collection, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schema", help="a schema file (JSON or YAML) or URL; default: manage.py spectacular")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="compare with --output instead of writing it")
    args = parser.parse_args(argv)
    text = render(build_collection(load_schema(args.schema)))
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run clients/postman/export.py", file=sys.stderr)  # noqa: T201
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
