PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck bench run clean lock package-test interop-deps

# Dependencies come pinned (with hashes) from requirements-dev.lock; the second step only adds this
# tree, editable (and anything pyproject.toml gained since the last `make lock`, which a test flags).
$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(PY) -m pip install --quiet -e '.[test,bench,server]'
	touch $(STAMP)

install: $(STAMP)

# The interop suite's Node peers (tests/interop), exactly as package-lock.json pins them.
INTEROP := tests/interop/node_modules/.package-lock.json
$(INTEROP): tests/interop/package-lock.json
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error

interop-deps: $(INTEROP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy credcore servicekit puente issuer verifier

test: $(STAMP) $(INTEROP) lint typecheck
	$(VENV)/bin/pytest -q

# wrk (Debian) drives the HTTP benchmark; without it (and no root to install it) those lines say skipped.
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || (apt-get install -y -qq wrk >/dev/null 2>&1 || \
	  (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1)) || true
	$(PY) -m bench

# Refresh both lock files from pyproject.toml with uv (universal: any OS and CPU, Python 3.11+).
# requirements.lock: the application and its production server extras (Dockerfile, package test);
# requirements-dev.lock: that plus the test and bench extras (make install, CI).
LOCK := $(VENV)/bin/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command 'make lock'
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet 'uv>=0.5'
	$(LOCK) --extra server -o requirements.lock
	$(LOCK) --extra server --extra test --extra bench -o requirements-dev.lock

# The wheel installed into a fresh venv outside the checkout serves every page (also part of CI).
package-test: $(STAMP)
	PUENTE_PACKAGE_TEST=1 $(VENV)/bin/pytest -q tests/test_package.py

run: $(STAMP)
	$(VENV)/bin/puente demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
