# syntax=docker/dockerfile:1
# The image of the web server, the Celery worker and beat (docker-compose.yml runs all three).
# The project runs from /app: settings find locale/ and var/ next to manage.py.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

WORKDIR /app

# 1. The pinned dependencies from pyproject.toml in a layer of their own, so that a change to
#    the code does not download them again.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# 2. The project itself. The copy in /app is the one that runs (PYTHONPATH); installing it
#    checks that the package builds and records it for `pip list`.
COPY . .
RUN pip install . && rm -rf build ./*.egg-info

# 3. Static files for WhiteNoise's manifest storage. Production settings refuse to load
#    without their secrets, so this one step gets throwaway values that stay out of the image.
RUN DJANGO_SECRET_KEY=collectstatic-only \
    API_KEY_HMAC_SECRET=collectstatic-only \
    FIELD_ENCRYPTION_KEYS=0:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    LOOKUP_HASH_KEY=collectstatic-only \
    DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=sqlite:////tmp/collectstatic.sqlite3 \
    REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput --verbosity 0

RUN useradd --system --uid 10001 --create-home app
USER app

EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4"]
