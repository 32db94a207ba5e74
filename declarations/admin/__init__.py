"""The regulators' console for declarations: the reference tables and the import documents."""

from __future__ import annotations

from declarations.admin import documents, logistics, reference, review

__all__ = ["documents", "logistics", "reference", "review"]
