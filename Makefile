# Two commands set everything up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8050
WORKERS ?= 2

.PHONY: install run serve migrate refresh test test-sqlite test-postgres lint format bench clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) -m etl.bootstrap --migrate-only

# Migrates, loads data into an empty database, then serves the app.
run: install
	$(PY) -m etl.bootstrap
	$(VENV)/bin/gunicorn -c gunicorn.conf.py --bind $(HOST):$(PORT) \
		--workers $(WORKERS) --timeout 120 --access-logfile - app:server

serve: install
	$(VENV)/bin/gunicorn -c gunicorn.conf.py --bind $(HOST):$(PORT) \
		--workers $(WORKERS) --timeout 120 --access-logfile - app:server

refresh: install
	$(PY) -m etl.refresh

# The whole suite on SQLite, then the database tests on PostgreSQL when
# TEST_POSTGRES_URL is set. pytest's "no tests ran" (exit 5) fails either pass.
test: install
	$(PY) -m pytest
	@if [ -n "$$TEST_POSTGRES_URL" ]; then \
		echo "== database tests on PostgreSQL"; \
		TEST_DATABASE=postgres $(PY) -m pytest -m db; \
	else \
		echo "== TEST_POSTGRES_URL is not set: PostgreSQL pass skipped"; \
	fi

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
