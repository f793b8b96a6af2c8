# acd: the two set-up commands are `make demo` and `make test` (see README).
GO ?= go
export CGO_ENABLED ?= 1

.PHONY: all build demo test test-short peers vet fuzz bench

all: build

build:
	$(GO) build -o bin/acd ./cmd/acd

# Run the main job: acd and an allied partner on loopback, demo users,
# live attack traffic, a case waiting for the commission; the console's
# URL and the users' passwords are printed (see README, acd demo --help).
demo: build
	./bin/acd demo

# Run every test, the real-peer integration tests included. Installs the
# Debian packages the tests drive when they are missing. The tests the
# race detector cannot run — the detectors' quality gates (precision and
# recall on the evaluation suite; 10x slower under it) and the
# zero-allocation checks (it makes sync.Pool drop items) — skip under it
# and run in a second pass without it.
test: peers
	ACD_INTEGRATION=1 $(GO) test -race -timeout 25m ./...
	ACD_INTEGRATION=1 $(GO) test -count=1 -timeout 15m -run 'Quality|SteadyStateAllocs' ./...

# Unit tests only: -short skips the long end-to-end tests (the browser
# test, the demo, the enforcement loop); integration tests skip with a
# message when their peers are absent.
test-short:
	$(GO) test -short ./...

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
