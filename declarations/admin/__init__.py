"""The regulators' console for declarations: the reference tables, the import and the export documents."""

from __future__ import annotations

from declarations.admin import documents, export, logistics, queues, reference, review, workbench

__all__ = ["documents", "export", "logistics", "queues", "reference", "review", "workbench"]
