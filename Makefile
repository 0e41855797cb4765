# Set-up from nothing: `make demo` builds and runs the demo observatory, `make test` runs
# every test. Both create .venv, install the package with its extras and any missing system
# packages, then do their job. Needs only python3 (>= 3.11), make and node/npm.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-data
DEMO_SIZE ?= medium
DEMO_DB ?= sqlite:///$(CURDIR)/$(DEMO_DIR)/observatory.db

.PHONY: setup demo test lint format typecheck check clean

setup: $(STAMP)

$(STAMP): pyproject.toml package.json package-lock.json scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

demo: $(STAMP)
	bash scripts/build-demo.sh $(DEMO_DIR) $(DEMO_SIZE) $(DEMO_DB) --serve

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadfile --cov --cov-report=term:skip-covered -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .coverage $(DEMO_DIR)
