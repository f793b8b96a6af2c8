// Package gate holds what the detectors' quality gates share: they run
// whole scenarios, too slow under -race or -short (make test runs them).
package gate

import "testing"

// Quality skips t under -race or -short.
func Quality(t testing.TB) {
	t.Helper()
	if raceEnabled {
		t.Skip("quality gate runs without -race: make test runs it")
	}
	if testing.Short() {
		t.Skip("quality gate skipped in -short mode")
	}
}
