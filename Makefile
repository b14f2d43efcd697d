# LunaSentri: the two commands are `make run` and `make test`.
# Everything a fresh clone needs is installed by these targets (npm packages, and on
# Debian the Chromium and shellcheck packages the tests drive).

CARGO    ?= cargo
NPM      ?= npm
FRONTEND := frontend
HUB      := target/debug/lunasentri-hub
AGENT    := target/debug/lunasentri-agent

.PHONY: run test build ui ui-deps test-deps rust-test lint frontend-test e2e compose-check openapi bench bench-agent bench-alerts bench-pg-volume bench-retention clean-data help

help:
	@echo "make run      build and start the hub with the dashboard and this host as a machine"
	@echo "make test     install test dependencies, lint, and run every test"
	@echo "make bench    release hub vs loadgen at several scales -> docs/benchmarks.md"
	@echo "make bench-agent   agent footprint next to node_exporter and collectd"
	@echo "make bench-alerts  what alert rules cost the hub -> docs/benchmarks.md"
	@echo "make bench-pg-volume  PostgreSQL raw table at volume: index sizes, retention per machine vs by time"
	@echo "make bench-retention  live latency while retention deletes a day of history -> docs/benchmarks.md"
	@echo "make openapi  regenerate docs/api/openapi.json and the dashboard's types"

## The product ---------------------------------------------------------------------

run: ui build
	LUNASENTRI_LOG_LEVEL=$${LUNASENTRI_LOG_LEVEL:-info} $(HUB) --local-host-metrics --ui-dir $(FRONTEND)/dist

build:
	$(CARGO) build -p lunasentri-hub -p lunasentri-agent

ui-deps:
	@if [ ! -d $(FRONTEND)/node_modules ] || [ $(FRONTEND)/package-lock.json -nt $(FRONTEND)/node_modules/.package-lock.json ]; then \
		cd $(FRONTEND) && $(NPM) ci --no-audit --no-fund; fi

# Rebuilds the dashboard when any of its sources is newer than the last build.
ui: ui-deps
	@if [ ! -f $(FRONTEND)/dist/index.html ] || [ -n "$$(find $(FRONTEND)/src $(FRONTEND)/index.html $(FRONTEND)/package.json -newer $(FRONTEND)/dist/index.html -print -quit)" ]; then \
		cd $(FRONTEND) && $(NPM) run build; fi

## Tests ---------------------------------------------------------------------------

test: test-deps lint
	@scripts/run-tests.sh

test-deps: ui-deps
	@scripts/test-deps.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

rust-test:
	$(CARGO) test --workspace

frontend-test: ui-deps
	cd $(FRONTEND) && $(NPM) run check:types && $(NPM) test

e2e: ui build
	cd $(FRONTEND) && E2E_SKIP_BUILD=1 $(NPM) run test:e2e

# docker-compose.yml and the deployment scripts, checked without building or starting anything.
compose-check:
	@scripts/compose-check.sh

openapi:
	$(CARGO) run -q -p lunasentri-hub -- --print-openapi > docs/api/openapi.json
	cd $(FRONTEND) && $(NPM) run gen:types

## Measurements --------------------------------------------------------------------

bench:
	scripts/bench.sh

bench-agent:
	scripts/bench-agent.sh

bench-alerts:
	scripts/bench-alerts.sh

bench-pg-volume:
	scripts/bench-pg-volume.sh

bench-retention:
	scripts/bench-retention.sh

clean-data:
	rm -rf data
