# Leadhub developer commands. `make run` and `make test` set up everything they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SAM_VENV ?= .venv-sam
# sam build (no container) needs the function runtime's interpreter on PATH.
PY313_DIR := $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin))
# Pinned, so that `make validate` and `make build` give the same verdict on every machine and in CI.
SAM_CLI_VERSION := 1.170.0
CFN_LINT_VERSION := 1.58.0
SAM_INSTALLED := $(SAM_VENV)/.installed-sam-$(SAM_CLI_VERSION)-cfn-lint-$(CFN_LINT_VERSION)
# pip shows its progress on a terminal and keeps quiet in CI logs (errors still show). The test asks about
# stderr: inside $(...) stdout is the substitution's pipe.
PIP_INSTALL = -m pip install --disable-pip-version-check $$(test -t 2 || echo --quiet)

.PHONY: setup run test unit integration e2e lint format invoke bench validate build clean botocore-data browser node-deps screenshots

$(VENV)/.installed: requirements-dev.txt layers/common/requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing the local stack's and the tests' dependencies into $(VENV) (once; about a minute)"
	@$(PY) $(PIP_INSTALL) -r requirements-dev.txt
	@touch $@

setup: $(VENV)/.installed

# The browser tests (the dashboard's and the website widget's) drive Debian's Chromium through Playwright
# (browsers are not downloaded). When it is missing it is installed with apt-get if we are root on
# Debian/Ubuntu; otherwise this says how (and the browser tests skip, except in CI, where they fail).
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM
# The README's Node.js receiver runs as printed in the e2e tests: its one npm package (tests/node's lock),
# installed when Node.js is here (without it, the Node.js receivers' tests are skipped).
node-deps:
	@if command -v npm >/dev/null 2>&1; then \
		test -d tests/node/node_modules/standardwebhooks || \
			npm ci --prefix tests/node --no-audit --no-fund --loglevel=error; \
	fi

browser:
	@test -x "$(CHROMIUM)" || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Chromium for the browser tests: apt-get install chromium (once)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			echo "The browser tests need Chromium at $(CHROMIUM): sudo apt-get install chromium" \
				"(Debian; Ubuntu: chromium-browser), or CHROMIUM=/path/to/chromium make test"; \
		fi; }

## Start the local stack: HTTP API on 127.0.0.1:3000 (PORT overrides), emulator, queue/stream consumers.
run: setup
	@$(PY) -m local

## Run the whole test suite (unit, integration, e2e; the e2e tests include the browser's).
test: setup browser node-deps
	$(PY) -m pytest $(PYTEST_ARGS)

unit: setup
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

integration: setup
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

e2e: setup browser node-deps
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	@# The import contracts in pyproject.toml: capabilities downward, no circles, only adapters import adapters.
	PYTHONPATH=layers/common $(VENV)/bin/lint-imports --no-cache
	@# Strict types (pyproject.toml): the layer, then each function from its own folder, since every
	@# handler is a module named `app` and imports its folder's modules at top level.
	$(VENV)/bin/mypy
	@for fn in functions/*/; do echo "mypy $$fn"; MYPYPATH=$$fn $(VENV)/bin/mypy $$fn || exit 1; done
	@# Lambda runs python3.13: what it imports must compile there too (tests run on the venv's Python).
	PATH="$(PY313_DIR):$$PATH" python3.13 -m compileall -q -x '/(\.venv|\.aws-sam)' layers/common/leadhub functions

format: setup
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

## Invoke one function once with an event file, like `sam local invoke` (FUNCTION is optional for the
## files under events/: their directory names the function):
##   make invoke EVENT=events/lead_webhook/new-lead.json
invoke: setup
	@$(PY) -m local.invoke $(FUNCTION) $(EVENT)

## Regenerate the layer's botocore model bundle (after changing botocore's pin or the operations we call).
botocore-data: setup
	$(PY) -m tools.botocore_data

## The README's screenshots (docs/screenshots/*.png), from the dashboard's browser tests.
screenshots: setup browser
	LEADHUB_SCREENSHOTS=$(CURDIR)/docs/screenshots $(PY) -m pytest tests/e2e/test_dashboard*.py $(PYTEST_ARGS)

## Benchmarks (not part of `make test`); each prints JSON.
bench: setup
	$(PY) bench/cold_start.py
	$(PY) bench/ddb_requests.py
	$(PY) bench/ingest.py
	$(PY) bench/delivery_batch.py
	$(PY) bench/reply_latency.py
	$(PY) bench/dashboard_pages.py
	$(PY) bench/widget_latency.py

$(SAM_INSTALLED):
	@test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	@echo "Installing the SAM CLI $(SAM_CLI_VERSION) and cfn-lint $(CFN_LINT_VERSION) into $(SAM_VENV) (once; about a minute)"
	@$(SAM_VENV)/bin/python $(PIP_INSTALL) aws-sam-cli==$(SAM_CLI_VERSION) cfn-lint==$(CFN_LINT_VERSION)
	@touch $@

## cfn-lint and `sam validate --lint` (SAM CLI lives in its own venv: its pins fight the app's).
validate: $(SAM_INSTALLED)
	$(SAM_VENV)/bin/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint

LAYER_BUILD := .aws-sam/build/CommonLayer
build: $(SAM_INSTALLED)
	SAM_CLI_TELEMETRY=0 PATH="$(PY313_DIR):$$PATH" $(SAM_VENV)/bin/sam build
	@test -d $(LAYER_BUILD)/python/leadhub || { echo "$(LAYER_BUILD) has no leadhub package"; exit 1; }
	@test ! -e $(LAYER_BUILD)/python/botocore/data || { echo "the layer ships botocore/data"; exit 1; }
	@test -e $(LAYER_BUILD)/python/leadhub/__pycache__/__init__.cpython-313.pyc || { echo "the layer ships no python3.13 bytecode"; exit 1; }
	@$(PYTHON) -c 'import pathlib, sys; files = [f for f in pathlib.Path(sys.argv[1]).rglob("*") if f.is_file()]; \
		print(f"CommonLayer: {sum(f.stat().st_size for f in files) / 2**20:.1f} MiB unzipped, {len(files)} files")' $(LAYER_BUILD)

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .leadhub .pytest_cache .ruff_cache .mypy_cache
