from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeclarationsConfig(AppConfig):
    name = "declarations"
    verbose_name = _("Declarations")

    def ready(self) -> None:
        # Imported here, not at the top: models are not ready when the module loads.
        from declarations import event_types, roles, selectors
        from declarations.admin import scope
        from declarations.clearance import declare, verification_answers
        from declarations.customs import arrivals, delivery, gateway, receipts
        from declarations.intake import codes
        from declarations.reference import code_names, tables
        from declarations.workbench import scope as workbench_scope
        from single_window import lookups

        # What this system tells enterprises, the codes it answers with, and what the
        # regulators' groups may do with its models: the hub names none of them.
        event_types.register()
        codes.register()
        roles.register()
        # Which of its rows each regulator sees, on every admin page (the hub's scope register).
        scope.register()
        workbench_scope.register()
        # Customs' receipts and tax bills reach the hub's inbox; this system applies them.
        receipts.register()
        # Declared lists and cancellations leave through the outbox; a list customs never
        # took goes to send_failed.
        gateway.register()
        # The hub's waybill contract (facts about a waybill and its list; a delivery to tell
        # customs, CEB513/514), and site operators' arrival manifests (CEB711/712).
        delivery.register()
        arrivals.register()
        # Payment companies' answers to identity verifications (matching rule 3).
        verification_answers.register()
        # Systems that change their mind about a held list have it judged again.
        declare.register()
        # Every process keeps the reference tables a while; a change empties them everywhere.
        tables.register()
        # The districts' parks shown beside a district code, likewise.
        code_names.register()
        # Finance reconciles payment companies' settlement files against their payments: it
        # reads them through the hub, never importing this app.
        lookups.register_payment_lookup(selectors.payment_facts_of)
        # Export documents (orders to departures): their events, their messages' outcomes with
        # the customs sender, customs' receipts in the inbox.
        from declarations.export import events as export_events
        from declarations.export import gateway as export_gateway
        from declarations.export import receipts as export_receipts

        export_events.register()
        export_gateway.register()
        export_receipts.register()
        # Export summary declarations (CEB701/702/792) and export returns (CEB213-216): their
        # events, their messages' outcomes with the customs sender, customs' answers in the inbox.
        from declarations.export import returns as export_returns
        from declarations.export import returns_scope as export_returns_scope
        from declarations.export import summaries as export_summaries
        from declarations.export import summaries_admin as export_summaries_admin

        export_summaries.register()
        export_returns.register()
        # Which of their rows each regulator sees; the summaries' admin pages (read-only).
        export_summaries_admin.register_scope()
        export_returns_scope.register_scope()
