"""The "personal data reviewers" group, holding ``declarations.view_personal_data``: the one
permission that shows buyers' names, phones and addresses unmasked in the admin (every showing
is audited). Operators put a regulator in the group; no regulators' group has it otherwise."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "personal data reviewers"
PERMISSION = "view_personal_data"


def create_group(apps: Any, schema_editor: Any) -> None:
    # On a new database the permissions are made after the migrations (post_migrate): make them now.
    app_config = apps.get_app_config("declarations")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(Permission.objects.get(content_type__app_label="declarations", codename=PERMISSION))


def remove_group(apps: Any, schema_editor: Any) -> None:
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("declarations", "0023_readable_labels_and_history_note_codes"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
