"""Settings for the test suite: real PostgreSQL and Redis on localhost."""

from __future__ import annotations

from config.settings.base import *  # noqa: F403
from config.settings.base import celery_transport_options, env, redis_cache

DEBUG = False
SECRET_KEY = "test-secret-key"  # noqa: S105 - the suite's own, never deployed
API_KEY_HMAC_SECRET = "test-api-key-secret"  # noqa: S105
FIELD_ENCRYPTION_KEYS = [
    "2:dGVzdC1maWVsZC1lbmNyeXB0aW9uLWtleS10d28hISE=",
    "1:dGVzdC1maWVsZC1lbmNyeXB0aW9uLWtleS1vbmUhISE=",
]
LOOKUP_HASH_KEY = "test-lookup-hash-key"
ALLOWED_HOSTS = ["*"]
# The fake receivers of the tests listen on 127.0.0.1; tests of the refusal override this.
WEBHOOK_ALLOW_PRIVATE_URLS = True
# Tests may load demo data; the tests of the refusal turn this off.
ALLOW_DEMO_DATA = True
# Most tests declare lists with no customs partner and no signing key: the gateway would send
# them all to send_failed. Its own tests switch it on.
CUSTOMS_GATEWAY_ENABLED = False
# Risk control would judge every list of every test by its rules (splitting, velocity, random
# selection): the tests that judge with it register its participant themselves.
RISK_DECLARE_STEP = False
# Likewise the guarantee: its tests register finance's participant and open accounts.
FINANCE_DECLARE_STEP = False
# Likewise bonded stock: its tests register logistics' participant and record receipts.
LOGISTICS_DECLARE_STEP = False
# No broker worker runs the packing in most tests: what a request declares is packed when its
# transaction commits, so the test sees the message once the answer is back.
CUSTOMS_BATCH_WINDOW_MS = 0

DATABASES = {"default": env.db_url("TEST_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/single_window")}
REDIS_URL = env.str("TEST_REDIS_URL", default="redis://127.0.0.1:6379/14")
CACHES = {"default": redis_cache(REDIS_URL)}
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = celery_transport_options(CELERY_BROKER_URL)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
