# Two commands on a fresh machine with Python 3.11+ and make:
#   make demo   — the whole pipeline on its embedded default, with sample calls
#   make test   — the whole test suite (embedded services unless HOTLINE_* names real ones)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo demo-once test unit lint clean

install: $(STAMP)

# Debian and Ubuntu ship venv's ensurepip in a package of its own; without it `-m venv` fails
# with a message that does not say which.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || \
		{ echo 'python3-venv is missing: apt-get install python3-venv (Debian/Ubuntu)' >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hotline-router demo

demo-once: $(STAMP)
	$(BIN)/hotline-router demo --once

test: $(STAMP)
	$(BIN)/python -m pytest -q

unit: $(STAMP)
	$(BIN)/python -m pytest -q -m "not integration"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .hotline .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache \
		*.egg-info
	find . -type d -name __pycache__ -prune -exec rm -rf {} +
