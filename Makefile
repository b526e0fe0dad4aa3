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
SEKISHO_PORT ?= 3000
SEKISHO_TLS_PORT ?= 3443
MOTO_PORT ?= 5000
# aws-sam-cli pins its own tree (boto3, cfn-lint...), so it lives in a venv of its own.
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed
# checkov pins its own tree too (boto3, packaging, networkx...): a venv of its own as well.
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
export SAM_CLI_TELEMETRY := 0

export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export AWS_DEFAULT_REGION ?= ap-northeast-1

.PHONY: help venv lint lint-template scan-template typecheck check chromium openapi test bench burst burst-seats burst-actions chaos build dev queues webhooks mail metrics probe stage rotate send switch kintone docs clean

help:
	@echo "make dev      run the bundle locally: API and demo page on http://127.0.0.1:$(SEKISHO_PORT)"
	@echo "             and over mutual TLS on https://127.0.0.1:$(SEKISHO_TLS_PORT) (test CA in build/devstack/pki)"
	@echo "make test     install into $(VENV), lint, and run every check"
	@echo "make scan-template  checkov's security checks on template.yaml (each skip says why)"
	@echo "make typecheck  mypy, strict, on the layer (part of make test)"
	@echo "make burst    a burst of form submissions through busy, then down, kintone (figures)"
	@echo "make burst-seats  10,000 submissions for 100 seats through a kintone in maintenance (figures)"
	@echo "make burst-actions  webhook events through a kintone in maintenance, applied once (figures)"
	@echo "make chaos    2 minutes of mixed load through kintone resets, maintenance, Secrets Manager"
	@echo "             down, a rotation and a killed worker: nothing lost or doubled (figures)"
	@echo "make build    sekisho check, bundle the policy into the layer, sam build (no container)"
	@echo "make openapi  write openapi.json, the HTTP contract, from the code and policy.yaml"
	@echo "make bench    cold starts, first responses vs bare relays, memory, the layer, the local stack (figures)"
	@echo "make queues   counts of the local queues; dead letters by receipt"
	@echo "make webhooks the verified webhook events waiting on the local WebhookQueue"
	@echo "make mail     with make dev running: the mail it sent (moto's SES), newest last"
	@echo "make metrics  with make dev running: the metrics its functions wrote (EMF), added up"
	@echo "make probe    with make dev running: every kintone token's permissions, as declared?"
	@echo "make stage    with make dev running: stage SECRET=<name>'s next value, read from stdin"
	@echo "make rotate   with make dev running: rotate SECRET=<name> now (the four steps)"
	@echo "make kintone  run the local kintone emulator with demo data on 127.0.0.1:$(KINTONE_PORT)"
	@echo "make send     with make dev running: SOURCE=<webhook source> [ARGS=...], a signed demo delivery"
	@echo "make switch   with make dev running: ROUTE=<views|forms|webhooks/name> STATE=off|on, or list"
	@echo "make docs     build the docs site (docs/, mkdocs --strict) into build/site"

# The pinned tree, then the project's two distributions, editable and without their
# dependencies (the tree has them): sekisho (layers/sekisho, what the layer ships) and
# sekisho-devtools (local/: the emulator, the local stack, the webhook senders).
$(STAMP): requirements/dev.txt requirements/constraints.txt layers/sekisho/requirements.txt pyproject.toml \
  layers/sekisho/pyproject.toml local/pyproject.toml
	@test -n "$(PYTHON)" || { echo "no Python 3.11+ found" >&2; exit 1; }
	@echo "using $(PYTHON) ($$($(PYTHON) --version))"
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
	  -c requirements/constraints.txt -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps \
	  -e layers/sekisho -e local
	touch $@

venv: $(STAMP)

$(SAM_STAMP): requirements/sam.txt requirements/sam-constraints.txt
	@test -n "$(PYTHON)" || { echo "no Python 3.11+ found" >&2; exit 1; }
	rm -rf $(SAM_VENV)
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	  -c requirements/sam-constraints.txt -r requirements/sam.txt
	touch $@

$(CHECKOV_STAMP): requirements/checkov.txt requirements/checkov-constraints.txt
	@test -n "$(PYTHON)" || { echo "no Python 3.11+ found" >&2; exit 1; }
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	  -c requirements/checkov-constraints.txt -r requirements/checkov.txt
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# `sam validate` runs the SAM transform (cfn-lint 1.x no longer does); --lint runs
# cfn-lint through SAM. Neither calls AWS.
lint-template: $(STAMP) $(SAM_STAMP)
	$(SAM) validate --template template.yaml --region $(AWS_DEFAULT_REGION)
	$(SAM) validate --lint --template template.yaml --region $(AWS_DEFAULT_REGION)
	$(BIN)/cfn-lint template.yaml

