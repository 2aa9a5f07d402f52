# Ferry — the two commands that matter: `make demo` and `make test`. Both install what a fresh machine lacks.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
SWIFT ?= swift
DEMO_DIR ?= demo-out
# Tests and the demo talk only to 127.0.0.1: never let the credential chain fall back to the EC2 metadata address.
export AWS_EC2_METADATA_DISABLED := true

.PHONY: test demo bench deps test-deps build release clean plans

## System packages the build needs: zlib's headers (Debian: zlib1g-dev).
deps:
	@if [ ! -f /usr/include/zlib.h ]; then \
		echo "installing zlib1g-dev …"; \
		(apt-get update -qq && apt-get install -y -qq zlib1g-dev) >/dev/null || { echo "error: zlib1g-dev is missing and could not be installed (need root and Debian's package registry)"; exit 1; }; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "error: swift is not on PATH (Swift 6.x is required)"; exit 1; }
	@if ! python3 -c "import moto.server, flask" 2>/dev/null; then \
		echo "installing moto[server] (the local AWS emulator the integration tests and demo use) …"; \
		python3 -m pip install -q "moto[server]" || { echo "error: could not install moto[server] with pip"; exit 1; }; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## What only the tests need: a headless browser to render the run report in (Debian: chromium), a JSON Schema
## validator for the report's JSON (PyPI: jsonschema), and pytest for the export service's tests (PyPI: pytest).
test-deps:
	@if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then \
		echo "installing chromium (the report's test renders it in a headless browser) …"; \
		(apt-get update -qq && apt-get install -y -qq chromium) >/dev/null || { echo "error: chromium is missing and could not be installed (need root and Debian's package registry)"; exit 1; }; \
	fi
	@if ! python3 -c "import pytest" 2>/dev/null; then \
		echo "installing pytest (runs the export service's tests and ferry export / migrate against it) …"; \
		python3 -m pip install -q pytest || { echo "error: could not install pytest with pip"; exit 1; }; \
	fi
	@if ! python3 -c "import yaml" 2>/dev/null; then \
		echo "installing PyYAML (parses the Kubernetes manifest in deploy/) …"; \
		python3 -m pip install -q pyyaml || { echo "error: could not install PyYAML with pip"; exit 1; }; \
	fi
	@if ! python3 -c "import jsonschema" 2>/dev/null; then \
		echo "installing jsonschema (validates the report's JSON against docs/run-report.schema.json) …"; \
		python3 -m pip install -q jsonschema || { echo "error: could not install jsonschema with pip"; exit 1; }; \
	fi

## Every test. Prints the count as "N passed, N failed" at the end.
test: deps test-deps
	@mkdir -p .build
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build 2>&1 | tee .build/test.log
	@echo "== the local export service, ferry export / migrate against it, sharded apply with N worker processes, and the capacity simulator (pytest)"
	python3 -m pytest -q -p no:cacheprovider scripts/test_export_service.py scripts/test_ferry_export.py scripts/test_shards.py scripts/test_deploy.py bench/test_capsim.py 2>&1 | tee .build/pytest.log
	@passed=$$(grep -Eo 'Test run with [0-9]+ tests?' .build/test.log | tail -1 | grep -Eo '[0-9]+'); \
	 failed=$$(grep -Ec '^✘ Test .* failed' .build/test.log || true); \
	 py=$$(grep -Eo '[0-9]+ passed' .build/pytest.log | tail -1 | grep -Eo '[0-9]+'); \
	 echo "$$(( $${passed:-0} + $${py:-0} )) passed, $${failed} failed ($${passed:-0} Swift tests, $${py:-0} Python tests)"

## House style: swift-format with the repository's .swift-format (line length 120, as async-http-client).
.PHONY: format lint
format:
	$(SWIFT) format format --in-place --recursive --parallel --configuration .swift-format Sources Tests Package.swift
lint:
	$(SWIFT) format lint --recursive --parallel --configuration .swift-format Sources Tests Package.swift

## The main job end to end on the local default: a generated export chain, moto standing in for AWS (signatures and
## IAM enforced), ferry plan → apply → status, and a comparison of the tables with the expected states.
demo: release
	DEMO_DIR=$(DEMO_DIR) bash scripts/demo.sh

## Regenerates the documented example plans in plans/ from the demo chain (deterministic: same bytes every time).
plans: release
	@rm -rf $(DEMO_DIR) && .build/release/ferry-exportgen generate --out $(DEMO_DIR) --items 2000 --windows 6 --changes 300 > /dev/null
	.build/release/ferry plan --source $(DEMO_DIR)/exports --target-table orders --target-region eu-west-1 --source-region us-east-1 --write-percent 50 --out plans/region-migration.json > /dev/null
	.build/release/ferry plan --source $(DEMO_DIR)/exports --target-table orders-dr-rehearsal --target-region us-west-2 --until 2026-01-14T11:03:50.622Z --write-percent 90 --out plans/dr-rehearsal.json > /dev/null
	.build/release/ferry plan --source $(DEMO_DIR)/exports --target-table orders --target-region eu-west-1 --read-percent 20 --out plans/dry-run-diff.json > /dev/null

## Benchmarks: numbers only, no assertions, nothing changed outside .bench-data/ (see README's Benchmarks).
## `make bench` runs them all (about 25 minutes on 2 cores); each part has its own target.
LINES ?= 1000000
DIFF_ITEMS ?= 5000000
APPLY_ITEMS ?= 1000000
.PHONY: bench-read bench-diff bench-apply bench-accuracy bench-shards
bench: bench-read bench-apply bench-accuracy bench-diff bench-shards

bench-read: release
	.build/release/ferry-bench read --lines $(LINES)
	.build/release/ferry-bench read --lines $(LINES) --format ION

## SigV4's cost per BatchWriteItem-sized request, and of it the body's SHA-256.
.PHONY: bench-sign
bench-sign: release
	.build/release/ferry-bench sign

## ferry diff on a DIFF_ITEMS-item table (in-process Scan endpoint): wall, CPU, peak RSS.
bench-diff: release
	.build/release/ferry-bench diff --items $(DIFF_ITEMS)

## Throughput ceiling: APPLY_ITEMS items (~800 B) into the capacity simulator as a null sink, ferry vs boto3 batch_writer.
bench-apply: release deps
	ITEMS=$(APPLY_ITEMS) bash bench/throughput.sh

## Throttle accuracy: ferry apply against the simulator at 1,000/10,000 WCU, 50/90 %, with/without a GSI, on-demand, and
## mixed item sizes (0.3–3.5 KB) with a sparse GSI. BENCH_FERRY=PATH measures another ferry build (before/after).
bench-accuracy: release deps
	python3 bench/throttle_accuracy.py --seconds 30 --svg-dir .bench-data/accuracy-plots $(if $(BENCH_FERRY),--ferry $(BENCH_FERRY))

## Sharded apply: 1, 2 and 4 workers against the simulator (250 ms round trips) with a budget of 3 x one worker's ceiling:
## aggregate items/s, share of the budget, busiest second against it.
bench-shards: release deps
	python3 bench/shards.py $(if $(BENCH_FERRY),--ferry $(BENCH_FERRY))

clean:
	rm -rf .build $(DEMO_DIR)
