# Sluice: `make run` (a worker with the quickstart pipeline) and `make test`.
# Both install what they need first and are safe to run twice.

SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/sluice-target
TOOLS ?= $(HOME)/.cache/sluice-tools
TANSU := $(TOOLS)/bin/tansu
TANSU_VERSION := 0.6.0
DATA := data
BROKER_PORT ?= 9092
APT_PACKAGES := clang libclang-dev pkg-config libssl-dev openssl libcurl4-openssl-dev make gcc g++ curl mariadb-client python3-venv
SLUICE := $(CARGO_TARGET_DIR)/debug/sluice

.PHONY: all tools apt build run run-jdbc broker broker-stop test test-bounce test-api db-setup bench fuzz lint fmt clean

all: build

## Installs Debian packages (clang for RocksDB's bindings; psql and mariadb, the
## clients the JDBC tests drive their databases with) and the tansu broker.
tools: apt $(TANSU)

apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v psql >/dev/null || missing="$$missing postgresql-client"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(TANSU):
	@echo "installing the test broker tansu $(TANSU_VERSION) into $(TOOLS) (about 15 minutes on 2 cores, once)"
	cargo install tansu --version $(TANSU_VERSION) --locked --features dynostore,libsql --root $(TOOLS)

build: apt
	cargo build -p sluice-runtime --bin sluice

## Starts a broker on 127.0.0.1:$(BROKER_PORT) with SQLite storage under $(DATA)/.
broker: $(TANSU)
	@mkdir -p $(DATA)
	@if [ -f $(DATA)/tansu.pid ] && kill -0 $$(cat $(DATA)/tansu.pid) 2>/dev/null; then \
	  echo "broker already running (pid $$(cat $(DATA)/tansu.pid))"; \
	else \
	  env -u CLUSTER_ID -u STORAGE_ENGINE $(TANSU) broker \
	    --listener-url tcp://127.0.0.1:$(BROKER_PORT) --advertised-listener-url tcp://127.0.0.1:$(BROKER_PORT) \
	    --storage-engine sqlite:///$(abspath $(DATA))/tansu.db > $(DATA)/tansu.log 2>&1 & echo $$! > $(DATA)/tansu.pid; \
	  for i in $$(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$(BROKER_PORT)) 2>/dev/null && break; sleep 0.2; done; \
	  echo "broker started on 127.0.0.1:$(BROKER_PORT) (pid $$(cat $(DATA)/tansu.pid), log $(DATA)/tansu.log)"; \
	fi

broker-stop:
	@if [ -f $(DATA)/tansu.pid ]; then kill $$(cat $(DATA)/tansu.pid) 2>/dev/null || true; rm -f $(DATA)/tansu.pid; echo "broker stopped"; fi

## The main job: broker + a standalone worker running examples/quickstart.
run: tools build broker
	@mkdir -p $(DATA)/quickstart
	@touch $(DATA)/quickstart/input.txt
	@for i in 1 2 3; do echo "hello from make run, line $$i, $$(date -Is)" >> $(DATA)/quickstart/input.txt; done
	@echo
	@echo "Sluice quickstart: $(DATA)/quickstart/input.txt -> topic quickstart-lines (Avro, schema registry on :8081) -> $(DATA)/quickstart/output.txt"
	@echo "  add lines:        echo hello >> $(DATA)/quickstart/input.txt"
	@echo "  watch the sink:   tail -f $(DATA)/quickstart/output.txt   (flushed every 2 s)"
	@echo "  connector status: curl -s localhost:8083/connectors/quickstart-file-source/status"
	@echo "  value schema:     curl -s localhost:8081/subjects/quickstart-lines-value/versions/latest"
	@echo "  stop:             Ctrl-C (then 'make broker-stop')"
	@echo
	$(SLUICE) standalone examples/quickstart/worker.properties \
	  examples/quickstart/file-source.properties examples/quickstart/file-sink.json

