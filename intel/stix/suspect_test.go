package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/intel/stix/pattern"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

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

func ev(det string, r detect.Role, score float64, reason string) detect.Evidence {
	return detect.Evidence{Detector: det, Role: r, Score: score, Reason: reason, First: t0, Last: t0.Add(time.Hour), Findings: 1}
}

func testSuspects(t testing.TB) []detect.Suspect {
	return []detect.Suspect{
		suspect(t, "198.51.100.7", 0.93, ev("beacon", detect.RoleC2, 0.93, "12 internal clients beacon every 60s to 198.51.100.7:443, e.g. 10.1.2.3")),
		suspect(t, "203.0.113.9", 0.8, ev("bruteforce", detect.RoleBruteforce, 0.5, "420 short ssh connections (login attempts) to one server within 5m0s"),
			ev("scan", detect.RoleScanner, 0.6, "tcp scan: 5000 hosts and 3 ports probed (syn) over 10m0s")),
		suspect(t, "192.0.2.66", 0.41, ev("ddos", detect.RoleDDoSSource, 0.41, "192.0.2.66 sent 31 udp flood records (9000 packets) so far to 100.64.0.9, the victim of a UDP flood peaking at 50000 pps"),
			ev("ddos", detect.RoleDDoSVictim, 0.2, "192.0.2.66 received a SYN flood from 2001:db8::5")),
		suspect(t, "2001:db8:bad::/48", 0.999, ev("reflection", detect.RoleReflector, 0.999, "misused open DNS server (UDP port 53) reflecting unsolicited amplified responses (mean 3000 bytes/packet, about 50x) at the victim of a reflection attack")),
	}
}

