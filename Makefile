# serverless-state: every target builds the virtual environments it needs.
# Python 3.11+, make and terraform >= 1.10 are assumed; nothing is installed outside this folder.

PYTHON  ?= python3
# plan and apply act on ENV (default dev); chaos and load run on a fresh twin unless ENV is given
ENV     ?= dev
DRIVER_ENV = $(if $(filter file,$(origin ENV)),twin,$(ENV))
VENV    := .venv
CHECKOV := .venv-checkov
PY      := $(VENV)/bin/python
BUILD   := build
PORT    ?= 3000
ENGINE  ?=
ENVS    ?=
PIP_QUIET := --quiet --disable-pip-version-check
# pytest-xdist workers for make test; tests/conftest.py keeps each of its groups on one worker
TEST_WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help venv checkov-venv test unit lint fmt validate tftest demo bench chaos load idle-cost build plan apply policy twin twin-environments clean docs docs-serve docs-site openapi

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml constraints.txt local_twin/iam_simulate/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_QUIET) -c constraints.txt -e '.[dev]'
	# The twin's IAM evaluator (local_twin/iam.py): @cloud-copilot/iam-simulate, pinned by its lockfile.
	@if command -v npm >/dev/null; then npm ci --silent --prefix local_twin/iam_simulate; \
	else echo "WARNING: no npm on PATH: the twin will not evaluate IAM; install Node.js, then npm ci --prefix local_twin/iam_simulate"; fi
	touch $@

# checkov pins an old boto3, so it never shares an environment with the app.
$(CHECKOV)/.installed: tools/requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV)
	$(CHECKOV)/bin/python -m pip install $(PIP_QUIET) -r tools/requirements-checkov.txt
	touch $@

venv: $(VENV)/.installed
checkov-venv: $(CHECKOV)/.installed

test: venv checkov-venv ## The whole suite: unit, twin (applied by terraform), validate, terraform test, example applies, checkov
	CHECKOV="$(CURDIR)/$(CHECKOV)/bin/checkov" $(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

unit: venv ## Only the tests that need no server
	$(PY) -m pytest tests/unit

lint: venv ## ruff
	$(PY) -m ruff check .
	$(PY) -m ruff format --check lambda_src local_twin drivers tests tools

fmt: venv ## Format Python and Terraform
	$(PY) -m ruff format lambda_src local_twin drivers tests tools
	terraform fmt -recursive modules terraform environments tests

validate: venv ## terraform init -backend=false + validate of every module, example, the stack and each environment
	$(PY) -m tools.tfrun validate

tftest: venv ## terraform test (mock providers) for every module and the root stack
	$(PY) -m tools.tfrun test

demo: venv ## The whole shop on the local twin; writes build/demo/summary.json
	$(PY) -m drivers demo --build-dir $(BUILD)

bench: venv ## Latency and throughput on the twin; writes build/bench/results.json
	$(PY) -m drivers bench --build-dir $(BUILD)

chaos: venv ## Fault experiments (drivers/chaos/) and their invariants: ENV=twin (default, a fresh twin) or ENV=staging (FIS); writes build/chaos/results.json
	$(PY) -m drivers chaos --build-dir $(BUILD) --env $(DRIVER_ENV)

load: venv ## Locust with the shop's mix: ENV=twin (default, a fresh twin) or dev|staging|prod (SigV4, your credentials); writes build/load/
	$(PY) -m drivers load --env $(DRIVER_ENV) --build-dir $(BUILD) $(if $(PROFILE),--profile $(PROFILE)) $(if $(USERS),--users $(USERS)) $(if $(PROCESSES),--processes $(PROCESSES)) $(if $(USER_RPS),--user-rps $(USER_RPS)) $(if $(SHARES),--shares $(SHARES)) $(if $(ORDER_PATHS),--order-paths $(ORDER_PATHS))

idle-cost: venv ## Each environment's idle monthly cost, resource by resource, from its plan against an empty twin: build/idle-cost/
	$(PY) -m drivers idle-cost --build-dir $(BUILD)

twin: venv ## Run the local twin and the shop's HTTP API on 127.0.0.1:$(PORT) until Ctrl-C (ENGINE=durable: the saga on checkout-durable)
	$(PY) -m local_twin serve --build-dir $(BUILD) --port $(PORT) $(if $(ENGINE),--checkout-engine $(ENGINE))

twin-environments: venv ## Apply dev, staging and prod, each as it is, into one fresh twin with every rule in force (no account)
	$(PY) -m local_twin apply-environments --build-dir $(BUILD) $(ENVS)

openapi: venv ## The HTTP API's OpenAPI document, generated from the handlers: build/openapi.json
	$(PY) -m tools.openapi --out $(BUILD)/openapi.json

build: venv ## Function zip and dependencies layer under build/
	$(PY) -m tools.build --out $(BUILD)

docs-serve: venv ## The documentation site (docs/, the README as home, every module README) on 127.0.0.1:8000
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs serve --dev-addr 127.0.0.1:8000

docs-site: venv ## Build the documentation site strictly into build/site (make test does it too)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir $(BUILD)/site

docs: venv ## Regenerate the inputs/outputs tables in every module README
	$(PY) -m tools.tfdocs --write

policy: checkov-venv ## checkov over modules/ and every environment root
	$(PY) -m tools.policy --checkov $(CHECKOV)/bin/checkov

plan: build ## terraform plan for ENV (dev/staging/prod: AWS credentials; twin: the local twin, no account)
	$(if $(filter twin,$(ENV)),$(PY) -m local_twin plan --build-dir $(BUILD),$(PY) -m tools.deploy plan $(ENV))

apply: build ## terraform apply for ENV (needs terraform and AWS credentials)
	$(PY) -m tools.deploy apply $(ENV)

clean: ## Remove build output and virtual environments
	rm -rf $(BUILD) $(VENV) $(CHECKOV) .pytest_cache .ruff_cache
