package conf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type inner struct {
	Listen  []string      `yaml:"listen"`
	Workers int           `yaml:"workers"`
	TTL     time.Duration `yaml:"ttl"`
}

type testConfig struct {
	Name     string            `yaml:"name"`
	Inner    inner             `yaml:"inner"`
	Override map[string]uint32 `yaml:"override"`
	List     []inner           `yaml:"list"`
}

func defaults() testConfig {
	return testConfig{Name: "acd", Inner: inner{Listen: []string{":2055"}, Workers: 1, TTL: time.Minute}}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    testConfig
		wantErr string
	}{
		{name: "empty keeps defaults", yaml: "", want: defaults()},
		{name: "null document keeps defaults", yaml: "---\n", want: defaults()},
		{name: "partial", yaml: "inner:\n  workers: 4\n", want: func() testConfig {
			c := defaults()
			c.Inner.Workers = 4
			return c
		}()},
		{name: "duration and list", yaml: "inner:\n  ttl: 90s\n  listen: [\"a\", \"b\"]\n", want: func() testConfig {
			c := defaults()
			c.Inner.TTL = 90 * time.Second
			c.Inner.Listen = []string{"a", "b"}
			return c
		}()},
		{name: "map values", yaml: "override:\n  192.0.2.1: 100\n", want: func() testConfig {
			c := defaults()
			c.Override = map[string]uint32{"192.0.2.1": 100}
			return c
		}()},
		{name: "every unknown key listed", yaml: "nmae: x\ninner:\n  wrokers: 3\n  listen: [a]\nlist:\n  - ttl: 1s\n    bogus: 1\n",
			wantErr: "unknown configuration keys: nmae (line 1), inner.wrokers (line 3), list[0].bogus (line 7)"},
		{name: "type error", yaml: "inner:\n  workers: many\n", wantErr: "cannot unmarshal"},
		{name: "syntax error", yaml: "inner: [\n", wantErr: "unable to parse YAML"},
		{name: "two documents", yaml: "name: a\n---\nname: b\n", wantErr: "more than one document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := defaults()
			err := Load([]byte(tt.yaml), &got)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load() error = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("Load() (-got, +want):\n%s", diff)
			}
		})
	}
}

func TestUnknownKeysErrorType(t *testing.T) {
	c := defaults()
	err := Load([]byte("x: 1\ny: 2\n"), &c)
	var uk *UnknownKeysError
	if !errors.As(err, &uk) || len(uk.Keys) != 2 {
		t.Fatalf("got %v, want UnknownKeysError with 2 keys", err)
	}
}

func TestApplyEnv(t *testing.T) {
	c := defaults()
	applied, unmatched, err := ApplyEnv(&c, "ACD_", []string{
		"ACD_INNER_WORKERS=8",
		"ACD_INNER_LISTEN=[\"127.0.0.1:1\", \"127.0.0.1:2\"]",
		"ACD_INNER_TTL=5s",
		"ACD_NAME=hello: world",
		"ACD_INTEGRATION=1",
		"PATH=/bin",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := defaults()
	want.Name = "hello: world"
	want.Inner.Workers = 8
	want.Inner.TTL = 5 * time.Second
	want.Inner.Listen = []string{"127.0.0.1:1", "127.0.0.1:2"}
	if diff := cmp.Diff(c, want); diff != "" {
		t.Errorf("ApplyEnv() (-got, +want):\n%s", diff)
	}
	if len(applied) != 4 {
		t.Errorf("applied = %v, want 4", applied)
	}
	if diff := cmp.Diff(unmatched, []string{"ACD_INTEGRATION"}); diff != "" {
		t.Errorf("unmatched (-got, +want):\n%s", diff)
	}
	_, _, err = ApplyEnv(&c, "ACD_", []string{"ACD_INNER_WORKERS=lots"})
	if err == nil || !strings.Contains(err.Error(), "ACD_INNER_WORKERS") {
		t.Errorf("bad value error = %v, want naming the variable", err)
	}
}

func TestBadFiles(t *testing.T) {
	// Each testdata/bad/*.yaml is paired with a .err file holding a
	// substring of the expected error.
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/bad/*.yaml")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".err")
			if err != nil {
				t.Fatal(err)
			}
			c := defaults()
			err = Load(data, &c)
			if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(string(want))) {
				t.Errorf("Load(%s) error = %v, want containing %q", f, err, strings.TrimSpace(string(want)))
			}
		})
	}
}
