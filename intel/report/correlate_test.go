package report

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
)

// suspect makes a suspect of one evidence.
func suspect(t *testing.T, addr string, role detect.Role, first, last time.Time, peers ...detect.Peer) detect.Suspect {
	t.Helper()
	return detect.Suspect{Key: mustKey(t, addr), Roles: []detect.Role{role}, Score: 0.8, FirstSeen: first, LastSeen: last,
		Evidence: []detect.Evidence{{Detector: "ddos", Role: role, Score: 0.8, Reason: "test", First: first, Last: last, Peers: peers}}}
}

func TestCorrelate(t *testing.T) {
	r := operatorReport() // 09:00–09:40, affected 198.51.100.7 and portal.example.jp
	r.Indicators = []string{"203.0.113.5", "203.0.113.16/28", "2001:db8:bad::/48", "evil.example.com", "192.0.2.77"}
	in, late := t0.Add(10*time.Minute), t0.Add(3*time.Hour)
	victimPeer := detect.Peer{Address: "198.51.100.7", Role: "victim", Count: 100}
	pseudoPeer := detect.Peer{Address: "198.51.100.7", Pseudo: true, Role: "victim", Count: 100}
	tests := []struct {
		name    string
		s       detect.Suspect
		typ     Type
		matches []string // "kind on"
	}{
		{"exact address", suspect(t, "203.0.113.5", detect.RoleScanner, late, late), TypeDDoS, []string{"indicator-exact 203.0.113.5"}},
		{"in indicator prefix", suspect(t, "203.0.113.20", detect.RoleC2, late, late), TypeDDoS, []string{"indicator-prefix 203.0.113.16/28"}},
		{"IPv6 in indicator prefix", suspect(t, "2001:db8:bad:1::9", detect.RoleScanner, late, late), TypeDDoS, []string{"indicator-prefix 2001:db8:bad::/48"}},
		{"suspect prefix holds indicator", suspect(t, "192.0.2.0/24", detect.RoleScanner, late, late), TypeDDoS, []string{"suspect-prefix 192.0.2.77"}},
		{"same prefix", suspect(t, "203.0.113.16/28", detect.RoleScanner, late, late), TypeDDoS, []string{"indicator-exact 203.0.113.16/28"}},
		{"suspect prefix holds indicator prefix", suspect(t, "203.0.113.0/24", detect.RoleScanner, late, late), TypeDDoS,
			[]string{"suspect-prefix 203.0.113.5", "suspect-prefix 203.0.113.16/28"}},
		{"unrelated", suspect(t, "203.0.113.99", detect.RoleScanner, in, in), TypeDDoS, nil},
		{"victim in range", suspect(t, "198.51.100.7", detect.RoleDDoSVictim, in, in.Add(time.Minute)), TypeDDoS, []string{"victim 198.51.100.7"}},
		{"victim within slack", suspect(t, "198.51.100.7", detect.RoleDDoSVictim, t0.Add(-8*time.Minute), t0.Add(-4*time.Minute)), TypeDDoS, []string{"victim 198.51.100.7"}},
		{"victim out of range", suspect(t, "198.51.100.7", detect.RoleDDoSVictim, late, late), TypeDDoS, nil},
		{"victim of another type of report", suspect(t, "198.51.100.7", detect.RoleDDoSVictim, in, in), TypeIntrusion, nil},
		{"source of the victim", suspect(t, "203.0.113.250", detect.RoleDDoSSource, in, in, victimPeer), TypeDDoS,
			[]string{"attacker-of-victim 198.51.100.7"}},
		{"reflector of the victim", suspect(t, "203.0.113.251", detect.RoleReflector, in, in, victimPeer), TypeDDoS,
			[]string{"attacker-of-victim 198.51.100.7"}},
		{"source and indicator", suspect(t, "203.0.113.5", detect.RoleDDoSSource, in, in, victimPeer), TypeDDoS,
			[]string{"indicator-exact 203.0.113.5", "attacker-of-victim 198.51.100.7"}},
		{"source of the victim, too late", suspect(t, "203.0.113.250", detect.RoleDDoSSource, late, late, victimPeer), TypeDDoS, nil},
		{"pseudonymous victim peer", suspect(t, "203.0.113.250", detect.RoleDDoSSource, in, in, pseudoPeer), TypeDDoS, nil},
		{"scanner naming the victim as target", suspect(t, "203.0.113.250", detect.RoleScanner, in, in,
			detect.Peer{Address: "198.51.100.7", Role: "target"}), TypeDDoS, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := r
			rr.Type = tt.typ
			var got []string
			for _, m := range Correlate(rr, []detect.Suspect{tt.s}) {
				got = append(got, fmt.Sprintf("%s %s", m.Kind, m.On))
				if m.Why == "" || m.Suspect != tt.s.Key.String() || !slices.Equal(m.Roles, tt.s.Roles) {
					t.Errorf("match %+v: missing reason or wrong suspect", m)
				}
			}
			if !slices.Equal(got, tt.matches) {
				t.Errorf("Correlate = %q, want %q", got, tt.matches)
			}
		})
	}

	t.Run("open-ended report and pseudonymous suspect", func(t *testing.T) {
		rr := r
		rr.End = time.Time{}
		s := suspect(t, "198.51.100.7", detect.RoleDDoSVictim, late, late)
		p := suspect(t, "203.0.113.5", detect.RoleScanner, in, in)
		p.Pseudo = true
		ms := Correlate(rr, []detect.Suspect{s, p})
		if len(ms) != 1 || ms[0].Kind != MatchVictim || !strings.Contains(ms[0].Why, "received a flood") {
			t.Errorf("Correlate = %+v, want the victim only", ms)
		}
	})
}
