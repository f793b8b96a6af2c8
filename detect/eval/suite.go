package eval

import (
	"context"
	"fmt"

	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/flowgen/scenario"
)

// Lookup returns the default suite's scenario called name.
func Lookup(name string) (scenario.Config, error) {
	for _, c := range scenario.DefaultSuite() {
		if c.Name == name {
			return c, nil
		}
	}
	return scenario.Config{}, fmt.Errorf("no scenario %q in the default suite", name)
}

// Fataler is the part of testing.TB that the helpers below use.
type Fataler interface {
	Helper()
	Fatal(args ...any)
}

// Scenario is Lookup for a test or benchmark: an unknown name fails t.
func Scenario(t Fataler, name string) scenario.Config {
	t.Helper()
	c, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ScreenedFor is Screened for a test or benchmark: an error fails t.
func ScreenedFor(t Fataler, cfg scenario.Config, keep func(r *flow.Record) bool, max int) []flow.Record {
	t.Helper()
	recs, err := Screened(context.Background(), cfg, keep, max)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
