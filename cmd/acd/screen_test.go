package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/collect/pcap/pcaptest"
)

// TestAnalyzeNeverShowsDomesticAddresses runs a capture with domestic,
// inbound, outbound and transit traffic (IPv4 and IPv6) through the acd
// binary's analyze command, in every output mode, and searches every
// output (stdout, stderr/logs, and any file the run leaves behind) for
// the domestic addresses in clear: there must be none, while the foreign
// ones are there and the counts add up.
func TestAnalyzeNeverShowsDomesticAddresses(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "screen.key")
	if code, _, errOut := runCmd(t, nil, "keygen", key); code != 0 {
		t.Fatal(errOut)
	}
	cfg := filepath.Join(dir, "acd.yaml")
	if err := os.WriteFile(cfg, []byte(`
log:
  level: debug
screen:
  domestic:
    add: ["198.51.100.0/24", "2001:db8:100::/48"]
  key:
    file: `+key+`
`), 0o600); err != nil {
		t.Fatal(err)
	}

	dom4 := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i)}) }
	dom6 := func(i int) netip.Addr { return netip.MustParseAddr(fmt.Sprintf("2001:db8:100::%x", 0xa0+i)) }
	for4 := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{203, 0, 113, byte(10 + i)}) }
	for6 := func(i int) netip.Addr { return netip.MustParseAddr(fmt.Sprintf("2001:db8:ffff::%x", 0xa0+i)) }
	var domestic, foreign []netip.Addr
	var pkts []pcaptest.Packet
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	add := func(src, dst netip.Addr, sport uint16) {
		for k := range 3 {
			pkts = append(pkts, pcaptest.Packet{Time: at, Src: src, Dst: dst, SrcPort: sport, DstPort: 443, Proto: 6, Flags: 0x18, Payload: 100 + k})
			at = at.Add(10 * time.Millisecond)
		}
	}
	for i := range 5 {
		add(for4(i), dom4(i), uint16(40000+i))      // inbound
		add(dom4(i+5), for4(i+5), uint16(41000+i))  // outbound
		add(dom4(i), dom4(i+10), uint16(42000+i))   // domestic
		add(for4(i), for4(i+10), uint16(43000+i))   // transit
		add(for6(i), dom6(i), uint16(44000+i))      // inbound v6
		add(dom6(i+5), dom6(i+10), uint16(45000+i)) // domestic v6
		add(dom6(i+15), for6(i+5), uint16(46000+i)) // outbound v6
		domestic = append(domestic, dom4(i), dom4(i+5), dom4(i+10), dom6(i), dom6(i+5), dom6(i+10), dom6(i+15))
		foreign = append(foreign, for4(i), for4(i+5), for4(i+10), for6(i), for6(i+5))
	}
	capture := filepath.Join(dir, "mixed.pcap")
	f, err := os.Create(capture)
	if err != nil {
		t.Fatal(err)
	}
	if err := pcaptest.WritePcap(f, pcaptest.LinkEthernet, false, pkts); err != nil {
		t.Fatal(err)
	}
	f.Close()

	before := listFiles(t, dir)
	bin := buildAcd(t)
	var all bytes.Buffer
	var summary struct {
		Summary struct {
			Flows  uint64
			Screen map[string]struct{ In, Kept, Dropped uint64 }
		}
	}
	for _, mode := range [][]string{{"--flows", "--json"}, {"--flows"}, {}, {"--json"}} {
		args := append([]string{"analyze", "-c", cfg, "--no-progress"}, mode...)
		cmd := exec.Command(bin, append(args, capture)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("acd %v: %v\n%s", args, err, stderr.String())
		}
		all.Write(stdout.Bytes())
		all.Write(stderr.Bytes())
		if len(mode) == 2 && mode[1] == "--json" {
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &summary); err != nil {
				t.Fatal(err)
			}
		}
	}
	for p := range listFiles(t, dir) {
		if !before[p] && p != filepath.Base(bin) {
			data, _ := os.ReadFile(filepath.Join(dir, p))
			all.Write(data) // a file the run left behind is an output too
		}
	}
	out := all.String()
	for _, a := range domestic {
		// Address boundaries: 198.51.100.1 must not match inside 198.51.100.10.
		re := regexp.MustCompile(`(^|[^0-9a-fA-F:.])` + regexp.QuoteMeta(a.String()) + `($|[^0-9a-fA-F:.])`)
		if loc := re.FindStringIndex(out); loc != nil {
			t.Errorf("domestic address %s in clear in the output: %q", a, out[max(0, loc[0]-80):min(len(out), loc[1]+80)])
		}
	}
	for _, a := range foreign {
		if !strings.Contains(out, a.String()) {
			t.Errorf("foreign address %s missing from the output: the test would pass vacuously", a)
		}
	}
	sc := summary.Summary.Screen
	if sc["domestic"].Dropped != 10 || sc["inbound"].Kept != 10 || sc["outbound"].Kept != 10 || sc["transit"].Kept != 5 {
		t.Errorf("screen summary = %+v, want 10 domestic dropped, 10 inbound, 10 outbound, 5 transit kept", sc)
	}
	if summary.Summary.Flows != 35 {
		t.Errorf("flows metered = %d, want 35", summary.Summary.Flows)
	}
}

func listFiles(t *testing.T, dir string) map[string]bool {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, e := range ents {
		m[e.Name()] = true
	}
	return m
}
