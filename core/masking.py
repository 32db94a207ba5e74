"""Masking of personal information for answers, the admin and the audit log."""

from __future__ import annotations


def mask_text(value: str | None, *, keep_start: int = 1, keep_end: int = 0) -> str | None:
    """Keep the first ``keep_start`` and last ``keep_end`` characters, star the rest."""
    if not value:
        return value
    if len(value) <= keep_start + keep_end:
        return value[:1] + "*" * (len(value) - 1)
    hidden = len(value) - keep_start - keep_end
    return value[:keep_start] + "*" * hidden + (value[-keep_end:] if keep_end else "")


def mask_name(value: str | None) -> str | None:
    return mask_text(value, keep_start=1)


def mask_phone(value: str | None) -> str | None:
    return mask_text(value, keep_start=3, keep_end=4) if value and len(value) > 7 else mask_text(value)


def mask_email(value: str | None) -> str | None:
    if not value or "@" not in value:
        return mask_text(value)
    local, _, domain = value.partition("@")
    return f"{mask_text(local)}@{domain}"


def mask_address(value: str | None) -> str | None:
    return mask_text(value, keep_start=min(6, len(value) // 3)) if value else value


def mask_id_number(value: str | None) -> str | None:
    return mask_text(value, keep_start=3, keep_end=2)


def mask_value(field: str, value: object) -> object:
    """Mask ``value`` by what its field name says it holds."""
    if not isinstance(value, str):
        return value if value is None else "***"
    name = field.lower()
    if "phone" in name or "tel" in name:
        return mask_phone(value)
    if "email" in name:
        return mask_email(value)
    if "address" in name:
        return mask_address(value)
    if "id_number" in name or name.endswith("_id_no"):
        return mask_id_number(value)
    return mask_name(value)
