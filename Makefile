# Amity: every target bootstraps .venv itself, so a fresh clone needs only `make run` or `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
PYTEST_WORKERS ?= 2

.PHONY: run setup test test-sqlite test-postgres e2e lint typecheck checks bench demo clean messages

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

setup: $(STAMP)

run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo --if-empty
	$(VENV)/bin/amity serve

demo: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo

lint: setup
	$(VENV)/bin/ruff check .

typecheck: setup
	$(VENV)/bin/mypy amity

checks: setup
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	AMITY_ENV=production SECRET_KEY=check-deploy-key-$$(date +%s)-not-used-anywhere-0123456789abcdef \
	  ALLOWED_HOSTS=crm.example.com $(PY) manage.py check --deploy --fail-level WARNING

test-sqlite: setup
	$(VENV)/bin/pytest -q -n $(PYTEST_WORKERS) -m "not browser"

# The same suite on PostgreSQL; skipped with a message when no server answers.
test-postgres: setup
	@if $(PY) -c "import psycopg,sys; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
	  DATABASE_URL=$(PG_URL) $(VENV)/bin/pytest -q -n $(PYTEST_WORKERS) -m "not browser"; \
	else echo "SKIPPED: PostgreSQL suite (no server reachable at $(PG_URL))"; fi

e2e: setup
	$(VENV)/bin/pytest -q -m browser

test: lint typecheck checks test-sqlite test-postgres e2e

bench: setup
	@command -v wrk >/dev/null || (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	$(PY) bench/run.py

# Translations: the compiled .mo files are committed, so running Amity needs no gettext tools.
messages: setup
	cd amity && ../$(PY) ../manage.py makemessages -l zh_Hans --ignore=tests --ignore=*/tests/*
	cd amity && ../$(PY) ../manage.py compilemessages -l zh_Hans

clean:
	rm -rf $(VENV) var
