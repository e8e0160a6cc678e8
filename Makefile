# Colloquy — `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app app

.PHONY: run test install install-dev db system-test-deps bench clean

$(VENV)/.stamp-runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.stamp-dev: requirements-dev.txt $(VENV)/.stamp-runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.stamp-runtime

install-dev: $(VENV)/.stamp-dev

## Bring the schema up to date and load the demo course into an empty database.
db: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty

## Serve at http://127.0.0.1:$${PORT:-5000} with the eventlet server.
run: db
	$(PY) app.py

## Debian's Chromium (browser tests), Redis (multi-process tests) and PostgreSQL, where missing and allowed.
system-test-deps:
	@sh scripts/install_test_system_deps.sh

## The import rules of docs/architecture.md (.importlinter), then the whole suite,
## one worker per core (TEST_WORKERS=0 runs it in one process); a file's tests stay together.
TEST_WORKERS ?= auto
test: install-dev system-test-deps
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

bench: install-dev
	$(PY) bench/deadline_crunch.py
	$(PY) bench/gradebook.py

clean:
	rm -rf $(VENV) .pytest_cache test-results
