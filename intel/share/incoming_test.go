package share

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/intel/stix"
)

const partnerID = "identity--f690c992-8e7d-4b9a-9303-3312616c0220"

func TestAccept(t *testing.T) {
	now := t0.Add(2 * time.Hour)
	cases := []struct {
		name   string
		change func(*Agreement)
		props  map[string]any
		now    time.Time
		want   Reason
	}{
		{name: "ok", want: ReasonOK},
		{name: "red comes in", props: map[string]any{"object_marking_refs": []string{stix.TLPRed.MarkingID()}}, want: ReasonOK},
		{name: "type", change: func(a *Agreement) { a.Incoming.Types = []string{"infrastructure"} }, want: ReasonType},
		{name: "creator", change: func(a *Agreement) { a.Identity = "identity--0b0a4a57-5e8e-4b3a-8c9d-3a4f1c2d7e10" }, want: ReasonCreator},
		{name: "creator matches", change: func(a *Agreement) { a.Identity = partnerID }, want: ReasonOK},
		{name: "invalid schema", props: map[string]any{"valid_from": nil}, want: ReasonInvalid},
		{name: "invalid pattern", props: map[string]any{"pattern": "[ipv4-addr:value = "}, want: ReasonInvalid},
		{name: "invalid modified before created", props: map[string]any{"modified": "2026-11-25T09:00:00.000Z"}, want: ReasonInvalid},
		{name: "age", now: t0.Add(91 * 24 * time.Hour), want: ReasonAge},
		{name: "age, no limit", change: func(a *Agreement) { a.Incoming.MaxAge = 0 }, now: t0.Add(1000 * 24 * time.Hour), want: ReasonOK},
		{name: "revoked", props: map[string]any{"revoked": true}, want: ReasonRevokedOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := DefaultAgreement()
			a.Partner = "us"
			if c.change != nil {
				c.change(&a)
			}
			n := c.now
			if n.IsZero() {
				n = now
			}
			ok, r := a.Accept(object(t, c.props), n)
			if r != c.want || ok != c.want.Allowed() {
				t.Errorf("Accept = %v, %s; want %s", ok, r, c.want)
			}
		})
	}
}

func readExample(t *testing.T, name string) []stix.Object {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "stix", "testdata", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	bu, err := stix.ParseBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	return bu.Objects
}

type cand struct {
	target string
	role   detect.Role
}

func cands(in []Incoming) []cand {
	var out []cand
	for _, c := range in {
		out = append(out, cand{c.Target.String(), c.Role})
	}
	return out
}

// TestToSuspectsExamples reads the OASIS examples. The expected targets
// were listed with a separate script from the bundles: every indicator
// whose pattern is an OR of ipv4-addr and domain-name "=" comparisons
// with well-formed values.
func TestToSuspectsExamples(t *testing.T) {
	now := t0
	cases := []struct {
		file     string
		n        int    // candidates
		distinct int    // distinct targets
		want     []cand // must be among the candidates
	}{
		{"threat-reports/apt1.json", 7, 7, []cand{{"223.166.0.0/15", ""}, {"hugesoft.org", ""}, {"msnhome.org", ""}}},
		{"threat-reports/poisonivy.json", 63, 41, []cand{{"219.76.208.163", ""}, {"www.webserver.dynssl.com", ""}, {"98.126.148.114", ""}}},
		{"indicator-for-c2-ip-address.json", 1, 1, []cand{{"10.0.0.0", ""}}},
		{"indicators-for-C2-with-COA.json", 1, 1, []cand{{"10.0.0.0", ""}}},
		{"infrastructure.json", 2, 2, []cand{{"198.51.100.3", detect.RoleC2}, {"example.com", ""}}},
		{"malicious-email-indicator-with-attachment.json", 0, 0, nil},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got, err := ToSuspects(readExample(t, c.file), "oasis", 80, now)
			if err != nil {
				t.Fatal(err)
			}
			cs := cands(got)
			if len(got) != c.n {
				t.Errorf("%d candidates, want %d: %v", len(got), c.n, cs)
			}
			distinct := map[string]bool{}
			for _, g := range got {
				distinct[g.Target.String()] = true
				if g.Score != 0.4 || g.Confidence != UnknownConfidence {
					t.Errorf("%s: score %v confidence %d, want 0.4 (50 × 80) and %d", g.Target, g.Score, g.Confidence, UnknownConfidence)
				}
				if g.Provenance.Partner != "oasis" || g.Provenance.ObjectID == "" || !g.Provenance.ReceivedAt.Equal(now) || g.Revoked {
					t.Errorf("%s: provenance %+v, revoked %v", g.Target, g.Provenance, g.Revoked)
				}
			}
			if len(distinct) != c.distinct {
				t.Errorf("%d distinct targets, want %d", len(distinct), c.distinct)
			}
			for _, w := range c.want {
				if !slices.Contains(cs, w) {
					t.Errorf("missing %v in %v", w, cs)
				}
			}
		})
	}
}

