import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("single_window", "0008_subscription_cursor"),
    ]

    operations = [
        migrations.CreateModel(
            name="SettlementReport",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("period_start", models.DateField(verbose_name="period start")),
                ("period_end", models.DateField(help_text="Included.", verbose_name="period end")),
                (
                    "file_format",
                    models.CharField(
                        choices=[("csv", "CSV"), ("json", "JSON")], max_length=8, verbose_name="file format"
                    ),
                ),
                ("file_sha256", models.CharField(max_length=64, verbose_name="file SHA-256")),
                ("file_size", models.PositiveIntegerField(verbose_name="file size (bytes)")),
                ("file_deleted_at", models.DateTimeField(blank=True, null=True, verbose_name="file deleted at")),
                ("row_count", models.PositiveIntegerField(verbose_name="rows in the file")),
                ("payment_count", models.PositiveIntegerField(verbose_name="payments in the period")),
                ("matched_count", models.PositiveIntegerField(verbose_name="rows matched")),
                ("mismatch_count", models.PositiveIntegerField(verbose_name="mismatches")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="reconciled at")),
                (
                    "uploader",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="single_window.enterprise",
                        verbose_name="payment company",
                    ),
                ),
            ],
            options={
                "verbose_name": "settlement report",
                "verbose_name_plural": "settlement reports",
            },
        ),
        migrations.CreateModel(
            name="ExchangeRate",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "currency",
                    models.CharField(
                        choices=[
                            ("110", "110 HKD"),
                            ("116", "116 JPY"),
                            ("121", "121 MOP"),
                            ("132", "132 SGD"),
                            ("133", "133 KRW"),
                            ("300", "300 EUR"),
                            ("303", "303 GBP"),
                            ("331", "331 CHF"),
                            ("501", "501 CAD"),
                            ("502", "502 USD"),
                            ("601", "601 AUD"),
                            ("609", "609 NZD"),
                        ],
                        max_length=3,
                        verbose_name="currency",
                    ),
                ),
                ("rate_date", models.DateField(verbose_name="rate date")),
                (
                    "rate",
                    models.DecimalField(
                        decimal_places=8,
                        help_text="CNY per 1 unit of the currency.",
                        max_digits=18,
                        verbose_name="rate",
                    ),
                ),
                (
                    "source",
                    models.CharField(
                        blank=True, help_text="Who published the rate.", max_length=100, verbose_name="source"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
            ],
            options={
                "verbose_name": "exchange rate",
                "verbose_name_plural": "exchange rates",
                "ordering": ("-rate_date", "currency"),
                "constraints": [
                    models.UniqueConstraint(fields=("currency", "rate_date"), name="exchange_rate_currency_date"),
                    models.CheckConstraint(condition=models.Q(("rate__gt", 0)), name="exchange_rate_positive"),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("currency__regex", "^[0-9]{3}$"), models.Q(("currency", "142"), _negated=True)
                        ),
                        name="exchange_rate_currency_code",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="SettlementFile",
            fields=[
                (
                    "report",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="file",
                        serialize=False,
                        to="finance.settlementreport",
                        verbose_name="report",
                    ),
                ),
                ("content_type", models.CharField(max_length=100, verbose_name="content type")),
                ("content_encrypted", models.TextField(verbose_name="content (encrypted)")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="uploaded at")),
            ],
            options={
                "verbose_name": "settlement file",
                "verbose_name_plural": "settlement files",
            },
        ),
        migrations.CreateModel(
            name="SettlementMismatch",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("missing", "missing from the file"),
                            ("amount_differs", "amount differs"),
                            ("duplicate", "duplicate in the file"),
                            ("unknown", "unknown transaction"),
                        ],
                        max_length=16,
                        verbose_name="kind",
                    ),
                ),
                ("line", models.PositiveIntegerField(blank=True, null=True, verbose_name="line")),
                ("first_line", models.PositiveIntegerField(blank=True, null=True, verbose_name="first line")),
                ("pay_transaction_id", models.CharField(max_length=60, verbose_name="pay transaction id")),
                ("order_no", models.CharField(max_length=60, verbose_name="order no")),
                ("ebp_code", models.CharField(blank=True, max_length=18, verbose_name="ebp code")),
                ("ebc_code", models.CharField(blank=True, max_length=18, verbose_name="ebc code")),
                (
                    "file_amount",
                    models.DecimalField(
                        blank=True, decimal_places=5, max_digits=19, null=True, verbose_name="amount in the file"
                    ),
                ),
                ("file_currency", models.CharField(blank=True, max_length=3, verbose_name="currency in the file")),
                (
                    "file_amount_cny",
                    models.DecimalField(
                        blank=True, decimal_places=5, max_digits=19, null=True, verbose_name="amount in the file, CNY"
                    ),
                ),
                (
                    "rate",
                    models.DecimalField(blank=True, decimal_places=8, max_digits=18, null=True, verbose_name="rate"),
                ),
                ("rate_date", models.DateField(blank=True, null=True, verbose_name="rate date")),
                (
                    "recorded_amount",
                    models.DecimalField(
                        blank=True, decimal_places=5, max_digits=19, null=True, verbose_name="amount recorded"
                    ),
                ),
                ("recorded_currency", models.CharField(blank=True, max_length=3, verbose_name="currency recorded")),
                ("recorded_pay_time", models.DateTimeField(blank=True, null=True, verbose_name="pay time recorded")),
                (
                    "report",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="mismatches",
                        to="finance.settlementreport",
                        verbose_name="report",
                    ),
                ),
            ],
            options={
                "verbose_name": "settlement mismatch",
                "verbose_name_plural": "settlement mismatches",
                "ordering": ("report", "id"),
            },
        ),
        migrations.AddIndex(
            model_name="settlementreport",
            index=models.Index(fields=["uploader", "-created_at", "-id"], name="settlement_uploader_idx"),
        ),
        migrations.AddConstraint(
            model_name="settlementreport",
            constraint=models.CheckConstraint(
                condition=models.Q(("period_end__gte", models.F("period_start"))), name="settlement_period_order"
            ),
        ),
        migrations.AddConstraint(
            model_name="settlementreport",
            constraint=models.CheckConstraint(
                condition=models.Q(("file_format__in", ["csv", "json"])), name="settlement_file_format_valid"
            ),
        ),
        migrations.AddConstraint(
            model_name="settlementmismatch",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["missing", "amount_differs", "duplicate", "unknown"])),
                name="settlement_mismatch_kind_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="settlementmismatch",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("file_amount_cny__isnull", True), ("rate__isnull", True), ("rate_date__isnull", True)),
                    models.Q(("file_amount_cny__isnull", False), ("rate__isnull", False), ("rate_date__isnull", False)),
                    _connector="OR",
                ),
                name="settlement_mismatch_rate_with_amount",
            ),
        ),
        migrations.AddConstraint(
            model_name="settlementmismatch",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind", "amount_differs"), _negated=True),
                    models.Q(("file_amount_cny__isnull", False), ("recorded_amount__isnull", False)),
                    _connector="OR",
                ),
                name="settlement_mismatch_amounts_shown",
            ),
        ),
    ]
