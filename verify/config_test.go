package verify

import (
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/conf"
)

func TestDefaultConfigValidates(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if got := DefaultConfig().ringMinutes(); got != 15 {
		t.Errorf("ring of %d minutes with the defaults, want 15 (5+5 window, 2 grace, 1 lateness, 2 slack)", got)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		want  string // error substrings, "|"-separated; "" for none
		check func(t *testing.T, c Config)
	}{
		{name: "empty keeps the defaults", yaml: "", check: func(t *testing.T, c Config) {
			if c != DefaultConfig() {
				t.Errorf("%+v, want the defaults", c)
			}
		}},
		{name: "all keys", yaml: "window: 10m\ngrace: 30s\nreduction: 0.5\nmin_before_flows: 3\nmax_watches: 5\n" +
			"lateness: 2m\nidle_advance: 1s\nmax_future: 1m\ninterval: 1s\n", check: func(t *testing.T, c Config) {
			want := Config{Window: 10 * time.Minute, Grace: 30 * time.Second, Reduction: 0.5, MinBeforeFlows: 3, MaxWatches: 5,
				Lateness: 2 * time.Minute, IdleAdvance: time.Second, MaxFuture: time.Minute, Interval: time.Second}
			if c != want {
				t.Errorf("%+v, want %+v", c, want)
			}
		}},
		{name: "window not whole minutes", yaml: "window: 90s", want: "verify.window: 1m30s must be whole minutes"},
		{name: "window too long", yaml: "window: 2h", want: "verify.window"},
		{name: "reduction out of range", yaml: "reduction: 1.5\nmin_before_flows: 0",
			want: "verify.reduction: 1.5 must be in (0, 1]|verify.min_before_flows: 0 must be at least 1"},
		{name: "negative grace and no watches", yaml: "grace: -1s\nmax_watches: 0",
			want: "verify.grace|verify.max_watches: 0"},
		{name: "zero periods", yaml: "idle_advance: 0s\nmax_future: 0s\ninterval: 0s\nlateness: -1m",
			want: "verify.idle_advance|verify.max_future|verify.interval|verify.lateness"},
		{name: "unknown key", yaml: "windows: 5m", want: "unknown configuration keys: windows (line 1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			err := conf.Load([]byte(tc.yaml), &c)
			if err == nil {
				err = c.Validate()
			}
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, c)
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range strings.Split(tc.want, "|") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if _, nerr := New(c, Deps{}); nerr == nil && !strings.Contains(tc.want, "unknown") {
				t.Error("New accepted the bad configuration")
			}
		})
	}
}