# checkov's CloudFormation checks, offline (--skip-download: no Prisma Cloud). A finding
# fails the target; a check that does not apply is skipped on its resource in template.yaml
# (Metadata: checkov: skip: with the reason), never here on the command line.
scan-template: $(CHECKOV_STAMP)
	$(CHECKOV) --file template.yaml --framework cloudformation --quiet --compact \
	  --skip-download

# The layer, strictly: pyproject.toml's [tool.mypy] names the files and the settings.
typecheck: $(STAMP)
	$(BIN)/mypy

# A warning (not an error) when openapi.json is no longer what policy.yaml generates.
check: $(STAMP)
	$(BIN)/sekisho check policy.yaml --openapi openapi.json
	@mkdir -p build
	$(BIN)/sekisho explain policy.yaml > build/explain.md
	@echo "wrote build/explain.md (what policy.yaml exposes, route by route)"

# The browser tests drive Debian's chromium package: Playwright's own browser download is
# not reachable from here. apt-get installs it when it is missing (as root, as on CI), with
# a Japanese font so the pages' screenshots show their text; where it cannot, the browser
# tests say so and are skipped (and fail under CI).
chromium:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="chromium"; \
	if command -v dpkg >/dev/null 2>&1 && ! dpkg -s fonts-ipafont-gothic >/dev/null 2>&1; then \
	  missing="$$missing fonts-ipafont-gothic"; fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's$$missing for the browser tests"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -qq --no-install-recommends $$missing >/dev/null 2>&1 || \
	      { apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; } || \
	      echo "could not install$$missing" >&2; \
	  else \
	    echo "missing$$missing, and it cannot be installed here (needs apt-get as root)" >&2; \
	  fi; \
	fi
	@command -v chromium >/dev/null 2>&1 && echo "browser: $$(chromium --version 2>/dev/null)" || true

# The contract: every route of every view, form and webhook source of policy.yaml, from
# the same models the relay validates with. A test fails when openapi.json drifts.
openapi: $(STAMP)
	$(BIN)/sekisho openapi policy.yaml --output openapi.json

test: lint lint-template scan-template typecheck check chromium docs
	$(BIN)/python -m pytest

# Each part prints its figures and records them; the last step prints them all, each beside
# its goal, so the table holds one run's figures.
bench: $(STAMP)
	$(BIN)/python -m tests.bench.figures --reset
	$(BIN)/python -m tests.bench.cold_init
	$(BIN)/python -m tests.bench.bench_lookup
	$(BIN)/python -m tests.bench.load
	$(BIN)/python -m tests.bench.bench_sessions
	$(BIN)/python -m tests.bench.first_response
	@echo
	$(BIN)/python -m tests.bench.figures

# N submissions (default 10,000) through the local stack while kintone is capped at 10
# concurrent requests, takes 100 ms a request, refuses 5 % with 429 and is in maintenance
# for 60 s; the drain after maintenance is set beside the cap's minimum for the backlog.
BURST_N ?= 10000
burst: $(STAMP)
	$(BIN)/python -m tests.bench.burst -n $(BURST_N)

# N signed Stripe events (default 500, every tenth delivered twice) through the local stack
# while kintone is capped at 10 concurrent requests, refuses 5 % with 429 and is in
# maintenance for 60 s; ActionFunction must apply each exactly once afterwards.
# N submissions (default 10,000) for a form of 100 seats while kintone refuses 5 % with 429
# and is in maintenance for 60 s: exactly 100 records, none oversold or lost, the rest
# refused with capacity_full, and the seat counter equal to kintone afterwards.
SEATS_N ?= 10000
burst-seats: $(STAMP)
	$(BIN)/python -m tests.bench.burst_seats -n $(SEATS_N)

ACTIONS_N ?= 500
burst-actions: $(STAMP)
	$(BIN)/python -m tests.bench.action_burst -n $(ACTIONS_N)

# CHAOS_SECONDS (default 120) of lookups, submissions and webhooks on the local stack while
# kintone loses 5 % of its answers (resets, timeouts) and is in maintenance for half the
# run, Secrets Manager is unreachable for another half, every generated secret is rotated
# and a worker is killed mid-request (tests/bench/chaos_faults.py has the schedule,
# docs/benchmarks.md how to read the figures). Exits 1 when a goal is missed.
CHAOS_SECONDS ?= 120
chaos: $(STAMP)
	$(BIN)/python -m tests.bench.chaos --seconds $(CHAOS_SECONDS)

