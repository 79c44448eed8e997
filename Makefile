# Front door. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHARTS := charts/floe-platform charts/floe-jobs
TIERS ?= all
REPORTS ?= reports
WORKERS ?= 0
# The main job's cluster provider. kwok everywhere by default: floe-platform's upstream images (Dagster,
# Polaris, OTel) cannot be pulled on machines without a registry, and `make kind-conformance` runs the charts
# that can on real Kind. PROVIDER=auto uses Kind where its node image is built.
PROVIDER ?= kwok

.PHONY: help venv tools kind-images kind-conformance kind-test conformance test lint bench docs check-docs clean pss-parity

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/conformance: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

venv: $(BIN)/conformance ## Create .venv with the project, its CLI and dev tools
	@# bytecode for the editable install (nothing writes it when PYTHONDONTWRITEBYTECODE is set): ~0.1 s per start
	$(BIN)/python -m compileall -q conformance floe suites

tools: ## Build the pinned helm, helmrender, helm3, kubesec, kubesecscan, kubeconform, kube-score, kind, kwok, etcd and Kubernetes binaries into .tools/bin; fetch PSA test data
	tools/build.sh

kind-images: ## Kind node image + workload images into the local Docker engine, offline (starts dockerd if needed)
	kind/images/build.sh

KIND_CHARTS := fixtures/charts/compliant:cluster charts/floe-jobs:cluster,e2e
kind-conformance: venv tools kind-images ## The cluster tier on real Kind for the compliant fixture, cluster and e2e for floe-jobs (real dbt run)
	@rc=0; for spec in $(KIND_CHARTS); do c=$${spec%%:*}; \
	  $(BIN)/conformance check $$c --tier $${spec#*:} --provider kind --reports $(REPORTS)/kind/$$(basename $$c) || rc=$$?; \
	done; exit $$rc

kind-test: venv tools kind-images ## Real-Kind tests: compliant and floe-jobs pass, negative fixtures fail with the reason, Ctrl-C cleans up
	$(BIN)/python -m pytest kind/tests

conformance: venv tools ## Run the conformance tiers ($(TIERS)) on the bundled charts, then the release gate
	@rc=0; $(BIN)/conformance check $(CHARTS) --tier $(TIERS) --provider $(PROVIDER) --reports $(REPORTS) -n $(WORKERS) || rc=$$?; \
	gate=0; $(BIN)/conformance gate --reports $(REPORTS) --require planned || gate=$$?; \
	echo "conformance: HTML report: $(REPORTS)/report.html"; \
	case $$rc in 0|1) exit $$gate ;; *) exit $$rc ;; esac

test: venv tools ## Run the harness's own tests
	$(BIN)/python -m pytest tests -n 2 --dist loadgroup

lint: venv ## ruff and mypy --strict
	$(BIN)/ruff check conformance floe tests suites bench
	$(BIN)/mypy

pss-parity: venv ## Our PSS rules against every upstream pod-security-admission test case, 1.25 to the pin
	tools/build.sh pss
	$(BIN)/python tests/test_pss_parity.py

bench: venv tools ## SC-010 (floe helm generate time), render tier vs peer stack, render throughput (engine vs helm CLI)
	tools/build.sh helmrender kubeconform kube-score
	$(BIN)/python bench/generate_bench.py
	$(BIN)/python bench/render_bench.py

docs: venv ## Regenerate the charts' README values tables
	for c in $(CHARTS); do $(BIN)/conformance docs $$c; done

clean: ## Remove reports and caches (keeps .venv and .tools)
	rm -rf $(REPORTS) .pytest_cache .mypy_cache .ruff_cache
