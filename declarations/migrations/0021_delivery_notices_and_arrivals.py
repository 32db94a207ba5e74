"""Carriers' delivery notices (CEB513, answered by CEB514) and site operators' arrival manifests
(入库明细单, CEB711, answered by CEB712)."""

from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("declarations", "0020_tax_bills_moved_to_finance"),
        ("single_window", "0008_subscription_cursor"),
    ]

    operations = [
        migrations.CreateModel(
            name="ArrivalManifest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                ("guid", models.CharField(max_length=36, unique=True, verbose_name="guid")),
                ("cop_no", models.CharField(max_length=20, verbose_name="cop no")),
                ("customs_code", models.CharField(max_length=4, verbose_name="customs code")),
                ("operator_code", models.CharField(max_length=18, verbose_name="operator code")),
                ("operator_name", models.CharField(max_length=100, verbose_name="operator name")),
                ("ie_flag", models.CharField(max_length=1, verbose_name="ie flag")),
                ("traf_mode", models.CharField(max_length=1, verbose_name="traf mode")),
                ("traf_no", models.CharField(max_length=100, verbose_name="traf no")),
                ("voyage_no", models.CharField(max_length=32, verbose_name="voyage no")),
                ("bill_no", models.CharField(max_length=37, verbose_name="bill no")),
                ("logistics_code", models.CharField(max_length=18, verbose_name="logistics code")),
                ("logistics_name", models.CharField(max_length=100, verbose_name="logistics name")),
                ("unload_location", models.CharField(blank=True, max_length=100, verbose_name="unload location")),
                ("note", models.CharField(blank=True, max_length=1000, verbose_name="note")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("recorded", "recorded"),
                            ("sent", "sent to customs"),
                            ("answered", "answered by customs"),
                            ("refused", "refused by customs"),
                            ("send_failed", "sending failed"),
                        ],
                        default="recorded",
                        max_length=16,
                        verbose_name="status",
                    ),
                ),
                ("send_note", models.CharField(blank=True, max_length=500, verbose_name="sending note")),
                ("pre_no", models.CharField(blank=True, max_length=18, verbose_name="pre no")),
                ("rkd_no", models.CharField(blank=True, max_length=18, verbose_name="rkd no")),
                ("return_status", models.CharField(blank=True, max_length=10, verbose_name="customs return status")),
                ("return_info", models.CharField(blank=True, max_length=1000, verbose_name="customs return info")),
                ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent at")),
                ("answered_at", models.DateTimeField(blank=True, null=True, verbose_name="answered at")),
                (
                    "message",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="single_window.outboxmessage",
                        verbose_name="message",
                    ),
                ),
                (
                    "operator",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="single_window.enterprise",
                        verbose_name="site operator",
                    ),
                ),
            ],
            options={
                "verbose_name": "arrival manifest",
                "verbose_name_plural": "arrival manifests",
            },
        ),
        migrations.CreateModel(
            name="ArrivalManifestLine",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("gnum", models.PositiveIntegerField(verbose_name="gnum")),
                ("logistics_no", models.CharField(max_length=60, verbose_name="logistics no")),
                ("note", models.CharField(blank=True, max_length=1000, verbose_name="note")),
                (
                    "manifest",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lines",
                        to="declarations.arrivalmanifest",
                    ),
                ),
                (
                    "waybill",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="declarations.waybill",
                        verbose_name="waybill",
                    ),
                ),
            ],
            options={
                "verbose_name": "arrival manifest line",
                "verbose_name_plural": "arrival manifest lines",
                "ordering": ("gnum",),
            },
        ),
        migrations.CreateModel(
            name="WaybillDeliveryNotice",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                ("logistics_code", models.CharField(max_length=18, verbose_name="logistics code")),
                ("logistics_no", models.CharField(max_length=60, verbose_name="logistics no")),
                ("delivered_at", models.DateTimeField(verbose_name="delivered at")),
                ("place", models.CharField(blank=True, max_length=200, verbose_name="place")),
                ("note", models.CharField(blank=True, max_length=1000, verbose_name="note")),
                ("guid", models.CharField(max_length=36, verbose_name="guid")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("recorded", "recorded"),
                            ("sent", "sent to customs"),
                            ("answered", "answered by customs"),
                            ("refused", "refused by customs"),
                            ("send_failed", "sending failed"),
                        ],
                        default="recorded",
                        max_length=16,
                        verbose_name="status",
                    ),
                ),
                ("send_note", models.CharField(blank=True, max_length=500, verbose_name="sending note")),
                ("return_status", models.CharField(blank=True, max_length=10, verbose_name="customs return status")),
                ("return_info", models.CharField(blank=True, max_length=1000, verbose_name="customs return info")),
                ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent at")),
                ("answered_at", models.DateTimeField(blank=True, null=True, verbose_name="answered at")),
                (
                    "message",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="single_window.outboxmessage",
                        verbose_name="message",
                    ),
                ),
                (
                    "waybill",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="delivery_notices",
                        to="declarations.waybill",
                        verbose_name="waybill",
                    ),
                ),
            ],
            options={
                "verbose_name": "delivery notice",
                "verbose_name_plural": "delivery notices",
            },
        ),
        migrations.AddIndex(
            model_name="arrivalmanifest",
            index=models.Index(fields=["operator_code", "cop_no"], name="arrival_manifest_answer_idx"),
        ),
        migrations.AddConstraint(
            model_name="arrivalmanifest",
            constraint=models.UniqueConstraint(fields=("operator", "cop_no"), name="arrival_manifest_business_key"),
        ),
        migrations.AddConstraint(
            model_name="arrivalmanifest",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["recorded", "sent", "answered", "refused", "send_failed"])),
                name="arrival_manifest_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="arrivalmanifest",
            constraint=models.CheckConstraint(condition=models.Q(("ie_flag", "I")), name="arrival_manifest_import"),
        ),
        migrations.AddConstraint(
            model_name="arrivalmanifestline",
            constraint=models.UniqueConstraint(fields=("manifest", "gnum"), name="arrival_manifest_line_gnum_unique"),
        ),
        migrations.AddConstraint(
            model_name="arrivalmanifestline",
            constraint=models.CheckConstraint(
                condition=models.Q(("gnum__gte", 1)), name="arrival_manifest_line_gnum_positive"
            ),
        ),
        migrations.AddIndex(
            model_name="waybilldeliverynotice",
            index=models.Index(fields=["logistics_code", "logistics_no"], name="delivery_notice_waybill_idx"),
        ),
        migrations.AddConstraint(
            model_name="waybilldeliverynotice",
            constraint=models.UniqueConstraint(fields=("waybill",), name="delivery_notice_one_per_waybill"),
        ),
        migrations.AddConstraint(
            model_name="waybilldeliverynotice",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["recorded", "sent", "answered", "refused", "send_failed"])),
                name="delivery_notice_status_valid",
            ),
        ),
    ]
