"""The export documents as the API answers with them, one serializer per kind, built from the
field table (``declarations.export.spec``) so the answer and its OpenAPI description can't drift.

Every serializer needs ``context={"viewer": <Enterprise>}``: a personal field (a small seller's
telephone on a waybill) is shown to the document's sender only and masked for the other parties.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework import serializers

from core.masking import mask_value
from declarations.export import spec as export_spec
from declarations.export.spec import ExportSpec
from declarations.intake.outputs import ChinaTime, LineOutput, spec_field
from declarations.models import Declaration, DocumentStatus, ExportListCancellation, ExportListStatus

# The documents an export list waits for (``ExportList.waiting_for``).
AWAITED_DOCUMENTS = ("order", "receipt", "waybill")


class ExportDocumentOutput(serializers.Serializer[Declaration]):
    """An export document as its API shows it to ``context["viewer"]``: its state, every head
    field in the table's order, its lines, customs' last answer, its times."""

    spec: ClassVar[ExportSpec]
    LEADING: ClassVar[tuple[str, ...]] = ("id", "status", "waiting_for", "match_failures", "version")
    TRAILING: ClassVar[tuple[str, ...]] = (
        "customs_status",
        "customs_note",
        "customs_answered_at",
        "created_at",
        "updated_at",
    )

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=DocumentStatus.choices)
    version = serializers.IntegerField()
    customs_status = serializers.CharField(
        allow_blank=True, help_text="Customs' last returnStatus for the document; blank until it answers."
    )
    customs_note = serializers.CharField(allow_blank=True, help_text="Customs' returnInfo, or why it was not sent.")
    customs_answered_at = ChinaTime(allow_null=True)
    created_at = ChinaTime()
    updated_at = ChinaTime()

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        declared = super().get_fields()
        fields = {name: declared.pop(name) for name in self.LEADING if name in declared}
        fields.update({field.name: spec_field(field) for field in self.spec.head})
        trailing = {name: declared.pop(name) for name in self.TRAILING}
        return {**fields, **declared, **trailing}

    def to_representation(self, instance: Declaration) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if instance.sender_id != self.context["viewer"].pk:
            for name in self.spec.personal_fields:
                data[name] = mask_value(name, data[name])
        return data


def _lines(spec: ExportSpec, name: str) -> type[LineOutput]:
    meta = type("Meta", (), {"ref_name": f"{name}ItemOutput"})
    return type(f"{name}ItemOutput", (LineOutput,), {"lines": spec.lines, "Meta": meta})


def _output(spec: ExportSpec, name: str, doc: str, **extra: Any) -> type[ExportDocumentOutput]:
    attrs: dict[str, Any] = {"spec": spec, "__doc__": doc, "Meta": type("Meta", (), {"ref_name": f"{name}Output"})}
    if spec.lines:
        attrs["items"] = _lines(spec, name)(many=True)
    attrs.update(extra)
    return type(f"{name}Output", (ExportDocumentOutput,), attrs)


ExportOrderOutput = _output(export_spec.ORDER, "ExportOrder", "An export order or overseas-warehouse booking (CEB303).")
ExportReceiptOutput = _output(export_spec.RECEIPT, "ExportPaymentReceipt", "A payment receipt (收款单, CEB403).")
ExportWaybillOutput = _output(
    export_spec.WAYBILL,
    "ExportWaybill",
    "An export waybill (CEB505); ebc_telephone is masked unless the caller sent it.",
)
ExportArrivalOutput = _output(
    export_spec.ARRIVAL, "ExportArrival", "An arrival at the supervised site (运抵单, CEB507)."
)
ExportDepartureOutput = _output(export_spec.DEPARTURE, "ExportDeparture", "A departure (离境单, CEB509).")
ExportMasterBillOutput = _output(export_spec.MASTER_BILL, "ExportMasterBill", "A master/sub bill (清单总分单, CEB607).")
ExportListOutput = _output(
    export_spec.LIST,
    "ExportList",
    "An export list (申报清单, CEB603), with what it waits for and the checks it failed.",
    status=serializers.ChoiceField(choices=ExportListStatus.choices),
    waiting_for=serializers.ListField(child=serializers.ChoiceField(choices=AWAITED_DOCUMENTS)),
    match_failures=serializers.ListField(
        child=serializers.DictField(),
        help_text="The checks it failed, each with its rule's stable name and where the documents disagree: "
        "rule, field, gnum, list_value, other_value.",
    ),
)


class ExportListCancellationOutput(serializers.Serializer[ExportListCancellation]):
    id = serializers.IntegerField()
    export_list_id = serializers.IntegerField()
    guid = serializers.CharField()
    reason = serializers.CharField()
    status = serializers.ChoiceField(choices=ExportListCancellation.Status.choices)
    customs_status = serializers.CharField(allow_blank=True)
    customs_note = serializers.CharField(allow_blank=True)
    created_at = ChinaTime()

    class Meta:
        ref_name = "ExportListCancellation"
