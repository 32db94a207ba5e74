"""Settings for ``make run`` on a workstation: embedded defaults, nothing to configure."""

from __future__ import annotations

from config.settings.base import *  # noqa: F403
from config.settings.base import VAR_DIR, env

VAR_DIR.mkdir(exist_ok=True)

# Off by default, as in production: Django's debug pages list every URL pattern and setting to
# whoever opens a wrong address. DJANGO_DEBUG=true turns them on for a developer's own machine.
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="local-only-secret-key-not-for-production")
API_KEY_HMAC_SECRET = env.str("API_KEY_HMAC_SECRET", default="local-only-api-key-secret")
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=["1:bG9jYWwtb25seS1maWVsZC1rZXktMzItYnl0ZXMhISE="])
LOOKUP_HASH_KEY = env.str("LOOKUP_HASH_KEY", default="local-only-lookup-hash-key")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["*"])
# The simulators and test receivers listen on 127.0.0.1.
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=True)
# A workstation holds the demo data (load_demo), with DJANGO_DEBUG=false too.
ALLOW_DEMO_DATA = env.bool("ALLOW_DEMO_DATA", default=True)
# Static files come straight from the apps, with DEBUG off too (WhiteNoise serves them, not
# runserver): no collectstatic step before the first run.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

for _folder in ("queue", "processed"):
    (CELERY_BROKER_FOLDER / _folder).mkdir(parents=True, exist_ok=True)