# No container: sam build needs python3.12 first on PATH and fetches arm64 wheels from PyPI.
# The policy is checked and its reviewed snapshot (with its SHA-256) written into the layer,
# next to a copy of policy.yaml (build artefacts, gitignored); functions start from the
# snapshot. The layer is then compiled: /opt is read-only in Lambda, so a module shipped
# without its .pyc would be compiled again at every cold start.
build: $(STAMP) $(SAM_STAMP)
	@PATH="$(PYTHON_BIN):$$PATH" python3.12 -c 'import sys' 2>/dev/null || \
	  { echo "sam build needs python3.12 (the Lambda runtime) on PATH or under pyenv" >&2; exit 1; }
	$(BIN)/sekisho check policy.yaml --snapshot layers/sekisho/sekisho
	cp policy.yaml layers/sekisho/sekisho/policy.yaml
	PATH="$(PYTHON_BIN):$$PATH" $(SAM) build --template template.yaml
	PATH="$(PYTHON_BIN):$$PATH" python3.12 -m compileall -q -f --invalidation-mode unchecked-hash \
	  .aws-sam/build/SekishoLayer/python .aws-sam/build/SignaturesLayer/python

# The whole bundle on this machine: moto (Secrets Manager, DynamoDB, SQS, S3), the
# kintone emulator, the routes of template.yaml served by a local API Gateway, and
# IntakeQueue pumped into DeliverFunction like Lambda's event source mapping.
dev: $(STAMP)
	$(BIN)/python -m devstack --port $(SEKISHO_PORT) --tls-port $(SEKISHO_TLS_PORT) \
	  --moto-port $(MOTO_PORT) --kintone-port $(KINTONE_PORT)

queues: $(STAMP)
	$(BIN)/python -m devstack queues --moto-port $(MOTO_PORT)

webhooks: $(STAMP)
	$(BIN)/python -m devstack webhooks --moto-port $(MOTO_PORT)

mail: $(STAMP)
	$(BIN)/python -m devstack mail --moto-port $(MOTO_PORT)

# What the functions of a running `make dev` would have sent CloudWatch: every EMF line its
# workers printed since it started, added up per metric and dimensions.
metrics: $(STAMP)
	$(BIN)/python -m devstack metrics

# Operator commands against a running `make dev` (from another terminal): sekisho's own
# commands (and `python -m devstack rotate`, which plays Secrets Manager's part), pointed
# at moto and the emulator by `python -m devstack env` (addresses, the policy and moto's
# fake credentials; never a secret value). SECRET is taken from the
# command line only: a variable of that name in the environment could hold a secret,
# and it would be repeated in an error message.
DEVSTACK_ENV = $(BIN)/python -m devstack env --moto-port $(MOTO_PORT) --kintone-port $(KINTONE_PORT)
define secret_from_command_line
	@test "$(origin SECRET)" = "command line" || \
	  { echo "usage: make $@ SECRET=<secret name>" >&2; exit 2; }
endef

probe: $(STAMP)
	@lines="$$($(DEVSTACK_ENV))" && eval "$$lines" && $(BIN)/sekisho probe

stage: $(STAMP)
	$(secret_from_command_line)
	@lines="$$($(DEVSTACK_ENV))" && eval "$$lines" && \
	  $(BIN)/sekisho token stage '$(SECRET)' $(if $(FIELD),--field '$(FIELD)')

rotate: $(STAMP)
	$(secret_from_command_line)
	@lines="$$($(DEVSTACK_ENV))" && eval "$$lines" && $(BIN)/python -m devstack rotate '$(SECRET)'

kintone: $(STAMP)
	$(BIN)/kintone-emulator --host 127.0.0.1 --port $(KINTONE_PORT)

# With `make dev` running: a delivery of SOURCE signed with its local secret (`python -m
# devstack send`; ARGS passes its options on: --event-id, --stripe, --receipt, --age...),
# and the kill switch of a route (`python -m devstack switch`; neither ROUTE nor STATE: list
# the routes switched off). Both on the ports every other target uses.
send: $(STAMP)
	@test -n "$(SOURCE)" || \
	  { echo "usage: make send SOURCE=<webhook source> [ARGS='--event-id demo-1 ...']" >&2; exit 2; }
	$(BIN)/python -m devstack send '$(SOURCE)' $(ARGS) --port $(SEKISHO_PORT) --moto-port $(MOTO_PORT)

switch: $(STAMP)
	@test -z "$(if $(ROUTE),$(if $(STATE),,x),$(STATE))" || \
	  { echo "usage: make switch ROUTE=<views|forms|webhooks>/<name> STATE=off|on (or neither)" >&2; exit 2; }
	$(BIN)/python -m devstack switch $(if $(STATE),'$(STATE)' '$(ROUTE)') --moto-port $(MOTO_PORT)

# The docs site: docs/ through mkdocs-material. --strict turns every warning into a failure,
# and mkdocs.yml's validation makes a broken link, anchor or nav entry a warning.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir build/site

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam .pytest_cache .ruff_cache .mypy_cache .hypothesis \
	  layers/sekisho/sekisho/policy.yaml
