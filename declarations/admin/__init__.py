"""The regulators' console for declarations: the reference tables and the import documents."""

from __future__ import annotations

from declarations.admin import documents, logistics, queues, reference, review, workbench

__all__ = ["documents", "logistics", "queues", "reference", "review", "workbench"]
