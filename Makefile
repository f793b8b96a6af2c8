# acd: the two set-up commands are `make demo` and `make test` (see README).
GO ?= go
export CGO_ENABLED ?= 1

.PHONY: all build demo test test-short peers vet fuzz bench

all: build

build:
	$(GO) build -o bin/acd ./cmd/acd

# Run the main job: acd serve on the embedded defaults (loopback) with
# generated NetFlow v5/v9, IPFIX and sFlow traffic, and a live count.
demo: build
	./scripts/demo.sh

# Run every test, the real-peer integration tests included. Installs the
# Debian packages the tests drive when they are missing. The tests the
# race detector cannot run — the detectors' quality gates (precision and
# recall on the evaluation suite; 10x slower under it) and the
# zero-allocation checks (it makes sync.Pool drop items) — skip under it
# and run in a second pass without it.
test: peers
	ACD_INTEGRATION=1 $(GO) test -race -timeout 25m ./...
	ACD_INTEGRATION=1 $(GO) test -count=1 -timeout 15m -run 'Quality|SteadyStateAllocs' ./...

# Unit tests only (integration tests skip with a message when peers are
# absent).
test-short:
	$(GO) test ./...

peers:
	./scripts/install-peers.sh

vet:
	$(GO) vet ./...
	gofmt -l . | (! grep .)

# A minute of fuzzing per decoder target.
fuzz:
	./scripts/fuzz.sh 60s

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./collect/... ./flow/... ./detect/...
