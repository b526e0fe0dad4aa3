# sekisho: every target installs what it needs from the project's own files.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.12 is the Lambda runtime. A pyenv shim may exist without being active, so
# a candidate counts only if it actually runs; fall back to python3 (3.11+).
PYTHON ?= $(shell \
  for c in python3.12 "$$(pyenv prefix 3.12 2>/dev/null | head -n1)/bin/python3.12" \
           $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12 2>/dev/null) python3; do \
    if [ -n "$$c" ] && "$$c" -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1; then \
      command -v "$$c"; break; fi; done)
PYTHON_BIN := $(dir $(PYTHON))
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KINTONE_PORT ?= 9100

export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export AWS_DEFAULT_REGION ?= ap-northeast-1

.PHONY: help venv lint test kintone clean

help:
	@echo "make test     install into $(VENV), lint, and run every check"
	@echo "make kintone  run the local kintone emulator with demo data on 127.0.0.1:$(KINTONE_PORT)"

$(STAMP): requirements/dev.txt requirements/constraints.txt layers/sekisho/requirements.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "no Python 3.11+ found" >&2; exit 1; }
	@echo "using $(PYTHON) ($$($(PYTHON) --version))"
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
	  -c requirements/constraints.txt -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml

test: lint
	$(BIN)/python -m pytest

kintone: $(STAMP)
	$(BIN)/kintone-emulator --host 127.0.0.1 --port $(KINTONE_PORT)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build
