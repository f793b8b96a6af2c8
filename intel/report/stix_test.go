package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/intel/stix"
)

func TestToSTIX(t *testing.T) {
	by := identity(t)
	now := t0.Add(5 * time.Hour)
	op := operatorReport()
	op.ID = "IR-2026-000123"
	op.Indicators = append(op.Indicators, "192.0.2.9")
	op.MarkDomestic(domestic)
	fx := fixtures()
	fromDet := func(name string, tlp stix.TLP) Report {
		o := opts()
		o.TLP = tlp
		r, err := FromDetection("198.51.100.7", fx[name], o)
		if err != nil {
			t.Fatal(err)
		}
		r.ID = "IR-2026-000007"
		return r
	}
	bare := Report{ID: "IR-2026-000009", Operator: "op", Organization: "org", Type: TypeRansomware,
		Title: "Ransomware on fs01.example.jp of Example Water (192.0.2.10)", AffectedSystems: []string{"fs01.example.jp"}, Start: t0, Detected: t0, TLP: stix.TLPRed}
	tests := []struct {
		name        string
		r           Report
		types       []string // object types in order
		reportTypes []string
		golden      string
	}{
		{"operator ddos", op, []string{"report", "attack-pattern", "attack-pattern", "attack-pattern", "indicator", "indicator", "indicator", "indicator", "note"},
			[]string{"attack-pattern", "indicator"}, "stix-operator.golden.json"},
		{"unified syn", fromDet("syn", stix.TLPGreen), []string{"report", "attack-pattern", "attack-pattern", "attack-pattern",
			"indicator", "indicator", "indicator", "indicator", "note"}, []string{"attack-pattern", "indicator"}, "stix-syn.golden.json"},
		{"unified mixed amber+strict", fromDet("mixed", stix.TLPAmberStrict), []string{"report", "attack-pattern", "attack-pattern", "attack-pattern", "attack-pattern",
			"indicator", "indicator", "indicator", "indicator", "note"}, []string{"attack-pattern", "indicator"}, ""},
		{"ransomware without indicators", bare, []string{"report"}, []string{"threat-report"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := ToSTIX(tt.r, by, now)
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			ids := map[string]bool{}
			var all bytes.Buffer
			for _, o := range objs {
				types = append(types, o.Type)
				ids[o.ID] = true
				if err := stix.ValidateOutgoing(o.Raw()); err != nil {
					t.Errorf("%s: %v", o.ID, err)
				}
				if tlp, err := stix.TLPOf(o); err != nil || tlp != tt.r.TLP {
					t.Errorf("%s: TLP %v, %v; want %v", o.ID, tlp, err, tt.r.TLP)
				}
				if o.CreatedByRef != by.ID {
					t.Errorf("%s: created_by_ref %s", o.ID, o.CreatedByRef)
				}
				all.Write(o.Raw())
				all.WriteByte('\n')
			}
			if !slices.Equal(types, tt.types) {
				t.Errorf("types = %q, want %q", types, tt.types)
			}
			var rep stix.Report
			if err := objs[0].Decode(&rep); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rep.ReportTypes, tt.reportTypes) {
				t.Errorf("report_types = %q, want %q", rep.ReportTypes, tt.reportTypes)
			}
			for _, ref := range rep.ObjectRefs {
				if !ids[ref] && ref != by.ID {
					t.Errorf("report refers to %s, not emitted", ref)
				}
			}
			if len(rep.ObjectRefs) != len(objs)-1 && len(objs) > 1 {
				t.Errorf("report refers to %d objects, %d emitted besides it", len(rep.ObjectRefs), len(objs)-1)
			}
			// No domestic address leaves: not the affected systems, not
			// the domestic indicators, not in free text.
			for _, dom := range []string{"198.51.100.", "192.0.2."} {
				if bytes.Contains(all.Bytes(), []byte(dom)) {
					t.Errorf("a domestic address (%s*) is in the STIX output:\n%s", dom, all.Bytes())
				}
			}
			for _, sys := range tt.r.AffectedSystems {
				if strings.Contains(all.String(), sys) {
					t.Errorf("affected system %s is in the STIX output", sys)
				}
			}
			if strings.Contains(all.String(), tt.r.Organization) {
				t.Errorf("the operator's organization is in the STIX output")
			}
			bundle := stix.NewBundle(objs...)
			bundle.ID = "bundle--00000000-0000-4000-8000-000000000000"
			b, err := json.Marshal(bundle)
			if err != nil {
				t.Fatal(err)
			}
			if err := stix.ValidateBundle(b); err != nil {
				t.Error(err)
			}
			// Re-emitting gives the same ids.
			again, err := ToSTIX(tt.r, by, now.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			for i := range again {
				if again[i].ID != objs[i].ID {
					t.Errorf("re-emission changed id %s to %s", objs[i].ID, again[i].ID)
				}
			}
			if tt.golden != "" {
				golden(t, tt.golden, all.Bytes())
			}
		})
	}
}

