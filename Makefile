# Two commands: `make run` sets everything up and serves; `make test` sets everything up and tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# GraphiQL's browser bundles, from the npm packages pinned in graphiql/package-lock.json.
GRAPHIQL_ASSETS := service/graphiql/static/vendor/versions.json

.PHONY: install run test lint typecheck schema bench clean conformance

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,embedded]"
	touch $(STAMP)

$(GRAPHIQL_ASSETS): graphiql/package.json graphiql/package-lock.json graphiql/copy-assets.mjs
	@command -v npm >/dev/null || { echo "GraphiQL's assets need Node.js and npm: apt-get install nodejs npm" >&2; exit 1; }
	cd graphiql && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	node graphiql/copy-assets.mjs

install: $(STAMP) $(GRAPHIQL_ASSETS)

run: install
	$(BIN)/safe-future serve

# The GraphQL-over-HTTP audit (npm graphql-http, pinned in its lockfile) runs from pytest.
CONFORMANCE := tests/conformance
$(CONFORMANCE)/node_modules/.installed: $(CONFORMANCE)/package-lock.json
	cd $(CONFORMANCE) && npm ci --no-audit --no-fund --silent
	touch $@

conformance: $(CONFORMANCE)/node_modules/.installed

test: install conformance lint typecheck
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check service tests migrations bench
	$(BIN)/ruff format --check service tests migrations bench
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy service

schema: install
	$(BIN)/safe-future export-schema

# The benchmark suite (docs/performance.md): `make bench`, or e.g. `make bench BENCH_ARGS=--quick`.
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf .data/test-pg graphiql/node_modules service/graphiql/static/vendor
