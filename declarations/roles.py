"""What the regulators' groups may do with declarations' models in the admin."""

from __future__ import annotations

from single_window.roles import AUDITOR, COMMERCE_BUREAU, CUSTOMS_OFFICER, register_regulator_permissions

# The customs reference data: the positive list, tax rates, code tables.
REFERENCE_MODELS = ("positivelistentry", "taxrate", "countrycode", "unitcode")

# The import documents, read-only and masked in the admin; the items are shown inline.
DOCUMENT_MODELS = (
    "order",
    "orderitem",
    "payment",
    "waybill",
    "inventory",
    "inventoryitem",
    "inventorycancellation",
    "inventoryreturn",
    "inventoryreturnitem",
    "waybilldeliverynotice",
    "arrivalmanifest",
    "arrivalmanifestline",
    # Export summary declarations and export returns.
    "exportsummary",
    "exportsummaryline",
    "exportsummarylist",
    "exportsummarymessage",
    "exportreturn",
    "exportreturnitem",
    "exportreturntally",
)

# The export documents (orders to departures, lists with their cancellations and master bills):
# read-only in the admin, as the import documents; their lines are shown inline.
EXPORT_MODELS = (
    "exportorder",
    "exportorderitem",
    "exportpaymentreceipt",
    "exportwaybill",
    "exportarrival",
    "exportarrivalitem",
    "exportdeparture",
    "exportdepartureitem",
    "exportlist",
    "exportlistitem",
    "exportliststatuschange",
    "exportlistcancellation",
    "exportmasterbill",
    "exportmasterbillitem",
)

# What the single window decided about a list: rule results, the declare step's decisions,
# quotas, tax estimates, history.
DECISION_MODELS = (
    "ruleresult",
    "declaredecision",
    "buyeryearquota",
    "quotareservation",
    "taxestimate",
    "taxestimateitem",
    "inventorystatuschange",
)

# The risk review queue: "change" is the right to approve or reject a list in it.
REVIEW_MODELS = ("inventoryinreview",)

# The group that holds ``declarations.view_personal_data`` (created by migration 0024): names,
# phones and addresses unmasked in the admin, every showing audited. Not one of the hub's
# regulators' groups: a regulator is added to it by name, on top of its own group.
PERSONAL_DATA_REVIEWERS = "personal data reviewers"
UNMASK_PERMISSION = "declarations.view_personal_data"

# The workbench (declarations/workbench/): the work queues, and what regulators did on lists.
QUEUE_MODELS = ("listwaitingfordocuments", "listmatchfailure", "listsendfailure", "listtaxbilldifference")
WORKBENCH_MODELS = ("listnote", "listassignment", "listhold", "workbenchaction", "listexport")
# "add" of an action on lists is the right to act on lists (hold, return, assign...).
ACT_MODELS = ("workbenchaction",)


def register() -> None:
    """Called once, from ``DeclarationsConfig.ready``."""
    register_regulator_permissions(
        "declarations",
        {
            CUSTOMS_OFFICER: {
                "view": (
                    *REFERENCE_MODELS,
                    *DOCUMENT_MODELS,
                    *EXPORT_MODELS,
                    *DECISION_MODELS,
                    *REVIEW_MODELS,
                    *QUEUE_MODELS,
                    *WORKBENCH_MODELS,
                ),
                "change": (*REFERENCE_MODELS, *REVIEW_MODELS),
                "add": (*REFERENCE_MODELS, *ACT_MODELS),
            },
            # The commerce bureau reads every document and figure of its area (personal data
            # masked, as for everyone without ``declarations.view_personal_data``) and changes none.
            COMMERCE_BUREAU: {
                "view": (
                    *REFERENCE_MODELS,
                    *DOCUMENT_MODELS,
                    *EXPORT_MODELS,
                    *DECISION_MODELS,
                    *REVIEW_MODELS,
                    *QUEUE_MODELS,
                )
            },
            AUDITOR: {
                "view": (
                    *REFERENCE_MODELS,
                    *DOCUMENT_MODELS,
                    *EXPORT_MODELS,
                    *DECISION_MODELS,
                    *REVIEW_MODELS,
                    *QUEUE_MODELS,
                    *WORKBENCH_MODELS,
                )
            },
        },
    )
