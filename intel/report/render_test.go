package report

import (
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/intel/stix"
)

func TestText(t *testing.T) {
	op := operatorReport()
	op.ID = "IR-2026-000123"
	op.MarkDomestic(domestic)
	ransom := Report{ID: "IR-2026-000124", Operator: "op-osaka-water", Organization: "Osaka Example Water", Type: TypeRansomware,
		Title: "Ransomware on the billing servers", Description: "Files encrypted on 3 servers.\r\nRansom note left.",
		AffectedSystems: []string{"billing-01", "billing-02", "192.0.2.10"}, Start: t0, Detected: t0.Add(30 * time.Minute),
		Indicators: []string{"payments-update.example.net"}, TLP: stix.TLPAmberStrict, Status: StatusAcknowledged,
		Received: t0.Add(time.Hour)}
	tests := []struct {
		name   string
		r      Report
		golden string
		has    []string
	}{
		{"operator ddos", op, "text-operator.golden.txt", []string{"UNIFIED DDOS INCIDENT REPORT", "T1498.002 Reflection Amplification",
			"38.000 Gbit/s (38000000000 bit/s)", "Duration:           2400.000 s (40m0s)"}},
		{"ransomware", ransom, "text-ransomware.golden.txt", []string{"INCIDENT REPORT\n", "End:                -",
			"Duration:           ongoing or unknown", "                    Ransom note left."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			txt := tt.r.Text()
			for _, s := range tt.has {
				if !strings.Contains(txt, s) {
					t.Errorf("text lacks %q:\n%s", s, txt)
				}
			}
			if tt.r.Type != TypeDDoS && strings.Contains(txt, "ATT&CK") {
				t.Errorf("a %s report has a DDoS section", tt.r.Type)
			}
			golden(t, tt.golden, []byte(txt))
		})
	}
}
