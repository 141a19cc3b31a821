# switchyard's build entry points: the plugins (wasm32-wasip2 components),
# the daemon, the checks CI runs, a demo and the plugin cost benchmark.
#
#   make setup     install what is missing (wasm32-wasip2 target, redis-server,
#                  chromium for the console's test, python3-venv: the tests make
#                  their Python venv in target/venv)
#   make plugins   build every plugin and fixture into target/plugins/NAME.wasm
#   make build     the daemon, dev profile (make release: release profile)
#   make screenshot  docs/console.png, the console as the README shows it
#   make test      setup, fmt, then the plugins and every test built under clippy's
#                  lints, then every test (the differential test against
#                  slivka among them: tests/slivka.rs)
#   make demo      the daemon on an embedded Redis, routing the sample jobs
#   make demo-try  the sample jobs through the plugins alone (switchyard try)
#   make bench     what a plugin call costs, then `switchyard-bench` (router vs Redis limit)
#   make fuzz      each fuzzer (tests/fuzz.rs) for FUZZ_SECONDS (default 600)
#   make chaos     1M jobs through three daemons killed again and again, Redis
#                  killed -9, out of memory and stalled, router and config swaps;
#                  then the exactly-once audit; then 100k jobs behind Sentinel
#                  and 100k on a Redis Cluster, through graceful and forced
#                  failovers

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo

WASM_TARGET := wasm32-wasip2
# Where cargo leaves the components, and where tests and the demo find them.
WASM_OUT := target/$(WASM_TARGET)/plugin
PLUGIN_DIR := target/plugins

# Fixture crates are discovered, so a new fixture is built without editing
# this file: the package name is the first `name = "..."` of its Cargo.toml.
FIXTURE_CRATES := $(foreach manifest,$(sort $(wildcard tests/fixtures/plugins/*/Cargo.toml)),\
	$(shell sed -n 's/^name *= *"\([^"]*\)".*/\1/p' $(manifest) | head -n 1))
PLUGIN_CRATES := slivka-form fasta-size $(strip $(FIXTURE_CRATES))

.PHONY: all plugins build release test demo demo-try setup bench chaos fuzz screenshot

all: build plugins

# A library crate's component is NAME_WITH_UNDERSCORES.wasm; a binary crate's
# (the WASI-command fixture) keeps its hyphens.
plugins:
	$(CARGO) build --profile plugin --target $(WASM_TARGET) $(addprefix -p ,$(PLUGIN_CRATES))
	mkdir -p $(PLUGIN_DIR)
	for crate in $(PLUGIN_CRATES); do \
		lib="$(WASM_OUT)/$${crate//-/_}.wasm"; bin="$(WASM_OUT)/$$crate.wasm"; \
		if [ -f "$$lib" ]; then src="$$lib"; elif [ -f "$$bin" ]; then src="$$bin"; \
		else echo "make plugins: no component built for $$crate" >&2; exit 1; fi; \
		cp "$$src" "$(PLUGIN_DIR)/$$crate.wasm"; \
	done
	@echo "plugins in $(PLUGIN_DIR): $(PLUGIN_CRATES)"

build:
	$(CARGO) build

release:
	$(CARGO) build --release

# Clippy runs twice: natively over the whole workspace (host, SDK, plugins,
# with their unit tests), and for wasm32-wasip2 over the plugin crates, the
# target they ship for.
# `make test` lints while it builds: clippy's driver compiles the
# workspace's own crates (what `cargo clippy` does, with its arguments in
# CLIPPY_ARGS), so each dependency is compiled once, for the tests, instead
# of once more for clippy's check. Every target is linted: the plugins as
# they are built for wasm32-wasip2, then natively with their unit tests,
# the daemon, its tests and the benches (--all-targets).
LINT := RUSTC_WORKSPACE_WRAPPER=clippy-driver CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__

test: setup
	$(CARGO) fmt --all --check
	$(LINT) $(MAKE) --no-print-directory plugins
	$(LINT) $(CARGO) test --workspace --all-targets --no-run
	$(LINT) $(CARGO) test --workspace

# demo.sh runs target/release/switchyard.
demo: setup plugins release
	examples/slivka/demo.sh

# The console's test renders the page; this keeps its screenshot.
screenshot: setup plugins
	CONSOLE_SCREENSHOT=$(CURDIR)/docs/console.png $(CARGO) test -p switchyard --test integration \
		console::the_console_shows_jobs_per_target

demo-try: plugins build
	examples/slivka/demo-try.sh

setup:
	if ! rustup target list --installed | grep -qx '$(WASM_TARGET)'; then \
		rustup target add $(WASM_TARGET); \
	fi
	if ! command -v redis-server >/dev/null; then \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server; \
	fi
	if ! command -v chromium >/dev/null; then \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	fi
	probe=$$(mktemp -d); \
	if ! python3 -m venv "$$probe/venv" >/dev/null 2>&1; then \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv; \
	fi; \
	rm -rf "$$probe"

# The benchmarks live in their own crate, bench/: switchyard-bench starts
# daemons from the target/release/switchyard built beside it.
bench: plugins release
	$(CARGO) bench -p switchyard-bench --bench plugin_cost
	$(CARGO) build --release -p switchyard-bench
	target/release/switchyard-bench --hostile-every 1000 --replica-acks 1

# The full chaos run; `make test` runs the same test with 6,000 jobs.
CHAOS_JOBS ?= 1000000
CHAOS_RATE ?= 4000
CHAOS_FAILOVER_JOBS ?= 100000
chaos: plugins
	CHAOS_JOBS=$(CHAOS_JOBS) CHAOS_RATE=$(CHAOS_RATE) CHAOS_FAILOVER_JOBS=$(CHAOS_FAILOVER_JOBS) \
		$(CARGO) test -p switchyard --test integration chaos:: -- --nocapture --test-threads 1

# The fuzzers, each for FUZZ_SECONDS; `make test` runs a few hundred cases.
FUZZ_SECONDS ?= 600
fuzz: plugins
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(CARGO) test -p switchyard --test integration fuzz:: -- --nocapture --test-threads 1
