# Two commands for a new machine (README):  make run   and   make test
SHELL := /bin/bash
.DEFAULT_GOAL := run

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
SERVICES := scripts/services.sh
HOST ?= 127.0.0.1
PORT ?= 8000
# Links in mails, invitation URLs and QR codes follow the address the portal runs on
# unless PORTAL_BASE_URL says otherwise (issue #13 item 1).
# The portal follows the signing service to the port scripts/services.sh started it on
# (PORTAL_SIGNING_PORT), unless PORTAL_SIGNING_SERVICE_URL names another service.
RUN_ENV := PORTAL_RUN_HOST=$(HOST) PORTAL_RUN_PORT=$(PORT) \
	$(if $(PORTAL_SIGNING_PORT),$(if $(PORTAL_SIGNING_SERVICE_URL),,PORTAL_SIGNING_SERVICE_URL=http://127.0.0.1:$(PORTAL_SIGNING_PORT)))
APT_PACKAGES := clamav clamav-daemon postgresql chromium chromium-driver \
	fonts-ipaexfont-gothic fonts-ipaexfont-mincho poppler-utils libnss3-tools qpdf wrk softhsm2 faketime

.PHONY: run test deps apt venv migrate seed services stop lint typecheck bench

## make run: install everything, migrate, seed the demo, start the services and the portal.
run: deps migrate
	@$(SERVICES) start clamd smtp signing mailer
	@$(RUN_ENV) $(FLASK) demo seed
	@echo
	@echo "Portal:        http://$(HOST):$(PORT)/          (bank console: http://$(HOST):$(PORT)/console/)"
	@echo "Demo mailbox:  http://$(HOST):$(PORT)/dev/mailbox   (or: $(FLASK) demo mailbox)"
	@echo "Stop the background services with: $(SERVICES) stop"
	@echo
	$(RUN_ENV) $(VENV)/bin/gunicorn --bind $(HOST):$(PORT) --workers 2 --threads 4 \
	  --limit-request-line 8190 --limit-request-field_size 16380 --access-logfile - \
	  --no-control-socket wsgi:app

## make test: install what the tests need, check lint and types (ruff, mypy --strict),
## start the real services, run every test on SQLite and, beside it, the
## database-touching part again on PostgreSQL.
# The suite runs in a process time zone that is neither UTC nor JST, so a
# naive now() or a stored wall time shows up as a failure (SPEC time rule).
# Three pytest runs go side by side, so both cores stay busy to the end (CI has
# 2 and must finish in 30 minutes): SQLite tests/functional, SQLite every other
# folder (--ignore, so a new folder is never left out) and PostgreSQL
# tests/functional. They share nothing but the started services: the fixtures
# start private SMTP captures and signing services on free ports, and
# PostgreSQL databases are named after the test process. Each run's output is
# printed in full once it ends; make test fails if any of the three failed.
PYTEST := $(PY) -m pytest -q -p no:cacheprovider
test: export TZ := America/Los_Angeles
test: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	@$(SERVICES) start clamd smtp postgres signing
	@mkdir -p var/log; started=$$SECONDS; \
	$(PYTEST) tests/functional >var/log/test-sqlite-functional.log 2>&1 & functional=$$!; \
	$(PYTEST) tests --ignore=tests/functional >var/log/test-sqlite-other.log 2>&1 & other=$$!; \
	PORTAL_TEST_DATABASE=postgres $(PYTEST) -m "not e2e and not slow" tests/functional \
	  >var/log/test-postgres.log 2>&1 & postgres=$$!; \
	echo "== SQLite tests/functional, SQLite other folders and PostgreSQL tests/functional" \
	  "side by side (output in var/log/test-{sqlite-functional,sqlite-other,postgres}.log) =="; \
	failed=0; summary=""; \
	for run in sqlite-functional:$$functional sqlite-other:$$other postgres:$$postgres; do \
	  name=$${run%:*}; wait $${run#*:}; status=$$?; [ $$status -eq 0 ] || failed=1; \
	  echo; echo "== $$name: exit $$status =="; cat var/log/test-$$name.log; \
	  summary="$$summary $$name: exit $$status;"; \
	done; \
	$(SERVICES) stop signing clamd smtp postgres >/dev/null 2>&1 || true; \
	echo; echo "Test runs ($$((SECONDS - started)) s):$$summary"; \
	[ $$failed -eq 0 ]

deps: apt venv

# Debian packages: installed only when one is missing (apt-get update once first).
apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	@touch $@

migrate: venv
	$(FLASK) db upgrade

seed: venv
	@$(RUN_ENV) $(FLASK) demo seed

services:
	@$(SERVICES) start clamd smtp signing mailer

stop:
	@$(SERVICES) stop

lint: venv
	$(VENV)/bin/ruff check .

## make typecheck: mypy --strict over portal, kyc and remote_signing (settings in pyproject.toml).
typecheck: venv
	$(VENV)/bin/mypy

bench: deps
	@$(SERVICES) start clamd smtp postgres signing
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done
