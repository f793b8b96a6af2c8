package space

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const sample = "testdata/delegated-apnic-extended-sample.txt"

// jpSample is the JP space of the sample file, converted by hand.
var jpSample = []string{
	"1.0.16.0/20",
	"1.0.64.0/18",
	"1.33.0.0/16",
	"14.0.8.0/22",
	"27.110.0.0/21", "27.110.8.0/22", // 3072 addresses
	"36.2.0.0/15",
	"43.224.12.0/23", "43.224.14.0/24", // 768
	"49.212.0.0/16",
	"58.0.0.0/14", "58.4.0.0/16", // 327680
	"103.2.200.0/22",
	"103.3.0.0/22", "103.3.4.0/24", // 1280
	"133.0.0.0/8",
	"202.32.0.0/16",
	"202.248.0.0/21",                      // two adjacent /22 records
	"203.0.112.96/27", "203.0.112.128/25", // 160 from a non-aligned start
	"2001:200::/35",
	"2001:240::/32",
	"2001:df0:2e8::/48",
	"2400:2000::/20",
	"2400:4000::/22",
	"2404:1a8::/32",
}

func TestLoadSample(t *testing.T) {
	set, err := Load(Config{Countries: []string{"jp"}, Delegated: []string{sample}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(set.Prefixes(), pfxs(t, jpSample...), cmpPrefix); diff != "" {
		t.Errorf("prefixes (-got, +want):\n%s", diff)
	}
	st := set.Stats()
	want := Stats{
		PrefixesV4: 20, PrefixesV6: 6, RangesV4: 15, RangesV6: 6,
		AddressesV4: 1<<12 + 1<<14 + 1<<16 + 1<<10 + 3072 + 1<<17 + 768 + 1<<16 + 5<<16 + 1024 + 1280 + 1<<24 + 1<<16 + 2048 + 160,
		Slash48sV6:  1<<13 + 1<<16 + 1 + 1<<28 + 1<<26 + 1<<16,
		Files: []FileStats{{
			Path: sample, Lines: 57, Records: 51, Used: 22, Skipped: 29,
			OtherCountry: 19, NotDelegated: 4, ASN: 6, HeaderRecords: 51, SummaryRecords: 51,
		}},
	}
	if diff := cmp.Diff(st, want); diff != "" {
		t.Errorf("stats (-got, +want):\n%s", diff)
	}
}

func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad files: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want, err := os.ReadFile(strings.TrimSuffix(path, ".txt") + ".err")
			if err != nil {
				t.Fatal(err)
			}
			set, err := Load(Config{Countries: []string{"JP"}, Delegated: []string{sample, path}})
			if err == nil {
				t.Fatalf("Load succeeded with %d prefixes, want error %q", len(set.Prefixes()), want)
			}
			if set != nil {
				t.Errorf("Load returned a set along with error %v", err)
			}
			if w := strings.TrimSpace(string(want)); !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not contain %q", err, w)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load(Config{Countries: []string{"JP"}, Delegated: []string{"testdata/no-such-file"}})
	if err == nil || !strings.Contains(err.Error(), "testdata/no-such-file") {
		t.Errorf("error %v does not name the file", err)
	}
}

// writeFile writes data to a file in a test directory and returns its path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestVariants(t *testing.T) {
	raw, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	want := pfxs(t, jpSample...)
	tests := []struct {
		name string
		data []byte
	}{
		{"gzip", gzipped(t, raw)},
		{"crlf", bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))},
		{"no final newline", bytes.TrimRight(raw, "\n")},
		{"blank lines and comments", bytes.ReplaceAll(raw, []byte("\napnic|KR|"), []byte("\n\n# korea\n  \napnic|KR|"))},
		{"lower-case codes, upper-case status", bytes.ReplaceAll(bytes.ReplaceAll(raw,
			[]byte("|JP|"), []byte("|jp|")), []byte("|allocated|"), []byte("|ALLOCATED|"))},
		{"no opaque id (non-extended file)", stripOpaque(raw)},
		{"extra extension fields", bytes.ReplaceAll(raw, []byte("|A92D9378\n"), []byte("|A92D9378|e-stat|x\n"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "delegated-apnic-extended-latest", tt.data)
			set, err := Load(Config{Countries: []string{"JP"}, Delegated: []string{path}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(set.Prefixes(), want, cmpPrefix); diff != "" {
				t.Errorf("prefixes (-got, +want):\n%s", diff)
			}
		})
	}
}

