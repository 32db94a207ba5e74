"""What the client raises: a problem document as an exception, and a refused webhook."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"


class SingleWindowError(Exception):
    """Anything this package raises on purpose."""


@dataclass(frozen=True)
class FieldError:
    """One broken field of a refused request: ``field`` is a path such as ``items[0].gcode``,
    or None for the document as a whole."""

    field: str | None
    code: str
    message: str


class ProblemError(SingleWindowError):
    """An answer of 400 or more, read from its RFC 9457 ``application/problem+json`` body.

    ``code`` is the stable code to branch on; ``detail`` and the field messages follow
    ``Accept-Language``. ``problem`` holds the whole document, extra members included
    (``customs_code``, ``existing_id``, ``from_status``/``to_status``, ``retry_after``).
    An answer that is not a problem document (a proxy's 502 page) gets ``code`` ``http_<status>``.
    """

    def __init__(
        self,
        *,
        status: int,
        code: str,
        title: str,
        detail: str = "",
        type: str = "about:blank",  # noqa: A002 - the member's name in RFC 9457
        instance: str | None = None,
        errors: list[FieldError] | None = None,
        problem: dict[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.type = type
        self.instance = instance
        self.errors = errors or []
        self.problem = problem or {}
        fields = "; ".join(f"{e.field or '(document)'}: {e.code}" for e in self.errors)
        super().__init__(f"{status} {code}: {detail or title}" + (f" [{fields}]" if fields else ""))

    @classmethod
    def from_response(cls, status: int, content_type: str, body: bytes, reason: str = "") -> ProblemError:
        problem: dict[str, Any] = {}
        if content_type.split(";", maxsplit=1)[0].strip().lower() in {PROBLEM_CONTENT_TYPE, "application/json"}:
            try:
                loaded = json.loads(body)
            except ValueError:
                loaded = None
            if isinstance(loaded, dict):
                problem = loaded
        errors = [
            FieldError(field=e.get("field"), code=str(e.get("code", "")), message=str(e.get("message", "")))
            for e in problem.get("errors") or []
            if isinstance(e, dict)
        ]
        return cls(
            status=int(problem.get("status") or status),
            code=str(problem.get("code") or f"http_{status}"),
            title=str(problem.get("title") or reason or f"HTTP {status}"),
            detail=str(problem.get("detail") or ""),
            type=str(problem.get("type") or "about:blank"),
            instance=problem.get("instance"),
            errors=errors,
            problem=problem,
        )

    def field_codes(self) -> dict[str | None, list[str]]:
        """The codes of the field errors, by field."""
        codes: dict[str | None, list[str]] = {}
        for error in self.errors:
            codes.setdefault(error.field, []).append(error.code)
        return codes


class WebhookVerificationError(SingleWindowError):
    """A webhook delivery that is not signed with the secret, or not recently."""