func TestToSTIXTechniques(t *testing.T) {
	r := operatorReport()
	r.ID = "IR-2026-000123"
	r.Techniques = Classify(r.Vectors, "")
	objs, err := ToSTIX(r, identity(t), t0.Add(5*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		if o.Type != "attack-pattern" {
			continue
		}
		var ap AttackPattern
		if err := o.Decode(&ap); err != nil {
			t.Fatal(err)
		}
		ref := ap.ExternalReferences[0]
		if ref.SourceName != "mitre-attack" || ref.URL != (Technique{ID: ref.ExternalID}).URL() ||
			len(ap.KillChainPhases) != 1 || ap.KillChainPhases[0].PhaseName != "impact" {
			t.Errorf("attack-pattern %s: reference %+v, phases %+v", ap.ID, ref, ap.KillChainPhases)
		}
		got = append(got, ref.ExternalID)
	}
	if want := []string{T1498, T1498001, T1498002}; !slices.Equal(got, want) {
		t.Errorf("techniques = %q, want %q", got, want)
	}
}

func TestToSTIXErrors(t *testing.T) {
	by := identity(t)
	r := operatorReport()
	if _, err := ToSTIX(r, by, t0); err == nil || !strings.Contains(err.Error(), "acknowledge") {
		t.Errorf("ToSTIX without id: %v", err)
	}
	r.ID = "IR-2026-000001"
	if _, err := ToSTIX(r, stix.Identity{}, t0); err == nil {
		t.Error("ToSTIX without identity: no error")
	}
	r.Type = "x"
	if _, err := ToSTIX(r, by, t0); err == nil {
		t.Error("ToSTIX of an invalid report: no error")
	}
	// modified never precedes created, whatever now says.
	r = operatorReport()
	r.ID = "IR-2026-000001"
	objs, err := ToSTIX(r, by, t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if objs[0].Modified.Before(objs[0].Created.Time) {
		t.Errorf("modified %v before created %v", objs[0].Modified, objs[0].Created)
	}
}

func TestToSTIXScrub(t *testing.T) {
	r := Report{ID: "IR-2026-000009", Operator: "op", Organization: "Example Water", Type: TypeRansomware,
		Title: "Ransomware on fs01.example.jp of Example Water (192.0.2.10)", AffectedSystems: []string{"fs01.example.jp"},
		Description: "Encrypted 2001:db8::10 and 192.0.2.0/24 on FS01.Example.JP; EXAMPLE WATER's ransom note names evil.example.com.",
		Indicators:  []string{"evil.example.com"}, Start: t0, Detected: t0, TLP: stix.TLPRed}
	objs, err := ToSTIX(r, identity(t), t0)
	if err != nil {
		t.Fatal(err)
	}
	var rep stix.Report
	if err := objs[0].Decode(&rep); err != nil {
		t.Fatal(err)
	}
	wantName := "IR-2026-000009: Ransomware on [affected system] of [operator] ([address])"
	wantDesc := "Encrypted [address] and [address] on [affected system]; [operator]'s ransom note names evil.example.com."
	if rep.Name != wantName || !strings.HasSuffix(rep.Description, "\n"+wantDesc) {
		t.Errorf("name %q description %q; want %q and a description ending %q", rep.Name, rep.Description, wantName, wantDesc)
	}
}