## The JDBC example: PostgreSQL table orders -> topic pg-orders (Avro) ->
## MariaDB table orders, on the machine's PostgreSQL and MariaDB.
run-jdbc: tools build broker
	@mkdir -p $(DATA)/jdbc
	@psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'sluice_example'" | grep -q 1 \
	  || psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE sluice_example"
	@psql -h 127.0.0.1 -U postgres -d sluice_example -q -f examples/jdbc/setup.sql
	@mariadb -h 127.0.0.1 -u root -e "CREATE DATABASE IF NOT EXISTS sluice_example"
	@echo
	@echo "Sluice JDBC example: PostgreSQL sluice_example.orders -> topic pg-orders (Avro, registry on :8081) -> MariaDB sluice_example.orders"
	@echo "  add a row:     psql -h 127.0.0.1 -U postgres -d sluice_example -c \"INSERT INTO orders (customer, amount) VALUES ('new', 1.50)\""
	@echo "  update a row:  psql -h 127.0.0.1 -U postgres -d sluice_example -c \"UPDATE orders SET amount = 99, updated_at = now() WHERE id = 1\""
	@echo "  see MariaDB:   mariadb -h 127.0.0.1 -u root sluice_example -e 'SELECT * FROM orders'"
	@echo "  offsets:       curl -s localhost:8083/connectors/pg-orders-source/offsets"
	@echo "  stop:          Ctrl-C (then 'make broker-stop')"
	@echo
	$(SLUICE) standalone examples/jdbc/worker.properties \
	  examples/jdbc/pg-source.properties examples/jdbc/mariadb-sink.properties

## Benchmarks (release build; numbers are printed, never asserted). So far:
## converter cost per record, JsonConverter vs AvroConverter.
## Benchmarks (release build): micro benchmarks, then Sluice against minimal
## rdkafka reference programs on a tansu broker with memory storage; the table
## is printed and written to bench/results/.
bench: tools
	cargo build --release -p sluice-runtime -p sluice-bench --bins
	cargo run --release -p sluice-schema --example converter_cost
	cargo run --release -p sluice-transforms --example transform_cost
	TANSU=$(TANSU) SLUICE=$(CARGO_TARGET_DIR)/release/sluice $(CARGO_TARGET_DIR)/release/bench
	TANSU=$(TANSU) SLUICE=$(CARGO_TARGET_DIR)/release/sluice $(CARGO_TARGET_DIR)/release/jdbc_bench
	$(MAKE) db-setup
	$(CARGO_TARGET_DIR)/release/cdc_bench
	TANSU=$(TANSU) SLUICE=$(CARGO_TARGET_DIR)/release/sluice $(CARGO_TARGET_DIR)/release/messaging_bench

## All tests: unit tests and end-to-end tests against a real broker, then
## schemathesis against the REST API with authentication on.
test: tools db-setup
	cargo build -p sluice-runtime --bin sluice
	RUST_TEST_THREADS=$${RUST_TEST_THREADS:-2} cargo test --workspace
	TANSU=$(TANSU) TOOLS=$(TOOLS) scripts/api-fuzz.sh

# Schemathesis alone against /openapi.json of a worker with basic auth and
# roles on: no 5xx, no operation that ignores its authentication.
test-api: tools
	cargo build -p sluice-runtime --bin sluice
	TANSU=$(TANSU) TOOLS=$(TOOLS) scripts/api-fuzz.sh $${API_FUZZ_EXAMPLES:-50}

# Logical decoding for the CDC tests: wal_level=logical (ALTER SYSTEM and a
# restart with the machine's start command) when it is not on yet.
db-setup:
	@if [ "$$(psql -h 127.0.0.1 -U postgres -tAc 'SHOW wal_level')" != logical ]; then \
	  echo "PostgreSQL: setting wal_level = logical (ALTER SYSTEM) and restarting it for change data capture"; \
	  psql -h 127.0.0.1 -U postgres -qc "ALTER SYSTEM SET wal_level = logical" && \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main restart; \
	fi

# The distributed bounce test alone (clean and kill -9 restarts, counts
# and failover times over 10 kills; `make test` runs it with 2).
test-bounce: tools
	cargo build -p sluice-runtime --bin sluice
	SLUICE_BOUNCE_KILLS=$${SLUICE_BOUNCE_KILLS:-10} cargo test -p sluice-tests --test distributed clean_and_hard_bounces_lose_nothing -- --nocapture

## Fuzzing (issue 21): each cargo-fuzz target for FUZZ_SECONDS (default 60)
## from the seeds in fuzz/corpus; new inputs go to fuzz/work, crashes to
## fuzz/artifacts. Not part of `make test` (it builds everything again with
## coverage instrumentation, about 20 minutes the first time).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := properties placeholders jaas wire_formats rest_bodies
fuzz: apt
	@[ -x $(TOOLS)/bin/cargo-fuzz ] || cargo install cargo-fuzz --version 0.13.2 --locked --root $(TOOLS)
	@cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p work/$$t; \
	  echo "fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$(CARGO_TARGET_DIR)-fuzz PATH=$(TOOLS)/bin:$$PATH \
	    cargo fuzz run --sanitizer none $$t work/$$t corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 -timeout=10 || exit 1; \
	done

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

clean: broker-stop
	rm -rf $(DATA)