// stripOpaque drops the 8th field of records, giving the plain
// delegated-<rir>-latest form.
func stripOpaque(raw []byte) []byte {
	lines := strings.Split(string(raw), "\n")
	for i, l := range lines {
		if f := strings.Split(l, "|"); len(f) == 8 {
			lines[i] = strings.Join(f[:7], "|")
		}
	}
	return []byte(strings.Join(lines, "\n"))
}

func TestTruncatedGzip(t *testing.T) {
	raw, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	z := gzipped(t, raw)
	path := writeFile(t, "delegated.gz", z[:len(z)*2/3])
	if _, err := Load(Config{Countries: []string{"JP"}, Delegated: []string{path}}); err == nil {
		t.Fatal("truncated gzip file loaded")
	} else if !strings.Contains(err.Error(), path) {
		t.Errorf("error %v does not name the file", err)
	}
}

func TestCountries(t *testing.T) {
	tests := []struct {
		name      string
		countries []string
		extra     string
		want      []string
	}{
		{"AU", []string{"AU"}, "", []string{"1.0.0.0/24", "1.0.4.0/22", "14.0.12.0/22", "101.0.32.0/19", "203.0.0.0/20", "2001:388::/32"}},
		{"KR and au", []string{"KR", "au"}, "", []string{
			"1.0.0.0/24", "1.0.4.0/22", "1.11.0.0/16", "1.16.0.0/13", "14.0.12.0/22", "58.120.0.0/13",
			"101.0.32.0/19", "203.0.0.0/20", "2001:220::/32", "2001:388::/32", "2406:5800::/32"}},
		{"reserved JP record is not JP's", []string{"JP"}, "apnic|JP|ipv4|192.0.2.0|256|20200101|reserved|\n", jpSample},
		{"available JP record is not JP's", []string{"JP"}, "apnic|JP|ipv6|2001:db8::|32||available|\n", jpSample},
		{"assigned /128", []string{"JP"}, "apnic|JP|ipv6|2001:db8::1|128|20200101|assigned|X\n",
			append(append(jpSample[:20:20], "2001:200::/35", "2001:240::/32", "2001:db8::1/128"), jpSample[22:]...)},
	}
	raw, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := raw
			if tt.extra != "" {
				data = bytes.Replace(raw, []byte("|51|"), []byte("|52|"), 1)
				data = append(data, tt.extra...)
			}
			path := writeFile(t, "delegated", data)
			set, err := Load(Config{Countries: tt.countries, Delegated: []string{path}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(set.Prefixes(), pfxs(t, tt.want...), cmpPrefix); diff != "" {
				t.Errorf("prefixes (-got, +want):\n%s", diff)
			}
		})
	}
}

// FuzzParse feeds arbitrary files to the parser: it must not panic, and
// what it accepts must be consistent.
func FuzzParse(f *testing.F) {
	raw, err := os.ReadFile(sample)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add(bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n")))
	f.Add(gzipped(f, raw[:400]))
	bad, _ := filepath.Glob("testdata/bad/*.txt")
	for _, path := range bad {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	countries := map[string]bool{"JP": true, "KR": true}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, v4, v6, err := parseDelegated(bytes.NewReader(data), "fuzz", countries)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz:") && !strings.Contains(err.Error(), "fuzz") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if st.Used != len(v4)+len(v6) || st.Used+st.Skipped != st.Records ||
			st.Skipped != st.OtherCountry+st.NotDelegated+st.ASN || st.Records < st.HeaderRecords {
			t.Fatalf("inconsistent stats %+v with %d+%d spans", st, len(v4), len(v6))
		}
		for _, s := range v4 {
			if s.hi.less(s.lo) || s.hi.hi != 0 || s.hi.lo > 0xffffffff {
				t.Fatalf("bad v4 span %+v", s)
			}
		}
		for _, s := range v6 {
			if s.hi.less(s.lo) {
				t.Fatalf("bad v6 span %+v", s)
			}
		}
		set := build(v4, v6, nil, nil)
		for _, p := range set.Prefixes() {
			if p != p.Masked() {
				t.Fatalf("unmasked prefix %s", p)
			}
		}
	})
}
