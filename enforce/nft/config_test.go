package nft

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/acd-org/acd/cases"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		err  string
	}{
		{"empty table", func(c *Config) { c.Table = "" }, "table"},
		{"bad table", func(c *Config) { c.Table = "1acd" }, "table"},
		{"no hooks", func(c *Config) { c.Hooks = nil }, "hooks"},
		{"unknown hook", func(c *Config) { c.Hooks = []string{"output"} }, `"output" is neither`},
		{"hook twice", func(c *Config) { c.Hooks = []string{"input", "input"} }, "listed twice"},
		{"priority", func(c *Config) { c.Priority = 5000 }, "priority"},
		{"relative netns", func(c *Config) { c.NetNS = "netns/x" }, "netns"},
		{"negative slack", func(c *Config) { c.TimeoutSlack = -time.Second }, "timeout_slack"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
			if _, err := New(c, Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
}

// TestRefuse: actions the sets cannot express faithfully are refused
// before anything is sent to the kernel (the adapter here has no
// namespace it could open).
func TestRefuse(t *testing.T) {
	cfg := DefaultConfig()
	cfg.NetNS = "/nonexistent/netns"
	a, err := New(cfg, Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ok := cases.Action{Type: cases.ActionBlock, Target: cases.MustTarget("198.51.100.7"),
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour)}
	for _, tc := range []struct {
		name        string
		mod         func(*cases.Action)
		unsupported bool
		err         string
	}{
		{"flowspec", func(a *cases.Action) { a.Type = cases.ActionFlowSpec }, true, "only block"},
		{"protocol", func(a *cases.Action) { a.Scope.Protocol = 6 }, true, "protocol or ports"},
		{"ports", func(a *cases.Action) {
			a.Scope.Protocol = 17
			a.Scope.Ports = []cases.PortRange{{From: 53, To: 53}}
		}, true, "protocol or ports"},
		{"domain", func(a *cases.Action) { a.Target = cases.MustTarget("evil.example") }, true, "address or prefix"},
		{"ended", func(a *cases.Action) { a.NotAfter = now.Add(-time.Second) }, false, "outside its window"},
		{"not yet", func(a *cases.Action) { a.NotBefore = now.Add(time.Minute) }, false, "outside its window"},
		{"ok reaches the kernel", func(*cases.Action) {}, false, "unable to open network namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			act := ok.Clone()
			tc.mod(&act)
			c := cases.Case{ID: "case-1", Actions: []cases.Action{act}}
			err := a.Apply(context.Background(), c, act)
			if err == nil || !strings.Contains(err.Error(), tc.err) || errors.Is(err, ErrUnsupported) != tc.unsupported {
				t.Fatalf("error %v, want one containing %q (unsupported %t)", err, tc.err, tc.unsupported)
			}
		})
	}
}

func TestItemKey(t *testing.T) {
	now := time.Now()
	c := blockCase("case-1", now, time.Hour, "198.51.100.7", "203.0.113.0/24")
	copied := c.Actions[1].Clone()
	copied.NotAfter = copied.NotAfter.UTC() // same instant, another location
	other := c.Actions[0].Clone()
	other.Target = cases.MustTarget("192.0.2.1")
	for _, tc := range []struct {
		name string
		act  cases.Action
		want string
	}{
		{"same action", c.Actions[0], "case-1/0"},
		{"same instant", copied, "case-1/1"},
		{"not in the case", other, "case-1/192.0.2.1"},
	} {
		if got := itemKey(c, tc.act); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestConfigYAML(t *testing.T) {
	in := "table: fw\nhooks: [forward]\npriority: -5\nnetns: /run/netns/fw\ntimeout_slack: 90s\n"
	c := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(in))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	want := Config{Table: "fw", Hooks: []string{"forward"}, Priority: -5, NetNS: "/run/netns/fw", TimeoutSlack: 90 * time.Second}
	if diff := cmp.Diff(c, want); diff != "" {
		t.Errorf("(-got, +want):\n%s", diff)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}