// TestRoundTrip emits suspects as acd does and reads them back as a
// partner: each address comes back with each of its shared roles (not
// ddos-victim), the score scaled by trust, the times and provenance.
func TestRoundTrip(t *testing.T) {
	by := identity(t, "acd jp CERT")
	now := t0.Add(5 * time.Hour)
	for _, s := range victimSuspects(t) {
		t.Run(s.Key.String(), func(t *testing.T) {
			objs := emit(t, by, stix.TLPGreen, s)
			got, err := ToSuspects(objs, "jp", 50, now)
			if err != nil {
				t.Fatal(err)
			}
			var want []cand
			for _, r := range s.Roles {
				if r != detect.RoleDDoSVictim {
					want = append(want, cand{s.Key.String(), r})
				}
			}
			if !slices.Equal(cands(got), want) {
				t.Errorf("got %v, want %v", cands(got), want)
			}
			conf := int(s.Score*100 + 0.5)
			for _, g := range got {
				if g.Confidence != conf || g.Score != float64(conf*50)/10000 {
					t.Errorf("%v: confidence %d score %v, want %d", g.Role, g.Confidence, g.Score, conf)
				}
				if !g.FirstSeen.Equal(s.FirstSeen) || !g.LastSeen.Equal(s.Updated) || g.Provenance.ObjectID != objs[0].ID ||
					!g.Provenance.Version.Equal(objs[0].Modified.Time) || len(g.Provenance.Via) != 2 || g.Withdrawn() {
					t.Errorf("%v: %+v", g.Role, g)
				}
			}
		})
	}
}

// TestToSuspectsRoles checks the role mapping in and the versioning.
func TestToSuspectsRoles(t *testing.T) {
	by := identity(t, "acd jp CERT")
	s := victimSuspects(t)[1] // bruteforce + scanner
	objs := emit(t, by, stix.TLPGreen, s)
	ind := objs[0]
	now := t0.Add(5 * time.Hour)
	labelled := func(labels ...string) stix.Object {
		o, err := ind.NewVersion(t0.Add(4*time.Hour), map[string]any{"labels": labels})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	revokedRel, err := objs[2].Revoke(t0.Add(4 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	benign, err := ind.NewVersion(t0.Add(4*time.Hour), map[string]any{"indicator_types": []string{"benign"}})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := ind.NewVersion(t0.Add(4*time.Hour), map[string]any{"valid_until": "2026-11-26T12:00:00.000Z"})
	if err != nil {
		t.Fatal(err)
	}
	target := s.Key.String()
	cases := []struct {
		name    string
		objs    []stix.Object
		want    []cand
		revoked bool
		expired bool
	}{
		{"infrastructure", objs, []cand{{target, detect.RoleBruteforce}, {target, detect.RoleScanner}}, false, false},
		{"indicator labels alone", []stix.Object{ind}, []cand{{target, detect.RoleBruteforce}, {target, detect.RoleScanner}}, false, false},
		{"bare role label", []stix.Object{labelled("c2")}, []cand{{target, detect.RoleC2}}, false, false},
		{"victim label ignored", []stix.Object{labelled("acd-role:ddos-victim", "command-and-control")}, []cand{{target, ""}}, false, false},
		{"revoked relationship gives no role", append([]stix.Object{labelled()}, objs[1], revokedRel, objs[3], objs[4]),
			[]cand{{target, detect.RoleScanner}}, false, false},
		{"benign skipped", []stix.Object{benign}, nil, false, false},
		{"expired", []stix.Object{expired}, []cand{{target, detect.RoleBruteforce}, {target, detect.RoleScanner}}, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ToSuspects(c.objs, "jp", 100, now)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cands(got), c.want) {
				t.Errorf("got %v, want %v", cands(got), c.want)
			}
			for _, g := range got {
				if g.Revoked != c.revoked || g.Expired != c.expired {
					t.Errorf("%v: revoked %v expired %v", g.Role, g.Revoked, g.Expired)
				}
			}
		})
	}
}

// TestToSuspectsRevocation: a revocation withdraws the candidate, in the
// same batch as the original (the latest version wins) or later.
func TestToSuspectsRevocation(t *testing.T) {
	by := identity(t, "acd jp CERT")
	s := victimSuspects(t)[0]
	objs := emit(t, by, stix.TLPGreen, s)
	rev, err := objs[0].Revoke(t0.Add(6 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for name, batch := range map[string][]stix.Object{
		"same batch, revocation last":  append(slices.Clone(objs), rev),
		"same batch, revocation first": append([]stix.Object{rev}, objs...),
		"revocation alone":             {rev},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := ToSuspects(batch, "jp", 100, t0.Add(7*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !got[0].Revoked || !got[0].Withdrawn() || got[0].Target.String() != s.Key.String() ||
				got[0].Provenance.ObjectID != rev.ID || !got[0].Provenance.Version.Equal(rev.Modified.Time) {
				t.Errorf("got %+v, want one revoked candidate for %s", got, s.Key)
			}
		})
	}
}

func TestToSuspectsErrors(t *testing.T) {
	if _, err := ToSuspects(nil, "", 50, t0); err == nil {
		t.Error("no partner accepted")
	}
	for _, trust := range []int{-1, 101} {
		if _, err := ToSuspects(nil, "jp", trust, t0); err == nil {
			t.Errorf("trust %d accepted", trust)
		}
	}
}

func TestIncomingReason(t *testing.T) {
	by := identity(t, "acd jp CERT")
	got, err := ToSuspects(emit(t, by, stix.TLPGreen, victimSuspects(t)[0]), "jp", 80, t0)
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	want := "partner jp shared 198.51.100.7 as c2 (" + got[0].Provenance.ObjectID + ", confidence 93, score 0.74)"
	if r := got[0].Reason(); r != want {
		t.Errorf("Reason = %q, want %q", r, want)
	}
}
