# zshard — the two quick-start commands are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
RESULTS ?= results
SNAKEMAKE := $(BIN)/snakemake
# profiles/local or profiles/slurm (README, "Run on a cluster")
PROFILE ?= local
# The demo's smaller training search over config/config.yaml's real-data defaults (config/demo.yaml says why).
DEMO_CONFIG ?= --configfile config/demo.yaml

.PHONY: install demo plan test test-fast test-slurm lint dry-run report verify clean bench-partition bench-dag bench-photoz bench-deltaz bench-scale bench-mock-wz

# A stamp file: reinstall when the dependency pins change.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

# The workflow, then Snakemake's HTML report of it (every stage's figures and tables, by category).
demo: install
	@start=$$(date +%s); \
	$(SNAKEMAKE) --profile profiles/local --cores $(CORES) $(DEMO_CONFIG) --config results=$(RESULTS) && \
	$(SNAKEMAKE) --profile profiles/local --cores $(CORES) $(DEMO_CONFIG) --config results=$(RESULTS) \
		--report $(RESULTS)/report.html && \
	echo "" && echo "zshard demo finished in $$(( $$(date +%s) - start )) s." && \
	echo "Results: $(RESULTS)/   Summary: $(RESULTS)/summary/summary.md   Metrics: $(RESULTS)/summary/metrics.json" && \
	echo "" && sed -n '1,/^## Figures/p' $(RESULTS)/summary/summary.md && \
	echo "" && echo "Report (open it in a browser): $$(cd $(RESULTS) && pwd)/report.html"

test: install
	$(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not integration"

# The workflow on a real SLURM cluster started on this machine (root; installs slurm-wlm and munge).
test-slurm: install
	$(BIN)/pytest -m slurm

# ruff's linter over the Python ([tool.ruff] in pyproject.toml), then Snakemake's over the workflow.
lint: install
	$(BIN)/ruff check .
	$(SNAKEMAKE) --lint --cores 1

# The splits and the partition plan only: after it, `make dry-run` lists every per-shard job.
plan: install
	$(SNAKEMAKE) --profile profiles/$(PROFILE) --cores $(CORES) $(DEMO_CONFIG) --config results=$(RESULTS) --until partition_plan

dry-run: install
	$(SNAKEMAKE) -n --profile profiles/$(PROFILE) --cores $(CORES) $(DEMO_CONFIG) --config results=$(RESULTS)

report: install
	$(SNAKEMAKE) --profile profiles/local --cores $(CORES) $(DEMO_CONFIG) --config results=$(RESULTS) --report $(RESULTS)/report.html
	@echo "Report: $$(cd $(RESULTS) && pwd)/report.html"

# Products damaged on disk after the run (truncated, altered): checked against their manifests'
# checksums and row counts; each damaged file is named with how to regenerate it (zshard.verify).
verify: install
	$(BIN)/python -m zshard.verify $(RESULTS)

clean:
	rm -rf $(RESULTS) .snakemake

# Benchmarks (bench/README.md). hats-import is installed into its own venv, never into zshard's.
bench/out/peers-venv/.installed:
	$(PYTHON) -m venv bench/out/peers-venv
	bench/out/peers-venv/bin/python -m pip install --quiet "hats-import==0.11.1"
	touch $@

ROWS ?= 20000000
bench-partition: install bench/out/peers-venv/.installed
	$(BIN)/python bench/partition.py --rows $(ROWS)

bench-dag: install
	$(BIN)/python bench/dag_cost.py

# Photo-z quality on real data (../shared/data): zshard's trained model vs plain xgboost vs kNN.
# RAIL's FlexZBoost and KNN, the PDF peers of bench-photoz, also get a venv of their own.
bench/out/rail-venv/.installed:
	$(PYTHON) -m venv bench/out/rail-venv
	bench/out/rail-venv/bin/python -m pip install --quiet "pz-rail-flexzboost==2.0.3" "pz-rail-sklearn==2.0.3"
	touch $@

bench-photoz: install bench/out/rail-venv/.installed
	$(BIN)/python bench/photoz.py

# Δz per tomographic bin against the mock's truth, for 5 seeds no default was chosen on: the goals of issue 15.
SEEDS ?= 101 102 103 104 105
bench-deltaz: install
	$(BIN)/python bench/delta_z.py --seeds $(SEEDS) --cores $(CORES) --configfile config/demo.yaml

# The mock's w(θ) with and without satellites against the one-halo model, and WZ on both skies.
bench-mock-wz: install
	$(BIN)/python bench/mock_wz.py --seeds $(or $(MOCK_WZ_SEEDS),7 8)

# The whole workflow on a mock of N objects (files of 2.5M rows, 1M-row shards): cost per rule, per object
# and per byte, end-to-end time (goal: 1e8 in ≤ 30 min on 2 cores). SCALE_ARGS: more options of bench/scale.py.
N ?= 1000000
SCALE_ARGS ?=
bench-scale: install
	$(BIN)/python bench/scale.py --n $(N) --cores $(CORES) --configfile config/demo.yaml $(SCALE_ARGS)
