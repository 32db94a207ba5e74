"""Many documents in one request: a JSON batch (``POST /api/v1/batches``) or a customs XML
message of up to 100 documents take this one path.

Each document is validated and stored on its own (``services.document_submit`` in a savepoint),
so one bad document never holds back the others; the documents of a chunk share one
transaction, so a chunk costs one commit rather than one per document. Documents are taken in
the order they were sent: a change after its creation in the same batch applies.

A document that meets a lock conflict with a parallel request (a deadlock, a lock or statement
timeout) is rolled back to its savepoint and tried again alone after its chunk commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import OperationalError, transaction
from django.utils.translation import gettext_lazy as _

from core.audit import Actor
from core.errors import ApiError, Conflict, InvalidInput
from core.problems import flatten_validation
from declarations.intake import codes, services
from declarations.kinds import DocumentType
from single_window.models import Enterprise, InboundMessage


class DocumentBusy(Conflict):
    default_code = codes.DOCUMENT_BUSY
    default_detail = _("A parallel request held this document's parcel; nothing was stored. Send it again.")


@dataclass(frozen=True)
class BatchDocument:
    """One document of a batch as it was sent: its type and its body, not validated yet."""

    kind: DocumentType
    body: Mapping[str, Any]


@dataclass(frozen=True)
class BatchOutcome:
    """What became of one document: stored (``result``) or refused (``error``)."""

    kind: DocumentType
    result: services.SubmitResult | None = None
    error: ApiError | None = None

    @property
    def accepted(self) -> bool:
        return self.result is not None


def _validated(document: BatchDocument) -> dict[str, Any]:
    serializer = document.kind.input_serializer(data=document.body)
    if not serializer.is_valid():
        raise InvalidInput(_("The request has invalid fields."), errors=list(flatten_validation(serializer.errors)))
    return dict(serializer.validated_data)


def _submit(
    document: BatchDocument,
    data: dict[str, Any],
    sender: Enterprise,
    source: InboundMessage | None,
    actor: Actor | None,
) -> BatchOutcome:
    try:
        result = services.document_submit(
            kind=document.kind, data=data, sender=sender, source_message=source, actor=actor
        )
    except ApiError as error:
        return BatchOutcome(kind=document.kind, error=error)
    return BatchOutcome(kind=document.kind, result=result)


def batch_submit(
    *,
    documents: Sequence[BatchDocument],
    sender: Enterprise,
    actor: Actor | None = None,
    source_message: InboundMessage | None = None,
    chunk_size: int | None = None,
) -> list[BatchOutcome]:
    """Store or refuse each of ``documents`` as ``sender``; one outcome per document, in order.

    ``actor``: who sent the batch, for the audit log (None: the sender itself).
    ``source_message``: the customs XML message the documents came in (None for JSON).
    ``chunk_size``: documents per transaction (``BATCH_CHUNK_SIZE``).
    """
    size = chunk_size or settings.BATCH_CHUNK_SIZE
    outcomes: list[BatchOutcome | None] = [None] * len(documents)
    for start in range(0, len(documents), size):
        again: list[tuple[int, dict[str, Any]]] = []
        with transaction.atomic():
            for index in range(start, min(start + size, len(documents))):
                document = documents[index]
                try:
                    data = _validated(document)
                except ApiError as error:
                    outcomes[index] = BatchOutcome(kind=document.kind, error=error)
                    continue
                try:
                    outcomes[index] = _submit(document, data, sender, source_message, actor)
                except OperationalError:
                    # document_submit's savepoint was rolled back; the chunk goes on.
                    again.append((index, data))
        for index, data in again:
            # Alone, in a transaction of its own: it waits for the other request's locks.
            try:
                outcomes[index] = _submit(documents[index], data, sender, source_message, actor)
            except OperationalError:
                outcomes[index] = BatchOutcome(kind=documents[index].kind, error=DocumentBusy())
    return [outcome for outcome in outcomes if outcome is not None]
