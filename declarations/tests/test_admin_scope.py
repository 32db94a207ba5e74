"""A regulator's scope holds on every page of the admin, by one rule.

Districts are matched against a list's ``customs_code`` / ``port_code``; parks against the park
of the list's area enterprise (``area_code``) or, without one, of its declaring agent. An order,
payment or waybill is seen through a list in scope; enterprises, parks and what hangs on them
(keys, appointments, certificates, endpoints, events) by the enterprise's park; the audit log by
the object an entry is about, or by who acted. Reference data is nationwide.

Two worlds: the demo parcel in ``park`` (district 2901) and a second parcel, with parties of its
own, in a park of district 3104. Personas: a customs officer of district 2901 and a commerce-bureau
analyst scoped to ``park``; both must see the first world and nothing of the second, on the list
page and the change page of every model registered in the admin.
"""

from __future__ import annotations

import datetime
import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import AuditEntry
from credit.models import (
    CreditConsent,
    CreditEvent,
    CreditGradeOverride,
    CreditProfile,
    CreditReportRead,
    CustomsClass,
    CustomsClassDecision,
)
from declarations.intake import examples
from declarations.intake.identity import protect_id_number
from declarations.intake.serializers import InventoryInput
from declarations.models import (
    ArrivalManifest,
    BuyerYearQuota,
    CountryCode,
    ExportArrival,
    ExportDeparture,
    ExportList,
    ExportListCancellation,
    ExportMasterBill,
    ExportOrder,
    ExportPaymentReceipt,
    ExportWaybill,
    Inventory,
    InventoryCancellation,
    InventoryInReview,
    InventoryReturn,
    ListAssignment,
    ListExport,
    ListHold,
    ListMatchFailure,
    ListNote,
    ListSendFailure,
    ListTaxBillDifference,
    ListWaitingForDocuments,
    Order,
    Payment,
    PositiveListEntry,
    TaxEstimate,
    TaxRate,
    UnitCode,
    Waybill,
    WaybillDeliveryNotice,
    WorkbenchAction,
)
from declarations.models.export_returns import ExportReturn
from declarations.models.export_summary import ExportSummary
from declarations.tests.export.rows import export_parcel
from declarations.tests.helpers import BUYER_ID_ENDING_X, Send, url
from finance.models import (
    ExchangeRate,
    ExportProceeds,
    FinancingApplication,
    FinancingRecordRead,
    GuaranteeAccount,
    GuaranteeCoverage,
    GuaranteeMovement,
    GuaranteeReservation,
    GuaranteeShortfall,
    SettlementReport,
    TaxBill,
    TaxBillItem,
    TaxBillStatusChange,
)
from logistics.models import (
    DelayNorm,
    StockAccountBook,
    StockItem,
    StockMovement,
    StockReceipt,
    StockReservation,
    StockShortfall,
    TrackingEvent,
    WaybillTrack,
)
from risk.models import (
    Assessment,
    GoodsRestriction,
    RiskHit,
    RiskRule,
    RiskRuleVersion,
    WatchListEntry,
    WeightNorm,
)
from single_window import selectors, services, webhooks
from single_window.models import (
    ApiKey,
    Appointment,
    Enterprise,
    EnterpriseCertificate,
    EnterpriseSigningKey,
    Event,
    OutboxMessage,
    Park,
    Partner,
    PartnerKind,
    RegulatorScope,
    Role,
    SubscriptionCursor,
    WebhookEndpoint,
)
from single_window.roles import COMMERCE_BUREAU, CUSTOMS_OFFICER
from single_window.scope import Scope, ScopedAdminMixin, is_registered, scoped
from tests.certificates import make_key_pair
from tests.factories import TEST_ACTOR, ApiKeyFactory, AppointmentFactory, EnterpriseFactory, ParkFactory, Persona

pytestmark = pytest.mark.usefixtures("parties")

HOOK_URL = "https://erp.example.com/hooks"
LISTS = "/admin/declarations/inventory/"
KEYS = "/admin/single_window/apikey/"
APPOINTMENTS = "/admin/single_window/appointment/"
ENTERPRISES = "/admin/single_window/enterprise/"
# The second world's parties, in a park of district 3104.
FAR = {"ebp": "3301970001", "ebc": "3301970002", "pay": "3301970003", "logistics": "3301970004", "agent": "3301970005"}
FAR_ROLES = {"ebp": Role.EBP, "ebc": Role.EBC, "pay": Role.PAY, "logistics": Role.LOGISTICS, "agent": Role.AGENT}