func testIdentityObj(t testing.TB) Identity {
	id, err := NewIdentity("acd test CERT", t0, TLPClear)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestFromSuspectValidates emits several suspects and checks every
// object against the OASIS schemas and acd's outgoing rules.
func TestFromSuspectValidates(t *testing.T) {
	by := testIdentityObj(t)
	ido, err := NewObject(&by)
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateOutgoing(ido.Raw()); err != nil {
		t.Fatalf("identity: %v", err)
	}
	for _, s := range testSuspects(t) {
		for _, tlp := range TLPs() {
			objs, err := FromSuspect(s, by, tlp, t0.Add(3*time.Hour))
			if err != nil {
				t.Fatalf("FromSuspect(%s): %v", s.Key, err)
			}
			nRoles := 0
			for _, r := range s.Roles {
				if r != detect.RoleDDoSVictim {
					nRoles++
				}
			}
			if len(objs) != 1+2*nRoles {
				t.Errorf("%s: %d objects for %d roles", s.Key, len(objs), nRoles)
			}
			for _, o := range objs {
				if err := ValidateOutgoing(o.Raw()); err != nil {
					t.Errorf("%s: %v\n%s", s.Key, err, o.Raw())
				}
				if got, err := TLPOf(o); err != nil || got != tlp {
					t.Errorf("%s: TLPOf = %v, %v; want %v", o.ID, got, err, tlp)
				}
				if o.CreatedByRef != by.ID {
					t.Errorf("%s: created_by_ref %s", o.ID, o.CreatedByRef)
				}
			}
			b, _ := json.Marshal(NewBundle(append([]Object{ido}, objs...)...))
			if err := defaultValidatorMust(t).ValidateBundle(b, true); err != nil {
				t.Errorf("bundle: %v", err)
			}
		}
	}
}

func defaultValidatorMust(t testing.TB) *Validator {
	v, err := defaultValidator()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestFromSuspectContent(t *testing.T) {
	by := testIdentityObj(t)
	ss := testSuspects(t)
	objs, err := FromSuspect(ss[2], by, TLPAmber, t0)
	if err != nil {
		t.Fatal(err)
	}
	var ind Indicator
	if err := objs[0].Decode(&ind); err != nil {
		t.Fatal(err)
	}
	targets, err := pattern.ExtractString(ind.Pattern)
	if err != nil || len(targets) != 1 || targets[0].String() != "192.0.2.66" {
		t.Errorf("pattern %q names %v (%v)", ind.Pattern, targets, err)
	}
	if *ind.Confidence != 41 || !ind.ValidFrom.Equal(t0) || ind.IndicatorTypes[0] != "malicious-activity" {
		t.Errorf("indicator: %+v", ind)
	}
	for _, o := range objs {
		raw := string(o.Raw())
		for _, domestic := range []string{"100.64.0.9", "2001:db8::5", "ddos-victim"} {
			if strings.Contains(raw, domestic) {
				t.Errorf("%s leaks %s: %s", o.ID, domestic, raw)
			}
		}
	}
	var inf Infrastructure
	if err := objs[1].Decode(&inf); err != nil {
		t.Fatal(err)
	}
	if r, ok := RoleOf(&inf); !ok || r != detect.RoleDDoSSource || inf.InfrastructureTypes[0] != "botnet" {
		t.Errorf("infrastructure %v: role %v", inf.InfrastructureTypes, r)
	}
	// The prefix suspect gets an ISSUBSET pattern.
	objs, _ = FromSuspect(ss[3], by, TLPAmber, t0)
	if err := objs[0].Decode(&ind); err != nil || ind.Pattern != "[ipv6-addr:value ISSUBSET '2001:db8:bad::/48']" || *ind.Confidence != 100 {
		t.Errorf("prefix indicator: %s, %d (%v)", ind.Pattern, *ind.Confidence, err)
	}
}

func TestRoleMapping(t *testing.T) {
	for r, want := range map[detect.Role]string{detect.RoleScanner: "reconnaissance", detect.RoleBruteforce: "botnet",
		detect.RoleDDoSSource: "botnet", detect.RoleReflector: "amplification", detect.RoleC2: "command-and-control"} {
		got, ok := InfrastructureType(r)
		if !ok || got != want {
			t.Errorf("InfrastructureType(%s) = %s", r, got)
		}
		back, ok := RoleOf(&Infrastructure{Common: Common{Labels: []string{RoleLabelPrefix + string(r)}}, InfrastructureTypes: []string{got}})
		if !ok || back != r {
			t.Errorf("RoleOf(%s) = %s", r, back)
		}
	}
	if _, ok := InfrastructureType(detect.RoleDDoSVictim); ok {
		t.Error("ddos-victim mapped to infrastructure")
	}
	if r, ok := RoleOf(&Infrastructure{InfrastructureTypes: []string{"command-and-control"}}); !ok || r != detect.RoleC2 {
		t.Errorf("RoleOf without label = %s", r)
	}
	if _, ok := RoleOf(&Infrastructure{InfrastructureTypes: []string{"phishing"}, Common: Common{Labels: []string{"acd-role:ddos-victim"}}}); ok {
		t.Error("RoleOf(phishing, victim label) gave a role")
	}
}

func TestFromSuspectRefuses(t *testing.T) {
	by := testIdentityObj(t)
	pseudo := testSuspects(t)[0]
	pseudo.Pseudo, pseudo.KeyEpoch = true, 7
	victim := suspect(t, "198.51.100.99", 0.9, ev("ddos", detect.RoleDDoSVictim, 0.9, "received a flood"))
	for _, tc := range []struct {
		name string
		s    detect.Suspect
		by   Identity
		tlp  TLP
		want error
	}{
		{"pseudonym", pseudo, by, TLPRed, ErrPseudonym},
		{"victim only", victim, by, TLPRed, ErrNoRole},
		{"no tlp", testSuspects(t)[0], by, 0, ErrNoTLP},
		{"creator not identity", testSuspects(t)[0], Identity{Common: Common{ID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}}, TLPRed, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := FromSuspect(tc.s, tc.by, tc.tlp, t0)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("FromSuspect = %d objects, %v; want %v", len(objs), err, tc.want)
			}
		})
	}
}

// TestReemission checks that a suspect emitted again keeps its ids and
// created and gets a later modified, and that Carry makes a valid next
// version when the suspect's first sighting moved.
func TestReemission(t *testing.T) {
	by := testIdentityObj(t)
	s := testSuspects(t)[1]
	a, err := FromSuspect(s, by, TLPGreen, t0)
	if err != nil {
		t.Fatal(err)
	}
	s.Updated = s.Updated.Add(time.Hour)
	s.Score = 0.9
	s.FirstSeen = s.FirstSeen.Add(-time.Minute) // an older finding merged late
	b, err := FromSuspect(s, by, TLPGreen, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("%d then %d objects", len(a), len(b))
	}
	for i := range a {
		if a[i].ID != b[i].ID || !b[i].Modified.After(a[i].Modified.Time) {
			t.Errorf("object %d: %s@%s then %s@%s", i, a[i].ID, a[i].Modified, b[i].ID, b[i].Modified)
		}
		c, err := Carry(a[i], b[i])
		if err != nil {
			t.Fatal(err)
		}
		if !c.Created.Equal(a[i].Created.Time) || !c.Modified.Equal(b[i].Modified.Time) ||
			(c.Type != TypeRelationship && (c.Confidence == nil || *c.Confidence != 90)) {
			t.Errorf("Carry: %+v", c.Common)
		}
		if err := ValidateOutgoing(c.Raw()); err != nil {
			t.Error(err)
		}
		same, _ := Carry(a[i], a[i])
		if !same.Modified.After(a[i].Modified.Time) {
			t.Error("Carry did not bump modified of an identical re-emission")
		}
	}
	if _, err := Carry(a[0], a[1]); err == nil {
		t.Error("Carry across ids accepted")
	}
}

