# Zhikong: `make run` serves the demo county, `make test` runs the whole suite, `make messages` refreshes the catalogs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASSETS := webui/static/build/.built
CATALOGS := $(patsubst %.po,%.mo,$(wildcard webui/translations/*/LC_MESSAGES/messages.po))

.PHONY: install run test lint bench messages

$(STAMP): setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python >= 3.11 is required" if sys.version_info < (3, 11) else 0)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

$(ASSETS): webui/package.json webui/package-lock.json webui/build.mjs $(wildcard webui/frontend/*.js) $(wildcard webui/frontend/*/*)
	@command -v npm >/dev/null || { echo "Node.js >= 18 with npm is required for the front-end packages"; exit 1; }
	npm ci --prefix webui --no-audit --no-fund --loglevel=error
	npm run --prefix webui --silent build
	touch $(ASSETS)

$(CATALOGS): %.mo: %.po $(STAMP)
	$(BIN)/pybabel -q compile -i $< -o $@

install: $(STAMP) $(ASSETS) $(CATALOGS)

run: install
	$(BIN)/zhikong init-db
	$(BIN)/zhikong deploy bpmn
	$(BIN)/zhikong deploy bpmn --process coordination_item
	$(BIN)/zhikong deploy bpmn --process assessment_scoring
	$(BIN)/zhikong demo
	$(BIN)/zhikong serve

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check engine webui zhikong bench tests
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/floor.py
	$(BIN)/python bench/instructions.py
	$(BIN)/python bench/timers.py
	$(BIN)/python bench/inbox.py

messages: $(STAMP)
	$(BIN)/pybabel -q extract -F webui/babel.cfg --no-location --sort-output --no-wrap -o webui/translations/messages.pot .
	$(BIN)/pybabel -q update -i webui/translations/messages.pot -d webui/translations --no-wrap
	rm webui/translations/messages.pot
