"""Many documents in one request: a JSON batch (``POST /api/v1/batches``) or a customs XML
message of up to 100 documents take this one path.

Each document is validated and stored on its own (``services.document_submit`` in a savepoint),
so one bad document never holds back the others; the documents of a chunk share one
transaction, so a chunk costs one commit rather than one per document. Documents are taken in
the order they were sent: a change after its creation in the same batch applies.

A chunk takes its documents' parcel locks in one statement at its start, writes their events
together at its end (``events_deferred``), and matches each list its documents concern once,
after all of them are stored (``matching.matching_deferred``): a parcel whose four documents
come in one chunk is matched once.

A chunk is tried first without a savepoint per document or list (each costs two round trips):
a document's refusals all come before its first write. If a database error spoils that try (a
lock conflict with a parallel request, a business key taken meanwhile), the chunk is rolled
back and tried again with savepoints: a document that meets a lock conflict (a deadlock, a lock
or statement timeout) is then rolled back to its savepoint and tried again alone after its
chunk commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, OperationalError, transaction
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.settings import api_settings

from core.audit import Actor
from core.deferred import rows_deferred
from core.errors import ApiError, Conflict, InvalidInput
from core.problems import flatten_validation
from declarations.clearance import matching, parcels
from declarations.intake import codes, rules, services
from declarations.kinds import DocumentType
from declarations.models import Inventory
from single_window.events import deferred_discard, deferred_mark, events_deferred
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


class Validators:
    """One input serializer per kind for a whole batch: DRF builds (deep-copies) a serializer's
    fields when it is made, which costs more than validating a document; a made serializer
    validates any number of bodies (``run_validation``, as ``is_valid`` and a ``many=True``
    serializer do), and keeps no state between them."""

    def __init__(self) -> None:
        self.made: dict[DocumentType, serializers.BaseSerializer[Any]] = {}

    def validated(self, document: BatchDocument) -> dict[str, Any]:
        serializer = self.made.get(document.kind)
        if serializer is None:
            serializer = self.made[document.kind] = document.kind.input_serializer()
        try:
            data = serializer.run_validation(document.body)
        except serializers.ValidationError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {api_settings.NON_FIELD_ERRORS_KEY: exc.detail}
            raise InvalidInput(_("The request has invalid fields."), errors=list(flatten_validation(detail))) from None
        return dict(data)


def _submit(
    document: BatchDocument,
    data: dict[str, Any],
    sender: Enterprise,
    source: InboundMessage | None,
    actor: Actor | None,
    *,
    savepoint: bool = True,
) -> BatchOutcome:
    mark = deferred_mark()
    try:
        result = services.document_submit(
            kind=document.kind, data=data, sender=sender, source_message=source, actor=actor, savepoint=savepoint
        )
    except ApiError as error:
        deferred_discard(mark)  # its savepoint was rolled back: so are its events and audit
        return BatchOutcome(kind=document.kind, error=error)
    except OperationalError:
        deferred_discard(mark)
        raise
    return BatchOutcome(kind=document.kind, result=result)


def _normalised(data: dict[str, Any]) -> dict[str, Any] | None:
    """The document's data with its party codes as stored (None: it lacks a key field; its
    own rules refuse it later)."""
    try:
        normalised = rules.normalise_party_codes(data)
    except KeyError:
        return None
    return normalised


def _keys_absent(documents: list[tuple[DocumentType, dict[str, Any]]]) -> set[tuple[str, Any, Any]]:
    """The business keys of the new documents that no stored document has: a query per kind."""
    wanted: dict[DocumentType, set[tuple[Any, Any]]] = {}
    for kind, data in documents:
        first, second = kind.business_key
        if data.get("app_type") == "1" and first in data and second in data:
            wanted.setdefault(kind, set()).add((data[first], data[second]))
    absent: set[tuple[str, Any, Any]] = set()
    for kind, keys in wanted.items():
        stored = services.business_keys_stored(kind, keys)
        absent |= {(kind.name, a, b) for a, b in keys - stored}
    return absent


def _chunk(
    documents: Sequence[BatchDocument],
    indexes: range,
    outcomes: list[BatchOutcome | None],
    *,
    sender: Enterprise,
    source_message: InboundMessage | None,
    actor: Actor | None,
    validators: Validators,
) -> tuple[list[tuple[int, dict[str, Any]]], matching.MatchQueue]:
    """Store a chunk's documents in one transaction; the documents to try again alone, and
    the matching queue (whose busy lists are matched again after the commit)."""
    validated: list[tuple[int, dict[str, Any]]] = []
    for index in indexes:
        try:
            validated.append((index, validators.validated(documents[index])))
        except ApiError as error:
            outcomes[index] = BatchOutcome(kind=documents[index].kind, error=error)
    normalised = [(index, _normalised(data)) for index, data in validated]
    names = {name for index, data in normalised if data for name in parcels.lock_names(documents[index].kind, data)}
    keys = [(documents[index].kind, data) for index, data in normalised if data]
    try:
        # First without a savepoint per document or list: every refusal comes before a
        # document's first write, so only a database error can spoil the chunk's transaction.
        return [], _chunk_without_savepoints(documents, validated, outcomes, names, keys, sender, source_message, actor)
    except DatabaseError:
        # A lock conflict or a key taken meanwhile: everything of the try was rolled back.
        for index, _data in validated:
            outcomes[index] = None
    again: list[tuple[int, dict[str, Any]]] = []
    with transaction.atomic(), rows_deferred(), events_deferred(), matching.matching_deferred() as queue:
        try:
            with transaction.atomic():
                parcels.parcel_locks_take(names)
        except OperationalError:
            # A deadlock with a parallel request: each document takes its own as it goes.
            names = set()
        with parcels.parcel_locks_held(names), services.keys_absent(_keys_absent(keys)):
            for index, data in validated:
                try:
                    outcomes[index] = _submit(documents[index], data, sender, source_message, actor)
                except OperationalError:
                    # document_submit's savepoint was rolled back; the chunk goes on.
                    again.append((index, data))
    return again, queue


def _chunk_without_savepoints(
    documents: Sequence[BatchDocument],
    validated: list[tuple[int, dict[str, Any]]],
    outcomes: list[BatchOutcome | None],
    names: set[str],
    keys: list[tuple[DocumentType, dict[str, Any]]],
    *args: Any,
) -> matching.MatchQueue:
    with (
        transaction.atomic(),
        rows_deferred(),
        events_deferred(),
        matching.matching_deferred(savepoints=False) as queue,
    ):
        parcels.parcel_locks_take(names)
        with parcels.parcel_locks_held(names), services.keys_absent(_keys_absent(keys)):
            for index, data in validated:
                outcomes[index] = _submit(documents[index], data, *args, savepoint=False)
    return queue


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
    validators = Validators()
    for start in range(0, len(documents), size):
        again, queue = _chunk(
            documents,
            range(start, min(start + size, len(documents))),
            outcomes,
            sender=sender,
            source_message=source_message,
            actor=actor,
            validators=validators,
        )
        queue.retry()
        for index, data in again:
            # Alone, in a transaction of its own: it waits for the other request's locks.
            try:
                outcomes[index] = _submit(documents[index], data, sender, source_message, actor)
            except OperationalError:
                outcomes[index] = BatchOutcome(kind=documents[index].kind, error=DocumentBusy())
    done = [outcome for outcome in outcomes if outcome is not None]
    _read_list_states(done)
    return done


def _read_list_states(outcomes: list[BatchOutcome]) -> None:
    """The lists' states after matching (which ran after they were stored), in one query."""
    lists = {
        outcome.result.document.pk: outcome.result.document
        for outcome in outcomes
        if outcome.result is not None and isinstance(outcome.result.document, Inventory)
    }
    if not lists:
        return
    for pk, status, waiting_for, updated_at in Inventory.objects.filter(pk__in=lists).values_list(
        "pk", "status", "waiting_for", "updated_at"
    ):
        document = lists[pk]
        document.status, document.waiting_for, document.updated_at = status, waiting_for, updated_at
