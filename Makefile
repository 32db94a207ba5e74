# The two commands: `make run` and `make test`. Everything else is a step of one of them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TEST_ENV := DJANGO_SETTINGS_MODULE=config.settings.test

.PHONY: run test install install-dev browser lint typecheck migrations-check pytest demo schema messages clean bench bench-quick keys demo-parcel

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(MAKE) --no-print-directory browser
	touch $@

## browser: Debian's chromium and chromedriver for the dashboard's browser test
## (monitoring/tests/test_browser.py), installed when missing, apt-get is there and we are root
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; }; \
		else \
			echo "chromium and chromedriver are missing: install them (Debian: apt-get install chromium chromium-driver) for the browser test" >&2; \
		fi; }

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: install, migrate, load demo data, start API + worker + beat, print URLs, logins and keys
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py guarantee_account 3301960002 --amount 1000000 --reason "demo: the seller's guarantee"
	$(BIN)/python manage.py runstack

## test: lint, type-check, check migrations, run the suite on PostgreSQL and Redis
test: install-dev browser
	scripts/ensure-services.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

## keys: print the demo API keys again (written by load_demo to var/demo-keys.env)
keys:
	@test -f var/demo-keys.env || { echo "No var/demo-keys.env yet: run make run (or manage.py load_demo) first." >&2; exit 1; }
	@cat var/demo-keys.env

## demo-parcel: send a fresh parcel of the demo parties to the running API and print its trace;
## ARGS="--xml --wait" for customs XML and to wait for release (docs/examples/xml/README.md)
demo-parcel: install
	$(BIN)/python manage.py send_demo_parcel $(ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy

schema: install
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file var/openapi.yaml

## messages: refresh locale/zh_Hans from every app (tests excluded) and compile; commit the .po and the .mo
messages: install
	$(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete --add-location=file \
		--ignore=$(VENV) --ignore=var --ignore='*/tests/*' --ignore='tests/*'
	$(BIN)/python manage.py compilemessages --ignore=$(VENV)

## bench: start the production stack on a database of its own, measure it from outside, stop it
## (docs/bench.md); ARGS=--quick for about two minutes instead of up to fifteen
bench: install-dev
	scripts/ensure-services.sh
	$(BIN)/python -m bench $(ARGS)

bench-quick:
	$(MAKE) bench ARGS=--quick

clean:
	rm -rf $(VENV) var
