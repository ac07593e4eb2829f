# Zhikong: `make run` serves the demo county, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench

$(STAMP): setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python >= 3.11 is required" if sys.version_info < (3, 11) else 0)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/zhikong init-db
	$(BIN)/zhikong deploy bpmn
	$(BIN)/zhikong demo
	$(BIN)/zhikong serve

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/engine.py