def regulator(username: str, group: str, **scope: Any) -> User:
    user = User.objects.create_user(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    RegulatorScope.objects.create(user=user, **scope)
    return user


def far_documents(*, district: str = "3104", suffix: str = "9") -> dict[str, dict[str, Any]]:
    """The demo parcel as the second world's parties send it, declared in ``district``."""
    order_no, logistics_no = f"SW2026112500000{suffix}", f"YT2026112500000{suffix}"
    common = {"order_no": order_no}
    return {
        "order": examples.document(
            "order",
            **common,
            guid=f"4CDE1CFD-EDED-46B1-946C-B8022E42FC9{suffix}",
            ebp_code=FAR["ebp"],
            ebc_code=FAR["ebc"],
            pay_code=FAR["pay"],
            pay_transaction_id=f"PAY2026112500000{suffix}",
            buyer_id_number=BUYER_ID_ENDING_X,
        ),
        "payment": examples.document(
            "payment",
            **common,
            guid=f"5A1B2C3D-0000-4000-8000-00000000000{suffix}",
            ebp_code=FAR["ebp"],
            pay_code=FAR["pay"],
            pay_transaction_id=f"PAY2026112500000{suffix}",
            payer_id_number=BUYER_ID_ENDING_X,
        ),
        "waybill": examples.document(
            "waybill",
            **common,
            guid=f"6B2C3D4E-0000-4000-8000-00000000000{suffix}",
            logistics_code=FAR["logistics"],
            logistics_no=logistics_no,
        ),
        "inventory": examples.document(
            "inventory",
            **common,
            guid=f"7C3D4E5F-0000-4000-8000-00000000000{suffix}",
            cop_no=f"COP2026112500000{suffix}",
            ebp_code=FAR["ebp"],
            ebc_code=FAR["ebc"],
            assure_code=FAR["ebc"],
            logistics_code=FAR["logistics"],
            logistics_no=logistics_no,
            agent_code=FAR["agent"],
            buyer_id_number=BUYER_ID_ENDING_X,
            customs_code=district,
            port_code=district,
        ),
    }


SENDER = {"order": "ebp", "payment": "pay", "waybill": "logistics", "inventory": "agent"}


def send_as(who: dict[str, Persona], documents: dict[str, dict[str, Any]]) -> Inventory:
    for kind in ("order", "payment", "waybill", "inventory"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=who[SENDER[kind]].authorization)
        response = client.post(url(kind), documents[kind], format="json")
        assert response.status_code == 201, response.content
    return Inventory.objects.get(cop_no=documents["inventory"]["cop_no"])


def far_parties(park: Park) -> dict[str, Persona]:
    made = {}
    for name, code in FAR.items():
        enterprise = EnterpriseFactory.create(customs_code=code, roles=[FAR_ROLES[name]], park=park)
        api_key, raw_key = ApiKeyFactory.issue(enterprise=enterprise)
        made[name] = Persona(enterprise=enterprise, api_key=api_key, raw_key=raw_key)
    AppointmentFactory.create(principal=made["ebc"].enterprise, agent=made["agent"].enterprise)
    return made


def hang_things_on(enterprise: Enterprise, common_name: str) -> None:
    """An endpoint (so its events are delivered), a signing key and its certificate."""
    webhooks.webhook_endpoint_create(
        enterprise=enterprise, url=HOOK_URL, event_types=["inventory.status_changed"], actor=TEST_ACTOR
    )
    keys = make_key_pair(common_name=common_name)
    services.signing_key_register(
        enterprise=enterprise,
        private_key_pem=keys.private_key_text,
        certificate_pem=keys.certificate_text,
        actor=TEST_ACTOR,
    )


@dataclass(frozen=True)
class World:
    near: Inventory
    far: Inventory
    near_agent: Enterprise
    far_agent: Enterprise
    park: Park
    far_park: Park
    partner: Partner
    officer: User
    analyst: User

    def rows(self, model: type[Model]) -> tuple[Model | None, Model | None]:
        """A row of ``model`` in both personas' scope, and one in neither's (None: no such row)."""
        pick = ROWS.get(model)
        assert pick is not None, f"{model._meta.label} is in the admin: say which of its rows are in scope"
        return pick(self)


def _by_enterprise(model: type[Model]) -> Callable[[World], tuple[Model | None, Model | None]]:
    return lambda w: (
        model._default_manager.filter(enterprise=w.near_agent).first(),
        model._default_manager.filter(enterprise=w.far_agent).first(),
    )


def _by_list(model: type[Model], field: str = "inventory") -> Callable[[World], tuple[Model | None, Model | None]]:
    return lambda w: (
        model._default_manager.filter(**{field: w.near}).first(),
        model._default_manager.filter(**{field: w.far}).first(),
    )


def _parcel(model: type[Model], *keys: str) -> Callable[[World], tuple[Model | None, Model | None]]:
    return lambda w: (
        model._default_manager.get(**{key: getattr(w.near, key) for key in keys}),
        model._default_manager.get(**{key: getattr(w.far, key) for key in keys}),
    )


# The export parcels of the two worlds (declarations.tests.export.rows), by the suffix of their numbers.
NEAR_EXPORT, FAR_EXPORT = "N0001", "F0009"


def _export(model: type[Model], field: str, prefix: str) -> Callable[[World], tuple[Model | None, Model | None]]:
    return lambda _world: (
        model._default_manager.get(**{field: f"{prefix}{NEAR_EXPORT}"}),
        model._default_manager.get(**{field: f"{prefix}{FAR_EXPORT}"}),
    )


def _nationwide(model: type[Model]) -> Callable[[World], tuple[Model | None, Model | None]]:
    return lambda _world: (model._default_manager.first(), None)


def _risk_rows(w: World, model: type[Model]) -> tuple[Model | None, Model | None]:
    """What risk found about the near and the far list (an assessment and a hit each)."""
    rule, _created = RiskRule.objects.get_or_create(
        code="watch_list", defaults={"name": "watch list", "kind": "watch_list", "outcome": "block"}
    )
    found: list[Model] = []
    for inventory, park in ((w.near, w.park), (w.far, w.far_park)):
        where = {"customs_code": inventory.customs_code, "park_code": park.code}
        key = {"inventory_id": inventory.pk, "list_version": inventory.version}
        if model is Assessment:
            found.append(
                Assessment.objects.get_or_create(**key, defaults={**where, "verdict": "block", "cop_no": "x"})[0]
            )
        else:
            found.append(
                RiskHit.objects.get_or_create(
                    **key, rule=rule, defaults={**where, "rule_code": rule.code, "rule_version": 1, "outcome": "block"}
                )[0]
            )
    return found[0], found[1]


def _finance_rows(w: World, model: type[Model]) -> tuple[Model | None, Model | None]:
    """Finance's rows of the near and the far list: each agent guarantees its list (an account,
    a reservation, a shortfall, a bill with an item and a status, the ledger)."""
    found: list[Model] = []
    for inventory, park, agent in ((w.near, w.park, w.near_agent), (w.far, w.far_park, w.far_agent)):
        assert agent.customs_code is not None
        account, _created = GuaranteeAccount.objects.get_or_create(
            code=agent.customs_code, defaults={"name": agent.name, "amount": Decimal(100)}
        )
        key = {"inventory_id": inventory.pk, "list_version": inventory.version}
        where = {"customs_code": inventory.customs_code, "park_code": park.code, "cop_no": inventory.cop_no}
        bill, _created = TaxBill.objects.get_or_create(
            tax_no=f"TAX-{inventory.pk}",
            defaults={
                **key,
                "invt_no": f"{inventory.pk}",
                "assure_code": agent.customs_code,
                "agent_code": agent.customs_code,
                "customs_code": inventory.customs_code,
                "status": "1",
                "customs_tax": Decimal(0),
                "value_added_tax": Decimal(1),
                "consumption_tax": Decimal(0),
                "tax_total": Decimal(1),
                "issued_at": inventory.created_at,
            },
        )
        rows: dict[type[Model], Model] = {
            GuaranteeAccount: account,
            TaxBill: bill,
            TaxBillItem: TaxBillItem.objects.get_or_create(
                bill=bill,
                gnum=1,
                defaults={
                    "gcode": "1901101000",
                    "tax_price": Decimal(10),
                    "customs_tax": Decimal(0),
                    "value_added_tax": Decimal(1),
                    "consumption_tax": Decimal(0),
                },
            )[0],
            TaxBillStatusChange: TaxBillStatusChange.objects.get_or_create(
                tax_no=bill.tax_no,
                message_guid="m",
                defaults={"bill": bill, "status": "1", "occurred_at": bill.issued_at},
            )[0],
            GuaranteeMovement: GuaranteeMovement.objects.get_or_create(account=account, kind="adjust")[0],
            GuaranteeReservation: GuaranteeReservation.objects.get_or_create(
                **key,
                defaults={
                    **where,
                    "account": account,
                    "agent_code": agent.customs_code,
                    "ebc_code": inventory.ebc_code,
                    "estimated_tax": Decimal(1),
                    "customs_class": "regular",
                    "ratio": Decimal(1),
                    "amount": Decimal(1),
                    "state": "reserved",
                },
            )[0],
            GuaranteeShortfall: GuaranteeShortfall.objects.get_or_create(
                **key,
                defaults={
                    **where,
                    "account": account,
                    "assure_code": agent.customs_code,
                    "required": Decimal(1000),
                    "available": Decimal(1),
                },
            )[0],
        }
        found.append(rows[model])
    return found[0], found[1]


def _stock_rows(w: World, model: type[Model]) -> tuple[Model | None, Model | None]:
    """Logistics' bonded stock of the near and the far park: a book each (its operator's park),
    with an item, a receipt, a reservation and a shortfall of the park's list, and the ledger."""
    found: list[Model] = []
    for inventory, park, agent in ((w.near, w.park, w.near_agent), (w.far, w.far_park, w.far_agent)):
        assert agent.customs_code is not None
        book, _created = StockAccountBook.objects.get_or_create(
            ems_no=f"T{park.pk:011d}", defaults={"area_code": agent.customs_code, "park_code": park.code}
        )
        item, _created = StockItem.objects.get_or_create(
            book=book, item_record_no="REC-0001", defaults={"unit": "007", "on_hand": Decimal(5)}
        )
        key = {"inventory_id": inventory.pk, "list_version": inventory.version}
        rows: dict[type[Model], Model] = {
            StockAccountBook: book,
            StockItem: item,
            StockReceipt: StockReceipt.objects.get_or_create(
                book=book, reference="GRN-1", defaults={"received_at": inventory.created_at}
            )[0],
            StockMovement: StockMovement.objects.get_or_create(book=book, item=item, kind="receipt")[0],
            StockReservation: StockReservation.objects.get_or_create(
                **key, item=item, defaults={"book": book, "qty": Decimal(1), "state": "reserved"}
            )[0],
            StockShortfall: StockShortfall.objects.get_or_create(
                **key, defaults={"book": book, "ems_no": book.ems_no, "park_code": park.code, "code": "x"}
            )[0],
        }
        found.append(rows[model])
    return found[0], found[1]


def _audit(w: World) -> tuple[Model | None, Model | None]:
    def about(enterprise: Enterprise) -> AuditEntry:
        key = ApiKey.objects.filter(enterprise=enterprise).first()
        assert key is not None
        return AuditEntry.objects.get(object_type="single_window.apikey", object_id=str(key.pk))

    return about(w.near_agent), about(w.far_agent)


def _logistics_rows(w: World, model: type[Model]) -> tuple[Model | None, Model | None]:
    """The near and the far list's waybill as their carriers tracked it (logistics/scope.py: the
    carrier's park, the list's district), with an event, and each carrier's delay norm."""
    found: list[Model] = []
    for inventory, park in ((w.near, w.park), (w.far, w.far_park)):
        track, _created = WaybillTrack.objects.get_or_create(
            logistics_code=inventory.logistics_code,
            logistics_no=inventory.logistics_no,
            defaults={"known": True, "customs_code": inventory.customs_code, "park_code": park.code},
        )
        rows: dict[type[Model], Model] = {
            WaybillTrack: track,
            TrackingEvent: TrackingEvent.objects.get_or_create(
                track=track,
                logistics_code=track.logistics_code,
                logistics_no=track.logistics_no,
                status="picked_up",
                occurred_at=inventory.created_at,
                leg=1,
                defaults={"transport_mode": "air", "source": "api"},
            )[0],
            DelayNorm: DelayNorm.objects.get_or_create(
                logistics_code=inventory.logistics_code,
                transport_mode="air",
                leg=1,
                status="picked_up",
                defaults={"seconds": 3600, "samples": 30, "computed_at": inventory.created_at},
            )[0],
        }
        found.append(rows[model])
    return found[0], found[1]


def _workbench_rows(w: World, model: type[Model]) -> tuple[Model | None, Model | None]:
    """What the workbench keeps about the near and the far list (a note, an assignment, a hold,
    an action), written by the operator; an export by each district's officer."""
    root = User.objects.get(username="root")
    found: list[Model] = []
    for inventory, officer in ((w.near, w.officer), (w.far, User.objects.get(username="officer-3104"))):
        if model is ListNote:
            found.append(ListNote.objects.create(inventory=inventory, author=root, text="checked"))
        elif model is ListAssignment:
            assignment = ListAssignment.objects.create(inventory=inventory, assignee=root, assigned_by=root, reason="x")
            found.append(assignment)
        elif model is ListHold:
            found.append(ListHold.objects.create(inventory=inventory, held_by=root, reason="a closer look"))
        elif model is WorkbenchAction:
            action = WorkbenchAction.objects.create(actor="admin:root", user=root, action="note", reason="checked")
            action.lists.set([inventory])
            found.append(action)
        else:
            found.append(
                ListExport.objects.create(actor=f"admin:{officer}", user=officer, page="x", row_count=0, format="csv")
            )
    return found[0], found[1]


ROWS: dict[type[Model], Callable[[World], tuple[Model | None, Model | None]]] = {
    # Only superusers may see them; nothing a regulator may open.
    User: lambda _world: (None, User.objects.get(username="root")),
    Group: lambda _world: (None, Group.objects.first()),
    AuditEntry: _audit,
    Park: lambda w: (w.park, w.far_park),
    Enterprise: lambda w: (w.near_agent, w.far_agent),
    Appointment: lambda w: (
        Appointment.objects.get(agent=w.near_agent),
        Appointment.objects.get(agent=w.far_agent),
    ),
    ApiKey: _by_enterprise(ApiKey),
    RegulatorScope: lambda w: (
        RegulatorScope.objects.get(user=w.analyst),
        RegulatorScope.objects.get(customs_district="3104"),
    ),
    Partner: lambda w: (w.partner, None),
    EnterpriseCertificate: _by_enterprise(EnterpriseCertificate),
    EnterpriseSigningKey: _by_enterprise(EnterpriseSigningKey),
    WebhookEndpoint: _by_enterprise(WebhookEndpoint),
    Event: _by_enterprise(Event),
    OutboxMessage: lambda w: (
        OutboxMessage.objects.filter(webhook_endpoint__enterprise=w.near_agent).first(),
        OutboxMessage.objects.filter(webhook_endpoint__enterprise=w.far_agent).first(),
    ),
    Inventory: lambda w: (w.near, w.far),
    Order: _parcel(Order, "ebp_code", "order_no"),
    Payment: _parcel(Payment, "ebp_code", "order_no"),
    Waybill: _parcel(Waybill, "logistics_code", "logistics_no"),
    InventoryCancellation: _by_list(InventoryCancellation),
    InventoryReturn: _by_list(InventoryReturn),
    # A carrier's delivery notice goes with its waybill (a list in scope names it).
    WaybillDeliveryNotice: _parcel(WaybillDeliveryNotice, "logistics_code", "logistics_no"),
    # A site operator's arrival manifest: by its customs district or the operator's park.
    ArrivalManifest: lambda w: (
        ArrivalManifest.objects.get(operator=w.near_agent),
        ArrivalManifest.objects.get(operator=w.far_agent),
    ),
    TaxEstimate: _by_list(TaxEstimate),
    # Export summaries: by customs district or the consignor's or agent's park.
    ExportSummary: lambda w: (
        ExportSummary.objects.get(agent_code=w.near_agent.code),
        ExportSummary.objects.get(agent_code=w.far_agent.code),
    ),
    # Export documents: an export list by its district or its agent's, e-commerce enterprise's
    # park; the other documents through the list, or their own district and party.
    ExportList: _export(ExportList, "cop_no", "EXCOP"),
    ExportOrder: _export(ExportOrder, "order_no", "EXA"),
    ExportPaymentReceipt: _export(ExportPaymentReceipt, "order_no", "EXA"),
    ExportWaybill: _export(ExportWaybill, "logistics_no", "EXWB"),
    ExportArrival: _export(ExportArrival, "cop_no", "ARR"),
    ExportDeparture: _export(ExportDeparture, "cop_no", "DEP"),
    ExportMasterBill: _export(ExportMasterBill, "cop_no", "MB"),
    ExportListCancellation: _export(ExportListCancellation, "cop_no", "CAN"),
    ExportReturn: _export(ExportReturn, "cop_no", "RET"),
    BuyerYearQuota: lambda w: (
        BuyerYearQuota.objects.get(reservations__inventory=w.near),
        BuyerYearQuota.objects.get(reservations__inventory=w.far),
    ),
    PositiveListEntry: _nationwide(PositiveListEntry),
    TaxRate: _nationwide(TaxRate),
    CountryCode: _nationwide(CountryCode),
    UnitCode: _nationwide(UnitCode),
    # The systems' reading positions in the events: the operators' alone.
    SubscriptionCursor: lambda _world: (None, SubscriptionCursor.objects.first()),
    # Credit's rows go with their enterprise (credit/scope.py); its tests hold the rows.
    **{
        model: _by_enterprise(model)
        for model in (CreditProfile, CreditEvent, CreditGradeOverride, CreditReportRead, CustomsClassDecision)
    },
    CreditConsent: lambda w: (
        CreditConsent.objects.filter(grantor=w.near_agent).first(),
        CreditConsent.objects.filter(grantor=w.far_agent).first(),
    ),
    CustomsClass: _nationwide(CustomsClass),
    # Finance's rows go with the list's district and park, the guarantor's park (finance/scope.py).
    **{
        model: functools.partial(_finance_rows, model=model)
        for model in (
            GuaranteeAccount,
            GuaranteeMovement,
            GuaranteeReservation,
            GuaranteeShortfall,
            TaxBill,
            TaxBillItem,
            TaxBillStatusChange,
        )
    },
    GuaranteeCoverage: _nationwide(GuaranteeCoverage),
    # Finance: the rates are nationwide; a settlement report goes with its payment company (its
    # tests, finance/tests/test_admin.py, hold the rows).
    ExchangeRate: _nationwide(ExchangeRate),
    SettlementReport: lambda w: (
        SettlementReport.objects.filter(uploader__park=w.park).first(),
        SettlementReport.objects.filter(uploader__park=w.far_park).first(),
    ),
    # A financing application, and the reads of its record, go with the applicant's park.
    FinancingApplication: lambda w: (
        FinancingApplication.objects.filter(applicant=w.near_agent).first(),
        FinancingApplication.objects.filter(applicant=w.far_agent).first(),
    ),
    FinancingRecordRead: lambda w: (
        FinancingRecordRead.objects.filter(application__applicant=w.near_agent).first(),
        FinancingRecordRead.objects.filter(application__applicant=w.far_agent).first(),
    ),
    # An export list's proceeds go with the park of its seller or declaring agent.
    ExportProceeds: lambda w: (
        ExportProceeds.objects.filter(ebc_code=w.near_agent.code).first(),
        ExportProceeds.objects.filter(ebc_code=w.far_agent.code).first(),
    ),
    # Logistics' rows go with the carrier's park and the list's district (logistics/scope.py).
    **{model: functools.partial(_logistics_rows, model=model) for model in (WaybillTrack, TrackingEvent, DelayNorm)},
    # Logistics' bonded stock goes with the park of the book's operator (logistics/scope.py).
    **{
        model: functools.partial(_stock_rows, model=model)
        for model in (StockAccountBook, StockItem, StockMovement, StockReceipt, StockReservation, StockShortfall)
    },
    # The risk review queue shows lists in review (none here; declarations/tests/test_risk_review.py).
    InventoryInReview: lambda _world: (None, None),
    # The work queues show lists in their states (none here: declarations/tests/test_workbench_queues.py).
    **{
        model: lambda _world: (None, None)
        for model in (ListWaitingForDocuments, ListMatchFailure, ListSendFailure, ListTaxBillDifference)
    },
    # The workbench's records go with their list; an export with the regulators of its maker's districts.
    **{
        model: functools.partial(_workbench_rows, model=model)
        for model in (ListNote, ListAssignment, ListHold, WorkbenchAction, ListExport)
    },
    # Risk's findings go with the list's district or park (risk/scope.py); its tables are nationwide.
    Assessment: lambda w: _risk_rows(w, Assessment),
    RiskHit: lambda w: _risk_rows(w, RiskHit),
    **{
        model: _nationwide(model) for model in (RiskRule, RiskRuleVersion, WatchListEntry, GoodsRestriction, WeightNorm)
    },
}


@pytest.fixture
def world(send: Send, park: Park, parties: dict[str, Persona]) -> World:
    User.objects.create_superuser(username="root", email="root@example.com")
    officer = regulator("officer-2901", CUSTOMS_OFFICER, customs_district="2901")
    analyst = regulator("analyst", COMMERCE_BUREAU, park=park)
    regulator("officer-3104", CUSTOMS_OFFICER, customs_district="3104")
    partner, _secret = services.partner_register(
        code="PAY-NATIONWIDE", name="Demo Pay", kind=PartnerKind.PAYMENT, actor=TEST_ACTOR
    )

    far_park = ParkFactory.create(customs_district="3104")
    far = far_parties(far_park)
    for enterprise, name in ((parties["agent"].enterprise, "near agent"), (far["agent"].enterprise, "far agent")):
        hang_things_on(enterprise, name)

    for kind in ("order", "payment", "waybill", "inventory"):
        assert send(kind).status_code == 201
    near = Inventory.objects.get(cop_no=examples.INVENTORY["cop_no"])
    far_list = send_as(far, far_documents())
    for inventory, agent in ((near, parties["agent"].enterprise), (far_list, far["agent"].enterprise)):
        InventoryCancellation.objects.create(inventory=inventory, requested_by=agent, reason="the buyer cancelled")
        InventoryReturn.objects.create(
            inventory=inventory,
            requested_by=agent,
            guid=str(uuid.uuid4()).upper(),
            reason="the buyer sent it back",
            dutiable_value=Decimal(0),
        )
        waybill = Waybill.objects.get(logistics_code=inventory.logistics_code, logistics_no=inventory.logistics_no)
        WaybillDeliveryNotice.objects.create(
            waybill=waybill,
            logistics_code=waybill.logistics_code,
            logistics_no=waybill.logistics_no,
            delivered_at=inventory.created_at,
            place="杭州市西湖区文三路 1 号",
            guid=str(uuid.uuid4()).upper(),
        )
        ArrivalManifest.objects.create(
            operator=agent,
            guid=str(uuid.uuid4()).upper(),
            cop_no=f"RKD{inventory.pk}",
            customs_code=inventory.customs_code,
            operator_code=agent.code,
            operator_name=agent.name,
            ie_flag="I",
            traf_mode="5",
            traf_no="CA1234",
            voyage_no="20261125",
            bill_no="784-12345675",
            logistics_code=waybill.logistics_code,
            logistics_name=waybill.logistics_name,
        )
    bank = EnterpriseFactory.create(roles=[Role.FINANCE], park=far_park)
    for applicant in (parties["agent"].enterprise, far["agent"].enterprise):
        application = FinancingApplication.objects.create(
            applicant=applicant, institution=bank, amount=Decimal("1000.00"), term_months=6, purpose="stock"
        )
        FinancingRecordRead.objects.create(application=application, institution=bank, consent_id=1)
    for number, seller in enumerate((parties["agent"].enterprise, far["agent"].enterprise), start=1):
        ExportProceeds.objects.create(
            export_list_id=number,
            agent_code=seller.code,
            cop_no=f"EXP{number}",
            ebc_code=seller.code,
            released_on=datetime.date(2026, 11, 25),
            currency="502",
            amount=Decimal("62.5"),
            source_event_id=number,
        )

    # Export summary declarations: by customs district, or the consignor's or agent's park.
    for inventory, agent in ((near, parties["agent"].enterprise), (far_list, far["agent"].enterprise)):
        ExportSummary.objects.create(
            enterprise=agent,
            period_start=datetime.date(2026, 11, 1),
            period_end=datetime.date(2026, 11, 30),
            guid=str(uuid.uuid4()).upper(),
            cop_no=f"SUM{inventory.pk}",
            customs_code=inventory.customs_code,
            ebc_code=agent.code,
            ebc_name=agent.name,
            agent_code=agent.code,
            agent_name=agent.name,
            decl_agent_code=agent.code,
            decl_agent_name=agent.name,
            summary_flag="1",
            item_name_flag="1",
            list_count=1,
            msg_count=1,
            gross_weight=Decimal(1),
            net_weight=Decimal(1),
        )

    # One export parcel in each world (district 2901 and park ``park``; district 3104 and ``far_park``).
    for who, customs_code, suffix in ((parties, "2901", NEAR_EXPORT), (far, "3104", FAR_EXPORT)):
        export_parcel(
            **{role: who[role].enterprise for role in ("ebp", "ebc", "pay", "logistics", "agent")},
            operator=who["agent"].enterprise,
            customs_code=customs_code,
            suffix=suffix,
        )

    return World(
        near=near,
        far=far_list,
        near_agent=parties["agent"].enterprise,
        far_agent=far["agent"].enterprise,
        park=park,
        far_park=far_park,
        partner=partner,
        officer=officer,
        analyst=analyst,
    )


def _admin_url(model: type[Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _may_view(user: User, model: type[Model]) -> bool:
    opts = model._meta
    return any(user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}") for action in ("view", "change"))


# What each persona's group may open (single_window/roles.py, declarations/roles.py): the officer
# the documents; the analyst the documents (to read) and what was decided about them; both the
# registry and the audit log.
SEEN = {
    "officer": {
        "declarations.Inventory",
        "declarations.Order",
        "declarations.ExportList",
        "declarations.ExportOrder",
        "single_window.Enterprise",
        "core.AuditEntry",
    },
    "analyst": {
        "declarations.Inventory",
        "declarations.ExportList",
        "declarations.ExportOrder",
        "declarations.Order",
        "declarations.Payment",
        "declarations.Waybill",
        "declarations.TaxEstimate",
        "single_window.Appointment",
        "single_window.Enterprise",
        "core.AuditEntry",
    },
}


@pytest.mark.parametrize("persona", ["officer", "analyst"])
def test_every_admin_page_shows_a_regulator_its_scope_and_nothing_else(
    client: Client, world: World, persona: str
) -> None:
    user: User = getattr(world, persona)
    client.force_login(user)
    seen: list[str] = []

    for model in admin.site._registry:
        inside, outside = world.rows(model)
        changelist = client.get(_admin_url(model, "changelist"))
        if not _may_view(user, model):
            assert changelist.status_code == 403, model
            for row in (inside, outside):
                if row is not None:
                    assert client.get(_admin_url(model, "change", row.pk)).status_code == 403, model
            continue
        assert changelist.status_code == 200, (model, changelist.status_code)
        listed = set(changelist.context["cl"].queryset.values_list("pk", flat=True))
        if outside is not None:
            assert outside.pk not in listed, f"{model._meta.label}: {outside} is out of {persona}'s scope"
            assert client.get(_admin_url(model, "change", outside.pk)).status_code in {302, 403, 404}, model
        if inside is not None:
            assert inside.pk in listed, f"{model._meta.label}: {inside} is in {persona}'s scope"
            page = client.get(_admin_url(model, "change", inside.pk))
            assert page.status_code == 200, (model, page.status_code)
        seen.append(model._meta.label)

    # The walk saw pages of each kind the persona may open, not only refusals.
    assert SEEN[persona] <= set(seen)


def test_the_second_world_is_whole(world: World) -> None:
    """What the walk relies on: each model it checks has a row on both sides."""
    for model in (Order, Payment, Waybill, TaxEstimate, BuyerYearQuota, Event, OutboxMessage, EnterpriseSigningKey):
        inside, outside = world.rows(model)
        assert inside is not None, model
        assert outside is not None, model
    assert world.far.customs_code == "3104"


# --- The rule for lists, case by case -----------------------------------------------------------


def make_list(sender: Enterprise, **changes: Any) -> Inventory:
    """A list stored directly (no matching): ``changes`` to the example's head."""
    serializer = InventoryInput(data=examples.document("inventory", **changes))
    assert serializer.is_valid(), serializer.errors
    values = dict(serializer.validated_data)
    values.pop("items")
    encrypted, digest = protect_id_number(values.pop("buyer_id_number"))
    return Inventory.objects.create(sender=sender, buyer_id_number_encrypted=encrypted, buyer_id_hash=digest, **values)


def seen_by(user: User, model: type[Model] = Inventory) -> set[int]:
    return set(scoped(model._default_manager.all(), Scope.of(user)).values_list("pk", flat=True))


@pytest.fixture
def far_park() -> Park:
    return ParkFactory.create(customs_district="3104")


@pytest.fixture
def far_agent(far_park: Park) -> Enterprise:
    enterprise: Enterprise = EnterpriseFactory.create(customs_code=FAR["agent"], roles=[Role.AGENT], park=far_park)
    return enterprise


@pytest.fixture
def officer(db: None) -> User:
    return regulator("officer-2901", CUSTOMS_OFFICER, customs_district="2901")


@pytest.fixture
def analyst(park: Park) -> User:
    return regulator("analyst", COMMERCE_BUREAU, park=park)


def _list(sender: Enterprise, n: int, **changes: Any) -> Inventory:
    return make_list(
        sender, cop_no=f"COP-SCOPE-{n}", order_no=f"SW-SCOPE-{n}", guid=f"7C3D4E5F-0000-4000-8000-{n:012d}", **changes
    )


def test_a_district_sees_the_lists_declared_or_entering_there_whoever_the_agent(
    client: Client, parties: dict[str, Persona], far_agent: Enterprise, officer: User
) -> None:
    near_agent = parties["agent"].enterprise
    declared_here = _list(far_agent, 1, customs_code="2901", port_code="3104", agent_code=far_agent.customs_code)
    entering_here = _list(far_agent, 2, customs_code="3104", port_code="2901", agent_code=far_agent.customs_code)
    # The agent's park is in district 2901, but customs and port are 3104's: not the officer's.
    elsewhere = _list(near_agent, 3, customs_code="3104", port_code="3104")
    client.force_login(officer)

    listed = {row.pk for row in client.get(LISTS).context["cl"].queryset}

    assert listed == seen_by(officer) == {declared_here.pk, entering_here.pk}
    assert client.get(f"{LISTS}{elsewhere.pk}/change/").status_code == 302
    assert client.get(f"{LISTS}{declared_here.pk}/change/").status_code == 200


def test_a_park_sees_the_lists_of_its_warehouse_or_without_one_of_its_agents(
    parties: dict[str, Persona], park: Park, far_agent: Enterprise, analyst: User
) -> None:
    near_agent = parties["agent"].enterprise
    warehouse = EnterpriseFactory.create(roles=[Role.AREA], park=park)
    far_warehouse = EnterpriseFactory.create(roles=[Role.AREA], park=far_agent.park)
    far = {"customs_code": "3104", "port_code": "3104"}
    by_our_agent = _list(near_agent, 1, **far)
    in_our_warehouse = _list(far_agent, 2, agent_code=far_agent.customs_code, area_code=warehouse.customs_code, **far)
    # Named by its USCC, as documents may name an enterprise.
    by_uscc = _list(far_agent, 3, agent_code=far_agent.customs_code, area_code=warehouse.uscc, **far)
    # Our agent, but the goods are in another park's warehouse: that park's.
    in_their_warehouse = _list(near_agent, 4, area_code=far_warehouse.customs_code, **far)
    _list(far_agent, 5, agent_code=far_agent.customs_code, **far)

    assert seen_by(analyst) == {by_our_agent.pk, in_our_warehouse.pk, by_uscc.pk}
    assert in_their_warehouse.pk not in seen_by(analyst)


def test_documents_are_seen_through_a_list_that_names_them(world: World) -> None:
    near_order = Order.objects.get(order_no=world.near.order_no)
    far_waybill = Waybill.objects.get(logistics_no=world.far.logistics_no)

    assert seen_by(world.officer, Order) == {near_order.pk}
    assert seen_by(world.officer, Payment) == set(
        Payment.objects.filter(order_no=world.near.order_no).values_list("pk", flat=True)
    )
    assert far_waybill.pk not in seen_by(world.officer, Waybill)
    # A regulator of district 3104 sees the other parcel and nothing of the first.
    far_officer = User.objects.get(username="officer-3104")
    assert seen_by(far_officer, Order) == {Order.objects.get(order_no=world.far.order_no).pk}
    assert seen_by(far_officer) == {world.far.pk}


def test_a_superuser_sees_both_worlds(client: Client, world: World) -> None:
    client.force_login(User.objects.get(username="root"))

    for model in (Inventory, Order, AuditEntry, Enterprise):
        inside, outside = world.rows(model)
        listed = set(client.get(_admin_url(model, "changelist")).context["cl"].queryset.values_list("pk", flat=True))
        assert {inside.pk, outside.pk} <= listed, model  # type: ignore[union-attr]


def test_the_audit_log_shows_entries_about_rows_in_scope_and_by_actors_in_scope(world: World) -> None:
    near_entries = AuditEntry.objects.filter(actor_enterprise_id=world.near_agent.pk)
    about_far_list = AuditEntry.objects.filter(object_type="declarations.inventory", object_id=str(world.far.pk))
    mine = AuditEntry.objects.create(
        actor="admin:officer-2901", actor_user=world.officer, action="update", object_type="x.y", object_id="1"
    )

    seen = seen_by(world.officer, AuditEntry)

    assert mine.pk in seen
    assert set(near_entries.values_list("pk", flat=True)) <= seen
    assert not seen & set(about_far_list.values_list("pk", flat=True))
    assert not seen & set(
        AuditEntry.objects.filter(actor_enterprise_id=world.far_agent.pk).values_list("pk", flat=True)
    )


# --- Forms: only rows in scope on offer, and the saved row checked --------------------------------


def _key_form(enterprise: Enterprise | None, **fields: Any) -> dict[str, Any]:
    return {
        "enterprise": enterprise.pk if enterprise else "",
        "user": "",
        "name": "from the console",
        "_save": "Save",
        **fields,
    }


def test_an_officer_is_offered_only_enterprises_in_scope_for_a_key(
    client: Client, parties: dict[str, Persona], far_agent: Enterprise, officer: User
) -> None:
    client.force_login(officer)

    form = client.get(f"{KEYS}add/").context["adminform"].form

    offered = set(form.fields["enterprise"].queryset.values_list("pk", flat=True))
    assert parties["agent"].enterprise.pk in offered
    assert far_agent.pk not in offered
    assert set(form.fields["user"].queryset.values_list("pk", flat=True)) == {officer.pk}


def test_an_officer_cannot_issue_a_key_to_an_enterprise_outside_its_scope(
    client: Client, far_agent: Enterprise, officer: User
) -> None:
    client.force_login(officer)
    audit_count = AuditEntry.objects.count()

    response = client.post(f"{KEYS}add/", _key_form(far_agent))

    assert response.status_code == 200
    assert "enterprise" in response.context["adminform"].form.errors
    assert not ApiKey.objects.filter(enterprise=far_agent).exists()
    assert AuditEntry.objects.count() == audit_count


def test_an_officer_cannot_issue_a_key_to_another_user(client: Client, officer: User) -> None:
    root = User.objects.create_superuser(username="root", email="root@example.com")
    client.force_login(officer)

    response = client.post(f"{KEYS}add/", _key_form(None, user=root.pk))

    assert response.status_code == 200
    assert "user" in response.context["adminform"].form.errors
    assert not ApiKey.objects.filter(user=root).exists()


def test_a_key_rate_above_the_configured_maximum_is_refused(
    client: Client, parties: dict[str, Persona], officer: User, settings: Any
) -> None:
    settings.API_KEY_THROTTLE_RATE_MAX = "100/min"
    agent = parties["agent"].enterprise
    client.force_login(officer)
    keys = ApiKey.objects.filter(enterprise=agent)
    count = keys.count()

    too_fast = client.post(f"{KEYS}add/", _key_form(agent, throttle_rate="2/s"))
    at_most = client.post(f"{KEYS}add/", _key_form(agent, throttle_rate="6000/hour"))

    assert too_fast.status_code == 200
    assert "throttle_rate" in too_fast.context["adminform"].form.errors
    assert at_most.status_code == 302
    assert list(keys.exclude(throttle_rate="").values_list("throttle_rate", flat=True)) == ["6000/hour"]
    assert keys.count() == count + 1


def test_raising_a_key_rate_above_the_maximum_is_refused(
    client: Client, parties: dict[str, Persona], officer: User, settings: Any
) -> None:
    settings.API_KEY_THROTTLE_RATE_MAX = "100/min"
    api_key = parties["agent"].api_key
    client.force_login(officer)

    response = client.post(f"{KEYS}{api_key.pk}/change/", {"name": api_key.name, "throttle_rate": "1000/min"})

    assert response.status_code == 200
    api_key.refresh_from_db()
    assert api_key.throttle_rate == ""


def test_an_analyst_cannot_appoint_outside_its_park(
    client: Client, parties: dict[str, Persona], far_agent: Enterprise, analyst: User
) -> None:
    client.force_login(analyst)
    today = selectors.today()
    form = {
        "principal": parties["ebp"].enterprise.pk,
        "agent": far_agent.pk,
        "valid_from": today.isoformat(),
        "valid_to": (today + datetime.timedelta(days=30)).isoformat(),
        "_save": "Save",
    }

    response = client.post(f"{APPOINTMENTS}add/", form)

    assert response.status_code == 200
    assert "agent" in response.context["adminform"].form.errors
    assert not Appointment.objects.filter(agent=far_agent).exists()


def _enterprise_form(enterprise: Enterprise, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "customs_code": enterprise.customs_code,
        "uscc": enterprise.uscc or "",
        "name": enterprise.name,
        "status": enterprise.status,
        "park": enterprise.park_id or "",
        "contact_name": enterprise.contact_name,
        "contact_phone": enterprise.contact_phone,
        "contact_email": enterprise.contact_email,
        "role_set-TOTAL_FORMS": "0",
        "role_set-INITIAL_FORMS": "0",
        "role_set-MIN_NUM_FORMS": "0",
        "role_set-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    data.update(changes)
    return data


def test_an_analyst_cannot_move_an_enterprise_to_a_park_outside_its_scope(
    client: Client, parties: dict[str, Persona], park: Park, far_park: Park, analyst: User
) -> None:
    enterprise = parties["ebc"].enterprise
    client.force_login(analyst)
    audit_count = AuditEntry.objects.count()

    moved = client.post(f"{ENTERPRISES}{enterprise.pk}/change/", _enterprise_form(enterprise, park=far_park.pk))
    parkless = client.post(f"{ENTERPRISES}{enterprise.pk}/change/", _enterprise_form(enterprise, park=""))

    assert moved.status_code == 200
    assert "park" in moved.context["adminform"].form.errors
    # Without a park the enterprise would be nobody's: refused when saved, and rolled back.
    assert parkless.status_code == 403
    enterprise.refresh_from_db()
    assert enterprise.park == park
    assert AuditEntry.objects.count() == audit_count


def test_an_analyst_cannot_add_an_enterprise_outside_its_scope(
    client: Client, far_park: Park, analyst: User, parties: dict[str, Persona]
) -> None:
    client.force_login(analyst)
    template = parties["ebc"].enterprise
    new = _enterprise_form(template, customs_code="3301960888", uscc="", name="Far Away Ltd", park=far_park.pk)

    response = client.post(f"{ENTERPRISES}add/", new)

    assert response.status_code == 200
    assert not Enterprise.objects.filter(customs_code="3301960888").exists()


# --- Every page takes the rule ------------------------------------------------------------------


def test_every_admin_of_the_product_applies_the_scope_and_every_model_has_a_rule() -> None:
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label == "auth":
            continue  # Django's users and groups: no regulators' group may open them
        assert isinstance(model_admin, ScopedAdminMixin), model
        assert is_registered(model), model
        for field in model._meta.fields:
            if field.is_relation and field.related_model is not None:
                assert is_registered(field.related_model), (model, field.name)


def test_an_analyst_cannot_add_a_park_outside_its_scope(client: Client, analyst: User) -> None:
    client.force_login(analyst)
    form = {"code": "PARK-NEW", "name": "New Park", "city": "Ningbo", "customs_district": "3104", "kind": "bonded_zone"}
    audit_count = AuditEntry.objects.count()

    response = client.post("/admin/single_window/park/add/", {**form, "_save": "Save"})

    # Saved, found outside the analyst's park, and rolled back with its audit entry.
    assert response.status_code == 403
    assert not Park.objects.filter(code="PARK-NEW").exists()
    assert AuditEntry.objects.count() == audit_count


# --- Documents through their lists, wherever their senders sit ----------------------------------


def test_an_officer_sees_the_orders_and_payments_of_its_lists_whatever_park_their_senders_are_in(
    client: Client, send: Send, parties: dict[str, Persona], officer: User
) -> None:
    """The platform and the payment company sit in a park of district 2902; the list is declared
    in 2901. The officer of 2901 sees the list, its order and its payment; a list declared in
    2902 (and its documents) it does not."""
    airport = ParkFactory.create(customs_district="2902")
    for name in ("ebp", "pay"):
        enterprise = parties[name].enterprise
        enterprise.park = airport
        enterprise.save(update_fields=["park"])
    for kind in ("order", "payment", "waybill", "inventory"):
        assert send(kind).status_code == 201
    ours = Inventory.objects.get(cop_no=examples.INVENTORY["cop_no"])
    theirs = send_as(far_parties(airport), far_documents(district="2902", suffix="8"))
    officer_2902 = regulator("officer-2902", CUSTOMS_OFFICER, customs_district="2902")
    client.force_login(officer)

    orders = {row.pk for row in client.get("/admin/declarations/order/").context["cl"].queryset}
    payments = {row.pk for row in client.get("/admin/declarations/payment/").context["cl"].queryset}
    lists = {row.pk for row in client.get(LISTS).context["cl"].queryset}

    assert lists == {ours.pk}
    assert orders == {Order.objects.get(order_no=ours.order_no, ebp_code=ours.ebp_code).pk}
    assert payments == {Payment.objects.get(order_no=ours.order_no, ebp_code=ours.ebp_code).pk}
    assert theirs.pk not in seen_by(officer)
    assert seen_by(officer_2902) == {theirs.pk}
    assert seen_by(officer_2902, Order) == {Order.objects.get(order_no=theirs.order_no).pk}
    assert seen_by(officer_2902, Payment) == {Payment.objects.get(order_no=theirs.order_no).pk}


def test_a_list_naming_another_enterprises_order_shows_the_officer_no_order(
    send: Send, parties: dict[str, Persona], far_park: Park, officer: User
) -> None:
    """Matching pairs a list with the order of its own e-commerce enterprise only; so does the
    scope: a list of district 2901 naming the number of another enterprise's order (declared in
    3104) shows the officer of 2901 nothing of that order."""
    theirs = send_as(far_parties(far_park), far_documents())
    their_order = Order.objects.get(order_no=theirs.order_no)
    make_list(
        parties["agent"].enterprise,
        cop_no="COP-SCOPE-SQUAT",
        guid="7C3D4E5F-0000-4000-8000-000000000999",
        ebp_code=their_order.ebp_code,
        order_no=their_order.order_no,
        ebc_code=parties["ebc"].enterprise.customs_code,
    )

    assert their_order.pk not in seen_by(officer, Order)
