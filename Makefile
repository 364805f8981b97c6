# Two commands on a fresh machine with Python 3.11+ and make:
#   make demo   — the whole pipeline on its embedded default, with sample calls
#   make test   — the whole test suite (embedded services unless HOTLINE_* names real ones)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo demo-once test unit lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
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
	rm -rf $(VENV) .hotline .pytest_cache .mypy_cache .ruff_cache
