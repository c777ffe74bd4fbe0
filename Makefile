PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck bench run clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy credcore puente issuer verifier

test: $(STAMP) lint typecheck
	$(VENV)/bin/pytest -q

bench: $(STAMP)
	$(PY) -m bench

run: $(STAMP)
	$(VENV)/bin/puente demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
