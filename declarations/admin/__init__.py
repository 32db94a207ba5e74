"""The regulators' console for declarations: the reference tables and the import documents."""

from __future__ import annotations

from declarations.admin import documents, reference, review

__all__ = ["documents", "reference", "review"]
