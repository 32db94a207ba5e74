"""What the workbench's tests share: regulators of each group, and an action taken through the
admin as a regulator takes it (the action menu, then the page asking for the reason)."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from declarations.intake import examples
from declarations.intake.identity import protect_id_number
from declarations.intake.serializers import InventoryInput
from declarations.models import Inventory, InventoryStatus, WorkbenchAction
from single_window.models import Enterprise, RegulatorScope

LISTS = "/admin/declarations/inventory/"


def regulator(username: str, group: str, *, unmask: bool = False, **scope: Any) -> User:
    """A staff user of ``group`` holding ``scope`` (customs_district=..., or park=...)."""
    user = User.objects.create_user(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    if unmask:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="declarations", codename="view_personal_data")
        )
    RegulatorScope.objects.create(user=user, **scope)
    return User.objects.get(pk=user.pk)  # permissions are cached per instance


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def choose(client: Client, page: str, kind: str, lists: list[Inventory]) -> Any:
    """Pick the action ``kind`` for ``lists`` in the page's action menu: the page asking why."""
    return client.post(
        page,
        {"action": f"workbench_{kind}", "index": "0", ACTION_CHECKBOX_NAME: [str(i.pk) for i in lists]},
    )


def act(client: Client, page: str, kind: str, lists: list[Inventory], **fields: Any) -> Any:
    """Take the action ``kind`` on ``lists`` from the list page ``page``, giving ``fields``
    (reason, assignee) on the page that asks for them."""
    data = {
        "action": f"workbench_{kind}",
        "index": "0",
        "select_across": "0",
        ACTION_CHECKBOX_NAME: [str(i.pk) for i in lists],
        "apply": "1",
        **fields,
    }
    return client.post(page, data)


def make_list(sender: Enterprise, **changes: Any) -> Inventory:
    """A list stored directly (no matching, no history): ``changes`` to the example's head."""
    serializer = InventoryInput(data=examples.document("inventory", **changes))
    assert serializer.is_valid(), serializer.errors
    values = dict(serializer.validated_data)
    values.pop("items")
    encrypted, digest = protect_id_number(values.pop("buyer_id_number"))
    return Inventory.objects.create(sender=sender, buyer_id_number_encrypted=encrypted, buyer_id_hash=digest, **values)


def status(inventory: Inventory) -> str:
    return Inventory.objects.values_list("status", flat=True).get(pk=inventory.pk)


def actions_on(inventory: Inventory) -> list[WorkbenchAction]:
    return list(WorkbenchAction.objects.filter(lists=inventory).order_by("id"))


S = InventoryStatus
