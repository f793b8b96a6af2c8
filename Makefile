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
# Debian packages the tests drive when they are missing. The detectors'
# quality gates (precision and recall on the evaluation suite) run in a
# second pass without the race detector, which would make them 10x slower.
test: peers
	ACD_INTEGRATION=1 $(GO) test -race -timeout 25m ./...
	ACD_INTEGRATION=1 $(GO) test -count=1 -timeout 15m -run 'Quality' ./detect/...

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
