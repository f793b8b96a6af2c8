package share

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/intel/stix"
)

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// scenarioSpace is the domestic space of the scenario address plan.
var scenarioSpace = []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("2001:db8:100::/48")}

func isDomestic(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range scenarioSpace {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func identity(t testing.TB, name string) stix.Identity {
	t.Helper()
	id, err := stix.NewIdentity(name, t0, stix.TLPClear)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func suspect(t testing.TB, addr string, score float64, ev ...detect.Evidence) detect.Suspect {
	t.Helper()
	k, err := detect.ParseKey(addr)
	if err != nil {
		t.Fatal(err)
	}
	s := detect.Suspect{Key: k, Score: score, FirstSeen: t0, LastSeen: t0.Add(time.Hour), Updated: t0.Add(2 * time.Hour), Evidence: ev}
	for _, e := range ev {
		if !s.HasRole(e.Role) {
			s.Roles = append(s.Roles, e.Role)
		}
	}
	return s
}

func evidence(det string, r detect.Role, score float64, reason string) detect.Evidence {
	return detect.Evidence{Detector: det, Role: r, Score: score, Reason: reason, First: t0, Last: t0.Add(time.Hour), Findings: 1}
}

// victimSuspects are foreign suspects whose evidence names domestic
// victims and clients (scenario plan) in the ways detectors write them.
func victimSuspects(t testing.TB) []detect.Suspect {
	return []detect.Suspect{
		suspect(t, "198.51.100.7", 0.93, evidence("beacon", detect.RoleC2, 0.93,
			"12 internal clients beacon every 60s to 198.51.100.7:443, e.g. 198.18.4.20, 198.19.255.1 and [2001:db8:100::7]:51234")),
		suspect(t, "203.0.113.9", 0.8,
			evidence("bruteforce", detect.RoleBruteforce, 0.5, "420 short ssh connections to 198.18.0.22:22 within 5m0s"),
			evidence("scan", detect.RoleScanner, 0.6, "tcp scan of 198.18.0.0/16 and 2001:db8:100::/64: 5000 hosts, 3 ports")),
		suspect(t, "192.0.2.66", 0.41,
			evidence("ddos", detect.RoleDDoSSource, 0.41, "192.0.2.66 sent 31 udp flood records to 198.18.7.7, the victim (peak 50000 pps)"),
			evidence("ddos", detect.RoleDDoSVictim, 0.2, "192.0.2.66 received a SYN flood from 2001:db8:100:1::5")),
		suspect(t, "2001:db8:bad::/48", 0.999, evidence("reflection", detect.RoleReflector, 0.999,
			"open DNS server reflecting amplified responses at 2001:db8:100::53 and ::ffff:198.18.9.9 (about 50x)")),
		suspect(t, "2001:db8:bad:1::66", 0.7, evidence("scan", detect.RoleScanner, 0.7,
			"probed 2001:0db8:0100:0000:0000:0000:0000:0001 over 10m0s")),
	}
}

// evasiveSuspects name domestic addresses in forms stix.Scrub does not
// recognize (zero-padded octets, an address glued to hex letters): our
// scrub must catch what it leaves.
func evasiveSuspects(t testing.TB) []detect.Suspect {
	return []detect.Suspect{
		suspect(t, "2001:db8:bad:1::66", 0.7, evidence("scan", detect.RoleScanner, 0.7, "probed 198.018.001.001 over 10m0s")),
		suspect(t, "203.0.113.10", 0.7, evidence("beacon", detect.RoleC2, 0.7, "client id deadbeef198.18.0.5 beacons")),
	}
}

// emit returns the objects acd emits for suspects, marked tlp, by.
func emit(t testing.TB, by stix.Identity, tlp stix.TLP, ss ...detect.Suspect) []stix.Object {
	t.Helper()
	var out []stix.Object
	for _, s := range ss {
		objs, err := stix.FromSuspect(s, by, tlp, t0.Add(3*time.Hour))
		if err != nil {
			t.Fatalf("FromSuspect(%s): %v", s.Key, err)
		}
		out = append(out, objs...)
	}
	return out
}

// object builds an object from properties (over a valid indicator).
func object(t testing.TB, props map[string]any) stix.Object {
	t.Helper()
	base := map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
		"created_by_ref": "identity--f690c992-8e7d-4b9a-9303-3312616c0220",
		"created":        "2026-11-26T09:00:00.000Z", "modified": "2026-11-26T10:00:00.000Z",
		"confidence": 80, "object_marking_refs": []string{stix.TLPGreen.MarkingID()},
		"indicator_types": []string{"malicious-activity"}, "pattern": "[ipv4-addr:value = '198.51.100.7']",
		"pattern_type": "stix", "valid_from": "2026-11-26T09:00:00.000Z",
	}
	for k, v := range props {
		if v == nil {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	b, err := json.Marshal(base)
	if err != nil {
		t.Fatal(err)
	}
	o, err := stix.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
