# LoFi — one-command set-up, tests, benchmarks and the reproducible pipeline.
# Every target creates .venv and installs the project first if needed; the install
# step re-runs only when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORES  ?= 8
# extra pytest arguments of `make test`, e.g. PYTEST_ARGS='-m "slow or not slow"' (CI: every test, one session)
PYTEST_ARGS ?=
MLFLOW_PORT ?= 5000
ROOT   ?= .
DVC    := $(BIN)/dvc
export DVC_NO_ANALYTICS := 1
# What DVC versions under $(ROOT) (those that exist): raw sessions, data sets, the trained person
# detector, each run's model.pt (its best checkpoint's weights) and CSI-BERT's csibert_recovery.pt
DVC_TRACKED = $(wildcard $(ROOT)/data/raw $(ROOT)/data/processed $(ROOT)/data/detector \
                         $(ROOT)/results/runs/*/model.pt $(ROOT)/results/runs/*/csibert_recovery.pt)

export YOLO_OFFLINE := 1
export MLFLOW_DISABLE_TELEMETRY := true

.DEFAULT_GOAL := help
.PHONY: help install test test-full lint format bench reproduce reproduce-quick reproduce-smoke mlflow-ui screenshots data-push data-pull clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP) ## Create .venv (if absent) and install the project with dev tools

test: $(STAMP) ## Lint (ruff) and run the test suite (the smoke pipeline end to end included)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/pytest -q $(PYTEST_ARGS)

test-full: $(STAMP) ## Run every test, the slow end-to-end ones included
	$(BIN)/pytest -q -m "slow or not slow"

lint: $(STAMP) ## ruff check + format check
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff format src tests benchmarks

bench: $(STAMP) ## Run the benchmarks and print measured figures
	$(BIN)/python benchmarks/bench_cli.py
	$(BIN)/python benchmarks/bench_csi_read.py
	$(BIN)/python benchmarks/bench_simulate.py
	$(BIN)/python benchmarks/bench_labels.py
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_train.py

reproduce: $(STAMP) ## Run the whole pipeline to results/table2.md (snakemake --cores $(CORES))
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --cores $(CORES)

reproduce-quick: $(STAMP) ## The quick scale (about 20 min on 2 cores) to scales/quick/results/
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --cores $(CORES) --configfile conf/pipeline/quick.yaml

reproduce-smoke: $(STAMP) ## The smoke scale (a few minutes) to scales/smoke/results/
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --cores $(CORES) --configfile conf/pipeline/smoke.yaml

mlflow-ui: $(STAMP) ## Serve the MLflow dashboard of mlflow.db on 127.0.0.1 (port 5000, or MLFLOW_PORT=...)
	$(BIN)/lofi mlflow-ui --port $(MLFLOW_PORT)

screenshots: $(STAMP) ## README images of the MLflow dashboard (needs Debian's chromium; not a test)
	$(BIN)/python docs/screenshots.py

data-push: $(STAMP) ## Version ROOT's data and models with DVC (default ROOT=.) and push them to the remote
	$(DVC) add $(DVC_TRACKED)
	$(DVC) push
	@echo "now commit the pointers: git add $(addsuffix .dvc,$(DVC_TRACKED)) && git commit"

data-pull: $(STAMP) ## Fetch ROOT's versioned data and models (PULL_FLAGS=--force replaces local edits)
	$(DVC) pull $(PULL_FLAGS) -R $(wildcard $(ROOT)/data $(ROOT)/results/runs)

clean: ## Remove caches (keeps .venv and data)
	rm -rf .pytest_cache .ruff_cache .snakemake/log
