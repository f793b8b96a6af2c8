package peertest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated files in testdata")

// trafficDir is where the generated captures live, relative to this package.
const trafficDir = "../testdata/traffic"

// TestGenerateTraffic checks that the committed captures are what the
// generator makes (it is deterministic), and with -update rewrites them.
func TestGenerateTraffic(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  TrafficConfig
	}{
		{"mixed.pcap", DefaultTraffic()},
		{"small.pcap", SmallTraffic()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			st, err := GenerateTraffic(&buf, tc.cfg)
			if err != nil {
				t.Fatalf("GenerateTraffic() error = %v", err)
			}
			if st.Frames == 0 || st.Tagged == 0 {
				t.Errorf("GenerateTraffic() stats = %+v, want frames and tagged frames", st)
			}
			if buf.Len() >= 1<<20 {
				t.Errorf("GenerateTraffic() wrote %d bytes, want < 1 MiB", buf.Len())
			}
			path := filepath.Join(trafficDir, tc.name)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatalf("unable to write %s: %v", path, err)
				}
				t.Logf("%s: %+v", path, st)
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("unable to read %s: %v (run with -update)", path, err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from GenerateTraffic output (run with -update)", path)
			}
		})
	}
}
