# zshard — the two quick-start commands are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
RESULTS ?= results
SNAKEMAKE := $(BIN)/snakemake

.PHONY: install demo test test-fast lint dry-run report clean

# A stamp file: reinstall when the dependency pins change.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

demo: install
	@start=$$(date +%s); \
	$(SNAKEMAKE) --cores $(CORES) --config results=$(RESULTS) && \
	echo "" && echo "zshard demo finished in $$(( $$(date +%s) - start )) s." && \
	echo "Results: $(RESULTS)/   Summary: $(RESULTS)/summary/summary.md   Metrics: $(RESULTS)/summary/metrics.json" && \
	echo "" && sed -n '1,/^## Figures/p' $(RESULTS)/summary/summary.md

test: install
	$(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not integration"

lint: install
	$(SNAKEMAKE) --lint --cores 1

dry-run: install
	$(SNAKEMAKE) -n --cores $(CORES)

report: install
	$(SNAKEMAKE) --cores $(CORES) --report $(RESULTS)/report.html

clean:
	rm -rf $(RESULTS) .snakemake
