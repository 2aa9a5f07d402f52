# Ferry — the two commands that matter: `make demo` and `make test`. Both install what a fresh machine lacks.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
SWIFT ?= swift
DEMO_DIR ?= demo-out

.PHONY: test demo bench deps build release clean

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

## Every test. Prints the count as "N passed, N failed" at the end.
test: deps
	@mkdir -p .build
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build 2>&1 | tee .build/test.log
	@passed=$$(grep -Eo 'Test run with [0-9]+ tests?' .build/test.log | tail -1 | grep -Eo '[0-9]+'); \
	 failed=$$(grep -Ec '^✘ Test .* failed' .build/test.log || true); \
	 echo "$${passed:-0} passed, $${failed} failed"

## The story so far on the local default: generate a realistic export chain, read it back with Ferry's reader
## (checksums, counts, every record) and check each applied state against the expected one.
demo: release
	@rm -rf $(DEMO_DIR)
	@echo "== 1. Generate a chain: one FULL export and 6 INCREMENTAL windows, laid out as DynamoDB writes them to S3"
	.build/release/ferry-exportgen generate --out $(DEMO_DIR) --items 2000 --windows 6 --changes 300
	@echo
	@echo "== 2. What an export looks like"
	@find $(DEMO_DIR)/exports -maxdepth 4 | sort | head -20
	@echo
	@echo "== 3. Read every export back with Ferry's reader and apply the records in order"
	.build/release/ferry-exportgen check --chain $(DEMO_DIR)
	@echo
	@echo "== 4. The ferry CLI (plan/apply/diff/status are specified; they say so when not built yet)"
	.build/release/ferry --help
	@.build/release/ferry plan --source $(DEMO_DIR)/exports --target-table demo || echo "(exit $$?: expected until issue #4 lands)"

## Benchmarks: numbers only (see README). LINES=1000000 by default.
LINES ?= 1000000
bench: release
	.build/release/ferry-bench read --lines $(LINES)

clean:
	rm -rf .build $(DEMO_DIR)
