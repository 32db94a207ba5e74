"""Settings shared by every environment.

Every value that differs between deployments is read from the environment through one
``env`` reader; ``.env.example`` lists them. Integrations switch on by their URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

django_stubs_ext.monkeypatch()

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY: str = env.str("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "single_window",
    "declarations",
    "logistics",
    "finance",
    "credit",
    "risk",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # After the locale (its answers are translated), before anything reads the path or query.
    "core.middleware.ControlCharactersMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_from_env(default: str) -> dict[str, Any]:
    """Read ``DATABASE_URL``; SQLite serialises writers so concurrent workers never deadlock."""
    config: dict[str, Any] = env.db_url("DATABASE_URL", default=default)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            # IMMEDIATE takes the write lock at BEGIN: two writers queue instead of one failing
            # with "database is locked" half-way through a transaction.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    else:
        config.setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
        config.setdefault("CONN_HEALTH_CHECKS", True)
    return config


DATABASES = {"default": database_from_env(f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # plotly.js for the regulators' dashboard, from the installed plotly package (no CDN).
    "monitoring.dashboard_static.PlotlyFinder",
]

# --- Cache and broker -------------------------------------------------------------------
# With REDIS_URL both live in Redis; without it the cache is shared through files and the
# Celery broker is kombu's filesystem transport, so several processes work with no server.
REDIS_URL: str = env.str("REDIS_URL", default="")
# Seconds a cache call may wait before it counts as failed (throttling then counts in the
# process). A Redis that takes connections but never answers (hung, or a network dropping
# packets) held each request 5 s and more per cache call with redis-py's defaults.
CACHE_SOCKET_TIMEOUT_SECONDS = env.float("CACHE_SOCKET_TIMEOUT_SECONDS", default=0.5)


def redis_cache(url: str) -> dict[str, Any]:
    """The cache in Redis at ``url``, with bounded waits."""
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        "OPTIONS": {
            "socket_connect_timeout": CACHE_SOCKET_TIMEOUT_SECONDS,
            "socket_timeout": CACHE_SOCKET_TIMEOUT_SECONDS,
        },
    }


if REDIS_URL:
    CACHES: dict[str, dict[str, Any]] = {"default": redis_cache(REDIS_URL)}
    CELERY_BROKER_URL: str = env.str("CELERY_BROKER_URL", default=REDIS_URL)
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_FOLDER = VAR_DIR / "broker"

# --- Health (core/health.py) -------------------------------------------------------------
# /api/v1/health reports "degraded" when no worker ran the heartbeat task for this long...
HEALTH_WORKER_MAX_SILENCE_SECONDS = env.int("HEALTH_WORKER_MAX_SILENCE_SECONDS", default=60)
# ...or when an outbox message has been due and unsent for this long (no relay is running).
HEALTH_OUTBOX_MAX_AGE_SECONDS = env.int("HEALTH_OUTBOX_MAX_AGE_SECONDS", default=300)

# --- Credentials and personal data -------------------------------------------------------
# Server secret for the HMAC-SHA256 digests of API keys. Rotating it revokes every key.
API_KEY_HMAC_SECRET: str = env.str("API_KEY_HMAC_SECRET", default="")
API_KEY_MAX_ACTIVE_PER_ENTERPRISE = env.int("API_KEY_MAX_ACTIVE_PER_ENTERPRISE", default=10)
# Each process keeps the registry rows every request reads (API keys with their enterprise or
# regulator, enterprises by code, appointments) this many seconds at most, whatever happens:
# a revoked key, a suspended enterprise, a revoked appointment or a role change stops working
# everywhere within it (single_window/registry_cache.py). 0 turns the cache off.
REGISTRY_CACHE_SECONDS = env.float("REGISTRY_CACHE_SECONDS", default=5.0)
# A change saved through the services or the admin is announced in the cache (Redis); each
# process looks at most this often, and so usually sees another's change within it.
REGISTRY_CACHE_CHECK_SECONDS = env.float("REGISTRY_CACHE_CHECK_SECONDS", default=1.0)
# Encryption keys for data at rest, "version:base64url-32-bytes", newest first.
FIELD_ENCRYPTION_KEYS: list[str] = env.list("FIELD_ENCRYPTION_KEYS", default=[])
# Key for the keyed hashes that let the database find an encrypted value.
LOOKUP_HASH_KEY: str = env.str("LOOKUP_HASH_KEY", default="")

# --- Outbound webhooks ---------------------------------------------------------------------
# Endpoints resolving to private, loopback, link-local or reserved addresses are refused
# (at registration and at every delivery) unless this is on: only for local runs and tests.
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=False)

# --- Demo data -----------------------------------------------------------------------------
# With DEBUG off, load_demo refuses to run and the system check single_window.E001 (migrate,
# check --deploy) fails while the database holds demo API keys or partners pointing at a local
# simulator, unless this is on: a demonstration server meant to hold them (docs/sandbox.md).
ALLOW_DEMO_DATA = env.bool("ALLOW_DEMO_DATA", default=False)

# --- Event subscriptions (single_window/subscriptions.py) ----------------------------------
# The systems that learn from events (credit) are handed them by a periodic task, in id order:
# at most this many events are read per transaction...
EVENT_SUBSCRIPTION_BATCH_SIZE = env.int("EVENT_SUBSCRIPTION_BATCH_SIZE", default=500)
# ...and a run stops starting new batches after this many seconds (below the tasks' soft limit);
# the next run, a few seconds later, carries on from the cursor.
EVENT_SUBSCRIPTION_RUN_SECONDS = env.float("EVENT_SUBSCRIPTION_RUN_SECONDS", default=20.0)

# --- Customs XML -------------------------------------------------------------------------
# A message holds up to 100 documents; anything larger is refused before it is parsed.
CEB_XML_MAX_BYTES = env.int("CEB_XML_MAX_BYTES", default=10 * 1024 * 1024)
# Django refuses larger bodies first, with a 400; keep it just above the XML limit so the
# XML answer (413, CEB900) is the one a sender sees.
DATA_UPLOAD_MAX_MEMORY_SIZE = CEB_XML_MAX_BYTES + 1024 * 1024
# How far a document's appTime may be ahead of the single window's clock. appTime orders a
# document's versions, so one dated far ahead would lock its sender out of every later change.
APP_TIME_FUTURE_TOLERANCE_SECONDS = env.int("APP_TIME_FUTURE_TOLERANCE_SECONDS", default=600)

# --- Reference tables ---------------------------------------------------------------------
# Each process keeps the reference tables (positive list, tax rates, countries, units) at most
# this many seconds; an import or an admin edit empties them at once in its own process and,
# through Redis, in the others within REFERENCE_CACHE_CHECK_SECONDS. 0 reads them every time.
REFERENCE_CACHE_SECONDS = env.float("REFERENCE_CACHE_SECONDS", default=60.0)
REFERENCE_CACHE_CHECK_SECONDS = env.float("REFERENCE_CACHE_CHECK_SECONDS", default=1.0)

# --- Batches -----------------------------------------------------------------------------
# Documents in one POST /api/v1/batches (10 MB of JSON holds 1,000 documents of a few lines).
BATCH_MAX_DOCUMENTS = env.int("BATCH_MAX_DOCUMENTS", default=1000)
# Documents stored in one transaction (each in a savepoint of its own): one commit per chunk.
BATCH_CHUNK_SIZE = env.int("BATCH_CHUNK_SIZE", default=50)

# --- Customs gateway ---------------------------------------------------------------------
# A list that becomes declared is built into a CEB621, signed for the declaring enterprise
# and put in the outbox for customs (declarations/gateway.py). Off: lists stay declared and
# nothing is sent (the test suite's default; the gateway's tests switch it on).
CUSTOMS_GATEWAY_ENABLED = env.bool("CUSTOMS_GATEWAY_ENABLED", default=True)
# How long a list held by the declare step (a review, a hold without its own deadline) waits
# before it is judged a last time and, still waiting, fails (docs/declare-step.md).
DECLARE_HOLD_SECONDS = env.int("DECLARE_HOLD_SECONDS", default=24 * 3600)
# A list left in send_failed this long is given up: its buyer's quota and what the systems
# reserved are released (the enterprise may still change it, which declares it again).
SEND_FAILED_GIVE_UP_SECONDS = env.int("SEND_FAILED_GIVE_UP_SECONDS", default=72 * 3600)
# --- The regulators' workbench (docs/workbench.md) -----------------------------------------
# A list waiting for documents longer than this many minutes is in the queue "lists waiting
# for documents".
WORKBENCH_WAITING_AFTER_MINUTES = env.int("WORKBENCH_WAITING_AFTER_MINUTES", default=60)
# The most rows one export of an admin list page may hold: a larger one is refused (narrow
# the filter), never cut short.
WORKBENCH_EXPORT_MAX_ROWS = env.int("WORKBENCH_EXPORT_MAX_ROWS", default=50_000)

# Risk control answers in the declare step (docs/risk.md); off, lists are not judged by it.
RISK_DECLARE_STEP = env.bool("RISK_DECLARE_STEP", default=True)
# Finance answers in the declare step: a list is declared only when its guarantor's account
# covers its estimated tax (docs/finance.md); off, guarantees are not reserved.
FINANCE_DECLARE_STEP = env.bool("FINANCE_DECLARE_STEP", default=True)
# Logistics answers in the declare step: a bonded (1210) list is declared only when its account
# book holds its items (docs/logistics-stock.md); off, bonded stock is not reserved.
LOGISTICS_DECLARE_STEP = env.bool("LOGISTICS_DECLARE_STEP", default=True)
# A list whose guarantor has no guarantee account: held (true) or declared without one (false).
FINANCE_GUARANTEE_REQUIRED = env.bool("FINANCE_GUARANTEE_REQUIRED", default=True)
# Logistics (docs/logistics.md): tracking events of a waybill the single window does not hold
# are kept this long, waiting for it, then deleted.
LOGISTICS_UNKNOWN_WAYBILL_SECONDS = env.int("LOGISTICS_UNKNOWN_WAYBILL_SECONDS", default=7 * 24 * 3600)
# A learned usual time (delay norm) is used when it counts at least this many samples; else
# the status's default.
LOGISTICS_DELAY_MIN_SAMPLES = env.int("LOGISTICS_DELAY_MIN_SAMPLES", default=20)
# The history the usual times are learned from, in days.
LOGISTICS_DELAY_HISTORY_DAYS = env.int("LOGISTICS_DELAY_HISTORY_DAYS", default=90)
# The monitoring's nightly reconciliation checks (and corrects) this many days up to yesterday.
MONITORING_RECONCILE_DAYS = env.int("MONITORING_RECONCILE_DAYS", default=7)
# Differences a drift report keeps, with their stored and recomputed figures.
MONITORING_DRIFT_REPORT_ROWS = env.int("MONITORING_DRIFT_REPORT_ROWS", default=200)
# The longest date range the monitoring API answers for, in days.
MONITORING_MAX_RANGE_DAYS = env.int("MONITORING_MAX_RANGE_DAYS", default=731)
# The key of risk's reproducible random selection (HMAC of the list version); empty: LOOKUP_HASH_KEY.
RISK_SELECTION_KEY = env.str("RISK_SELECTION_KEY", default="")
# The Partner (kind customs) messages go to; empty: the one active customs partner.
CUSTOMS_PARTNER_CODE: str = env.str("CUSTOMS_PARTNER_CODE", default="")
# The single window's user number on the e-port's data exchange platform (BaseTransfer dxpId).
CUSTOMS_DXP_ID: str = env.str("CUSTOMS_DXP_ID", default="DXPENT0000000001")
# Wrap each message in a DXP envelope (DxpMsg, the message base64 in Data) when posting it.
CUSTOMS_DXP_ENVELOPE = env.bool("CUSTOMS_DXP_ENVELOPE", default=False)
# The gateway packs the documents one declarant declares within this many milliseconds into one
# signed message per type (CEB621, CEB311...): one signature and one POST for up to
# CUSTOMS_BATCH_MAX documents. 0: each is packed as soon as its transaction commits.
CUSTOMS_BATCH_WINDOW_MS = env.int("CUSTOMS_BATCH_WINDOW_MS", default=200)
# Documents per message, at most 100 (the customs schema's limit).
CUSTOMS_BATCH_MAX = env.int("CUSTOMS_BATCH_MAX", default=100)

# --- Export summary declarations (CEB701) ------------------------------------------------
# Lists per CEB701 message; a summary with more goes in several (msgCount/msgSeqNo). The
# specification numbers the messages but states no figure; 100 is the schema's limit on every
# other repeated document.
EXPORT_SUMMARY_MAX_LISTS = env.int("EXPORT_SUMMARY_MAX_LISTS", default=100)
# The day of the month (China Standard Time) the previous month's summaries are assembled.
EXPORT_SUMMARY_DAY = env.int("EXPORT_SUMMARY_DAY", default=1)
# Grouping of the monthly run: 1 by consignor, 2 by consignor and producer (summaryFlag); and
# goods added up by code and enterprise goods name (itemNameFlag 1) or by 4-digit category.
EXPORT_SUMMARY_FLAG = env.str("EXPORT_SUMMARY_FLAG", default="1")
EXPORT_SUMMARY_BY_ITEM_NAME = env.bool("EXPORT_SUMMARY_BY_ITEM_NAME", default=True)

# --- Finance -----------------------------------------------------------------------------
# A day without an exchange rate of its own converts at the latest earlier rate at most this
# many days old (weekends and holidays publish none); older, the conversion is refused
# (exchange_rate_missing).
FINANCE_RATE_MAX_AGE_DAYS = env.int("FINANCE_RATE_MAX_AGE_DAYS", default=7)
# Days a payment company's uploaded settlement file is kept (encrypted) before the periodic
# task deletes it; the reconciliation report stays.
FINANCE_SETTLEMENT_RETENTION_DAYS = env.int("FINANCE_SETTLEMENT_RETENTION_DAYS", default=180)

# --- REST API ----------------------------------------------------------------------------
API_THROTTLE_RATE: str = env.str("API_THROTTLE_RATE", default="6000/min")
# The highest rate a key may be given its own (ApiKey.throttle_rate, set in the admin): a
# regulator may lower or raise one key's limit, but not lift it off the shared cache's capacity.
API_KEY_THROTTLE_RATE_MAX: str = env.str("API_KEY_THROTTLE_RATE_MAX", default="60000/min")
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["single_window.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["single_window.permissions.IsActiveEnterprise"],
    "DEFAULT_THROTTLE_CLASSES": ["single_window.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": API_THROTTLE_RATE},
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "Single Window API",
    "DESCRIPTION": (
        "Integrated information service for cross-border e-commerce. Enterprises connect once: "
        "orders, payments, waybills and declaration lists go in here, and customs, tax, forex, "
        "payment and logistics partners get the data they need.\n\n"
        "Authenticate with `Authorization: Bearer <api key>`. Every error is RFC 9457 "
        "`application/problem+json` with a stable `code`; send `Accept-Language: zh-Hans` for "
        "Chinese messages."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "DocumentStatusEnum": "declarations.models.DocumentStatus",
        "InventoryStatusEnum": "declarations.models.InventoryStatus",
        "InventoryReturnStatusEnum": "declarations.models.InventoryReturn.Status",
        "InventoryCancellationStatusEnum": "declarations.models.InventoryCancellation.Status",
        # Delivery notices (CEB513) and arrival manifests (CEB711) with customs.
        "CustomsAnswerStatusEnum": "declarations.models.CustomsAnswerStatus",
        # A function: the types are registered by the apps at start-up, not listed in a class.
        "EventTypeEnum": "single_window.event_types.event_type_choices",
        "DeliveryStateEnum": "single_window.models.OutboxState",
        "CertificateAlgorithmEnum": "single_window.models.CertificateAlgorithm",
        "SigningKeyAlgorithmEnum": "single_window.models.SigningKeyAlgorithm",
        "CreditGradeEnum": "credit.models.Grade",
        "CreditConsentPurposeEnum": "credit.models.ConsentPurpose",
        "CreditConsentStatusEnum": "credit.models.ConsentStatus",
        "CustomsClassSourceEnum": "credit.models.ClassDecisionSource",
        "FinancingStateEnum": "finance.models.FinancingState",
        "HealthCheckStatusEnum": ["ok", "down"],
        "HealthStatusEnum": ["ok", "degraded", "down"],
        "TrackingStatusEnum": "logistics.models.TrackingStatus",
        "TransportModeEnum": "logistics.models.TransportMode",
        "TrackingEventResultStatusEnum": ["stored", "duplicate", "refused"],
        "DeliveryNoticeStateEnum": "logistics.models.DeliveryNoticeState",
    },
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
}

# --- Celery ------------------------------------------------------------------------------
# Read by config/celery.py through the CELERY_ namespace.
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# Acknowledge after the task ran and give it back when its worker dies: at-least-once
# delivery, so every task is idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery closes a worker's database connection after every task unless this is set: with it,
# connections are closed every 2 x this many tasks, and the database's own CONN_MAX_AGE and
# health checks (Django's) decide the rest. Opening a connection costs more than most tasks.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=500)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = TIME_ZONE


def celery_transport_options(broker_url: str) -> dict[str, Any]:
    """Transport options for the broker in use."""
    if broker_url.startswith("filesystem://"):
        # Producers and consumers share one folder; messages survive a restart of either.
        queue, processed = CELERY_BROKER_FOLDER / "queue", CELERY_BROKER_FOLDER / "processed"
        return {
            "data_folder_in": str(queue),
            "data_folder_out": str(queue),
            "processed_folder": str(processed),
            "store_processed": False,
        }
    return {
        # An unacknowledged task returns to the queue after this long. It must exceed the
        # longest task (the hard time limit), or a slow task would run twice at once.
        "visibility_timeout": max(3600, CELERY_TASK_TIME_LIMIT * 4),
        # A publish connects once more and gives up. Kicks run in the request that wrote an
        # outbox or inbox row, and kombu's default (reconnecting for broker_connection_timeout)
        # held each such request ~6 s while Redis was away; the periodic sweeps send what a
        # failed kick left. Workers and beat reconnect by their own, unbounded, settings.
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.2,
    }


CELERY_BROKER_TRANSPORT_OPTIONS = celery_transport_options(CELERY_BROKER_URL)

# --- Logging -----------------------------------------------------------------------------
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
