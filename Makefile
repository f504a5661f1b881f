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

.PHONY: help run test lint check fix build buf bench-consent bench-subject-requests bench-retention

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
	@# Every table is schema-qualified, so who touches whose tables is a grep.
	@! grep -rnP '\b(FROM|INTO|UPDATE|JOIN)\s+(?![a-z_]+\.)[a-z_]+\b(?!\()' services/*/src/store/ || { echo "qualify table names with the service's schema"; exit 1; }

bench-consent: ## Benchmark the processing check (release build; writes target/bench/consent-check.json)
	cargo build --release -p dps-consent -p dps-bench
	@mkdir -p $(BENCH_OUT)
	$(BENCH) consent-check --json $(BENCH_OUT)/consent-check.json $(BENCH_ARGS)

bench-subject-requests: ## Benchmark intake and the soonest-due list over 1,000,000 stored requests (release build)
	cargo build --release -p dps-subject-requests -p dps-bench
	@mkdir -p $(BENCH_OUT)
	$(BENCH) subject-requests --json $(BENCH_OUT)/subject-requests.json $(BENCH_ARGS)

bench-retention: ## Benchmark bulk registration, the sweep and re-dating over 1,000,000 records (release build)
	cargo build --release -p dps-retention -p dps-bench
	@mkdir -p $(BENCH_OUT)
	$(BENCH) retention --json $(BENCH_OUT)/retention.json $(BENCH_ARGS)

check: lint ## Alias of lint

fix: ## Format and apply clippy's suggestions
	cargo fmt --all
	cargo clippy --workspace --all-targets --fix --allow-dirty --allow-staged

$(BUF): package.json
	npm install --no-audit --no-fund
	@touch $(BUF)

buf: $(BUF) ## Install buf from npm
