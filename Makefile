# playpipe developer tasks. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

help: ## List the tasks
	@grep -hE '^[a-z][a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "playpipe needs Python 3.11 or newer"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) ## Create .venv, install playpipe with dev extras, fetch the Kafka jars (idempotent)
	$(BIN)/playpipe kafka fetch

demo: setup ## Set up, then run the whole pipeline with simulated viewers (Ctrl-C stops)
	$(BIN)/playpipe demo

test: setup test-web test-dashboard test-cmcd-deps ## Run the whole suite (starts and stops its own Kafka)
	$(BIN)/pytest -m "not slow"

test-web: ## The web SDK: typecheck, unit tests, real-browser tests, bundle sizes
	cd sdk/web && npm ci --no-audit --no-fund && npm run check

test-cmcd-deps: ## The real-client browser tests' npm packages (hls.js, dash.js, mux-embed, Snowplow, EPAS SDK, playwright-core)
	cd tests/browser/cmcd && npm ci --no-audit --no-fund

test-dashboard: ## The dashboard: typecheck, committed bundle up to date, browser-test deps
	cd src/playpipe/dashboard/web && npm ci --no-audit --no-fund && npm run check

test-unit: setup ## Unit tests only (no Kafka)
	$(BIN)/pytest tests/unit

soak: setup ## Long soaks and stress runs, kept out of the default suite
	$(BIN)/pytest -m slow

lint: setup ## ruff (lint + format check) and mypy strict on the package
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: setup ## Format the code with ruff
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: setup ## Run the benchmarks (prints figures; see docs/benchmarks.md)
	@for b in bench/*/run.sh; do [ -x "$$b" ] && "$$b" || true; done

stop: ## Stop the local Kafka started by `make demo`
	-$(BIN)/playpipe kafka stop

clean: stop ## Remove the venv and local data
	rm -rf $(VENV) .playpipe .pytest_cache .mypy_cache .ruff_cache

.PHONY: help setup demo test test-web test-dashboard test-cmcd-deps test-unit soak lint format bench stop clean
