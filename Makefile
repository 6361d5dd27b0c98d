# Two commands set everything up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench migrate clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c requirements.lock -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m bot run

migrate: $(STAMP)
	$(PY) -m bot migrate

# The whole suite on SQLite, then again on a real PostgreSQL server the tests start themselves
# (tests/support/postgres.py).
test: $(STAMP)
	$(PY) -m pytest -q
	LINLI_TEST_DATABASE=postgresql $(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check bot handlers storage tests bench
	$(VENV)/bin/ruff format --check bot handlers storage tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
