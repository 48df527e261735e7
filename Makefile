# The two commands of the README:
#   make demo   set everything up, start the local platform + pipeline, load the demo
#   make test   set everything up and run every check and test tier (what CI runs)
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bootstrap lint unit integration dashboard clean-state

bootstrap:
	@deploy/local/bootstrap.sh

demo: bootstrap
	@$(BIN)/topolog demo

lint: bootstrap
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: bootstrap
	$(BIN)/pytest tests/unit -q

integration: bootstrap
	$(BIN)/pytest tests/integration -q

test: lint
	$(BIN)/pytest -q

# Rebuild the dashboard's committed assets (gateway/static/dashboard) from dashboard/src.
dashboard:
	cd dashboard && npm ci && npm run build && npm run typecheck && npm test

clean-state:
	-$(BIN)/topolog dev down
	rm -rf .state
