package bgp

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

func loadConfig(b []byte) (Config, error) {
	c := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// TestConfigFiles loads each testdata/config/*.yaml and compares the
// error (or "ok") with the .err file next to it (-update rewrites them).
func TestConfigFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/config/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no config files: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got := "ok\n"
			if _, err := loadConfig(b); err != nil {
				got = err.Error() + "\n"
			}
			golden(t, filepath.Join("config", name+".err"), got)
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	c := testConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults with the required fields: %v", err)
	}
	c = c.withDefaults()
	if n := c.Neighbors[0]; n.Port == 0 || len(n.Families) != 4 {
		t.Errorf("neighbor defaults %+v", n)
	}
	if err := DefaultConfig().Validate(); err == nil {
		t.Error("DefaultConfig validated without asn, router_id and neighbors")
	}
}

func TestConfigDefaultsFilled(t *testing.T) {
	b, err := os.ReadFile("testdata/config/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	c = c.withDefaults()
	got := []any{c.BlackholeNextHopV4.String(), c.BlackholeNextHopV6.String(), c.Neighbors[0].Port, c.Neighbors[1].Families, c.ListenPort}
	want := []any{"192.0.2.1", "100::1", uint16(179), Families(), uint16(0)}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("defaults (-got, +want):\n%s", diff)
	}
}

func TestParseCommunity(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint32
		err  bool
	}{
		{"65535:666", CommunityBlackhole, false},
		{"blackhole", CommunityBlackhole, false},
		{"NO-EXPORT", CommunityNoExport, false},
		{"65535:65281", CommunityNoExport, false},
		{"0:0", 0, false},
		{" 64512:100 ", 64512<<16 | 100, false},
		{"65536:1", 0, true},
		{"1:65536", 0, true},
		{"666", 0, true},
		{"a:b", 0, true},
		{"-1:5", 0, true},
		{"", 0, true},
	} {
		got, err := ParseCommunity(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseCommunity(%q) = %#x, %v; want %#x, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParseCommunity(f *testing.F) {
	for _, s := range []string{"65535:666", "blackhole", "no-export", "65000:1", "1:", ":1", "65536:0", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseCommunity(s)
		if err != nil {
			return
		}
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "blackhole", "no-export", "no-advertise", "no-peer":
			return
		}
		// A numeric community reads back from its canonical form.
		w, err := ParseCommunity(formatCommunity(v))
		if err != nil || w != v {
			t.Fatalf("%q → %#x → %q → %#x, %v", s, v, formatCommunity(v), w, err)
		}
	})
}