func TestScrub(t *testing.T) {
	for _, tc := range []struct{ in, keep, want string }{
		{"192.0.2.66 sent 31 records to 100.64.0.9, the victim", "192.0.2.66", "192.0.2.66 sent 31 records to [address], the victim"},
		{"beacon to 198.51.100.7:443 from 10.1.2.3.", "198.51.100.7", "beacon to 198.51.100.7:443 from [address]."},
		{"from 2001:db8::5 and [2001:db8::6]:80 and fe80::/10", "x", "from [address] and [address] and [address]"},
		{"about 50x at 3.5 Mbit/s, dead beef cafe 12:30", "x", "about 50x at 3.5 Mbit/s, dead beef cafe 12:30"},
	} {
		if got := Scrub(tc.in, tc.keep); got != tc.want {
			t.Errorf("Scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFromMitigation(t *testing.T) {
	by := testIdentityObj(t)
	m := Mitigation{Case: "case-42", Action: "block", Target: "198.51.100.7", NotBefore: t0, NotAfter: t0.Add(24 * time.Hour)}
	objs, err := FromMitigation(m, by, TLPAmber, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 {
		t.Fatalf("%d objects", len(objs))
	}
	for _, o := range objs {
		if err := ValidateOutgoing(o.Raw()); err != nil {
			t.Errorf("%v\n%s", err, o.Raw())
		}
	}
	var rel Relationship
	if err := objs[1].Decode(&rel); err != nil {
		t.Fatal(err)
	}
	sus, _ := FromSuspect(testSuspects(t)[0], by, TLPAmber, t0)
	if rel.RelationshipType != "mitigates" || rel.SourceRef != objs[0].ID || rel.TargetRef != sus[0].ID || !rel.StopTime.Equal(m.NotAfter) {
		t.Errorf("relationship %+v, want mitigates %s", rel, sus[0].ID)
	}
	for _, bad := range []Mitigation{{Case: "c", Action: "block", Target: "not a target!"}, {Case: "c", Target: "198.51.100.7"}} {
		if _, err := FromMitigation(bad, by, TLPAmber, t0); err == nil {
			t.Errorf("FromMitigation(%+v) accepted", bad)
		}
	}
	if objs, err := FromMitigation(Mitigation{Case: "c", Action: "rpz", Target: "Evil.Example.com"}, by, TLPGreen, t0); err != nil || ValidateOutgoing(objs[0].Raw()) != nil {
		t.Errorf("domain mitigation: %v", err)
	}
}

// TestGoldenBundle pins what acd emits for a C2 suspect and its
// mitigation (rewrite with -update).
func TestGoldenBundle(t *testing.T) {
	by := testIdentityObj(t)
	ido, _ := NewObject(&by)
	md, _ := TLPAmber.MarkingDefinition()
	objs := []Object{ido, md}
	sus, err := FromSuspect(testSuspects(t)[0], by, TLPAmber, t0)
	if err != nil {
		t.Fatal(err)
	}
	mit, err := FromMitigation(Mitigation{Case: "case-42", Action: "block", Target: "198.51.100.7", NotBefore: t0.Add(3 * time.Hour), NotAfter: t0.Add(27 * time.Hour)}, by, TLPAmber, t0.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	bu := Bundle{Type: "bundle", ID: "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", Objects: append(append(objs, sus...), mit...)}
	got, err := json.MarshalIndent(bu, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	const file = "testdata/suspect-bundle.golden.json"
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("bundle differs from %s (-update to rewrite):\n%s", file, got)
	}
	if err := defaultValidatorMust(t).ValidateBundle(want, true); err != nil {
		t.Errorf("golden bundle: %v", err)
	}
}

func BenchmarkFromSuspect(b *testing.B) {
	by := testIdentityObj(b)
	s := testSuspects(b)[1]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromSuspect(s, by, TLPAmber, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func TestScrubEvasiveForms(t *testing.T) {
	for in, want := range map[string]string{
		"victim 198.018.001.001 flooded":  "victim [address] flooded",
		"id deadbeef198.18.0.5 seen":      "id deadbeef[address] seen",
		"x1198.18.0.5 and 203.0.113.9:53": "x1[address] and [address]",
		"the C2 100.65.0.1 itself stays":  "the C2 100.65.0.1 itself stays",
		"version 1.2.3.400 is no address": "version 1.2.3.400 is no address",
	} {
		if got := Scrub(in, "100.65.0.1"); got != want {
			t.Errorf("Scrub(%q) = %q, want %q", in, got, want)
		}
	}
}
