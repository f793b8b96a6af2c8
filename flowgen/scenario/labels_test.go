package scenario

import (
	"testing"
	"time"

	"github.com/acd-org/acd/flow"
)

// checkLabels checks every label against the records: the address appears
// at First and at Last and behaves as its role says.
func checkLabels(t *testing.T, cfg Config, recs []flow.Record, labels []Label) {
	t.Helper()
	byAddr := map[flow.Addr][]Label{}
	for _, l := range labels {
		byAddr[l.Addr] = append(byAddr[l.Addr], l)
	}
	type obs struct {
		first, last int64
		ok          int // records showing the role's behaviour
	}
	seen := map[flow.Addr]*obs{}
	for i := range recs {
		r := &recs[i]
		for _, addr := range [2]flow.Addr{r.SrcAddr, r.DstAddr} {
			ls := byAddr[addr]
			if len(ls) == 0 {
				continue
			}
			o := seen[addr]
			if o == nil {
				o = &obs{first: r.Start}
				seen[addr] = o
			}
			o.last = r.Start
			if behaves(r, addr, ls[0].Role, byAddr) {
				o.ok++
			}
		}
	}
	for _, l := range labels {
		o := seen[l.Addr]
		switch {
		case o == nil:
			t.Errorf("label %v %s of attack %d: no record", l.Addr, l.Role, l.Attack)
		case o.ok == 0:
			t.Errorf("label %v %s of attack %d: no record shows the role", l.Addr, l.Role, l.Attack)
		case o.first > l.First.UnixMilli() || o.last < l.Last.UnixMilli():
			t.Errorf("label %v %s: seen %d..%d, label says %v..%v", l.Addr, l.Role, o.first, o.last, l.First, l.Last)
		}
		if l.First.Before(cfg.Start) || l.Last.After(cfg.Start.Add(cfg.Duration)) {
			t.Errorf("label %v %s: %v..%v outside the scenario", l.Addr, l.Role, l.First, l.Last)
		}
	}
}

func hasRole(m map[flow.Addr][]Label, a flow.Addr, role string) bool {
	for _, l := range m[a] {
		if l.Role == role {
			return true
		}
	}
	return false
}

func behaves(r *flow.Record, addr flow.Addr, role string, m map[flow.Addr][]Label) bool {
	switch role {
	case RoleScanner:
		return r.SrcAddr == addr && r.Proto == 6 && r.TCPFlags&flow.TCPSyn != 0 && r.TCPFlags&flow.TCPAck == 0 && r.Packets <= 2
	case RoleBruteforce:
		return r.SrcAddr == addr && r.Proto == 6 && r.Packets <= 50 && r.Bytes < 10000 && !isInternal(addr) && isInternal(r.DstAddr)
	case RoleDDoSSource:
		return r.SrcAddr == addr && hasRole(m, r.DstAddr, RoleDDoSVictim)
	case RoleDDoSVictim:
		return r.DstAddr == addr && (hasRole(m, r.SrcAddr, RoleDDoSSource) || hasRole(m, r.SrcAddr, RoleReflector))
	case RoleReflector:
		_, amp := map[uint16]bool{53: true, 123: true, 11211: true, 1900: true, 389: true}[r.SrcPort]
		return r.SrcAddr == addr && r.Proto == 17 && amp && r.Bytes/r.Packets >= 250
	case RoleC2:
		return r.DstAddr == addr && hasRole(m, r.SrcAddr, RoleC2Client)
	case RoleC2Client:
		return r.SrcAddr == addr && hasRole(m, r.DstAddr, RoleC2) && r.Bytes < 5000
	}
	return false
}

// TestKinds runs each attack kind alone over a quiet background and checks
// its signature.
func TestKinds(t *testing.T) {
	quiet := BackgroundConfig{Clients: 300, Servers: 64, FlowsPerSecond: 20, NTPClients: -1, TelemetryClients: -1, UpdateClients: -1}
	cases := []struct {
		name  string
		at    Attack
		roles map[string]int // labels per role
		check func(t *testing.T, at Attack, attack []flow.Record)
	}{
		{"horizontal", Attack{Kind: KindScanHorizontal, Targets: 500, Port: 22}, map[string]int{RoleScanner: 1}, func(t *testing.T, at Attack, rs []flow.Record) {
			wantDistinct(t, rs, func(r *flow.Record) any { return r.DstAddr }, 500, isProbe)
			wantAll(t, rs, "probe port 22", func(r *flow.Record) bool { return !isProbe(r) || r.DstPort == 22 })
		}},
		{"vertical", Attack{Kind: KindScanVertical, Targets: 1000, IPv6: true}, map[string]int{RoleScanner: 1}, func(t *testing.T, at Attack, rs []flow.Record) {
			wantDistinct(t, rs, func(r *flow.Record) any { return r.DstPort }, 1000, isProbe)
			wantDistinct(t, rs, func(r *flow.Record) any { return r.DstAddr }, 1, isProbe)
			wantAll(t, rs, "closed ports reset", func(r *flow.Record) bool {
				return isProbe(r) || r.TCPFlags == flow.TCPRst|flow.TCPAck || r.TCPFlags == flow.TCPSyn|flow.TCPAck
			})
		}},
		{"slow", Attack{Kind: KindScanSlow, Rate: 0.1, Targets: 100}, map[string]int{RoleScanner: 1}, func(t *testing.T, at Attack, rs []flow.Record) {
			wantDistinct(t, rs, func(r *flow.Record) any { return r.DstAddr }, 40, isProbe)
		}},
		{"distributed", Attack{Kind: KindScanDistributed, Sources: 20, Targets: 2000}, map[string]int{RoleScanner: 20}, func(t *testing.T, at Attack, rs []flow.Record) {
			wantDistinct(t, rs, func(r *flow.Record) any { return r.DstAddr }, 2000, isProbe)
		}},
		{"bruteforce ssh", Attack{Kind: KindBruteforce, Rate: 1, Service: "ssh"}, map[string]int{RoleBruteforce: 1}, func(t *testing.T, at Attack, rs []flow.Record) {
			wantDistinct(t, rs, func(r *flow.Record) any { return [2]any{r.DstAddr, r.DstPort} }, 1, fromExt)
			wantAll(t, rs, "ssh", func(r *flow.Record) bool { return r.DstPort == 22 || r.SrcPort == 22 })
		}},
		{"bruteforce rdp low", Attack{Kind: KindBruteforce, Rate: 0.05, Sources: 3, Service: "rdp"}, map[string]int{RoleBruteforce: 3}, nil},
		{"ddos-syn", Attack{Kind: KindDDoSSYN, Rate: 500, Sources: 50}, map[string]int{RoleDDoSSource: 50, RoleDDoSVictim: 1}, func(t *testing.T, at Attack, rs []flow.Record) {
			wantAll(t, rs, "single SYN", func(r *flow.Record) bool { return r.TCPFlags == flow.TCPSyn && r.Packets == 1 })
			wantDistinct(t, rs, func(r *flow.Record) any { return r.DstAddr }, 1, fromExt)
		}},
		{"ddos-udp", Attack{Kind: KindDDoSUDP, Rate: 200, Sources: 30}, map[string]int{RoleDDoSSource: 30, RoleDDoSVictim: 1}, func(t *testing.T, at Attack, rs []flow.Record) {
			wantAll(t, rs, "large UDP", func(r *flow.Record) bool { return r.Proto == 17 && r.Bytes/r.Packets >= 540 })
		}},
		{"ddos-pulse", Attack{Kind: KindDDoSPulse, Rate: 500, Sources: 40, Interval: time.Minute, On: 5 * time.Second}, map[string]int{RoleDDoSSource: 40, RoleDDoSVictim: 1}, func(t *testing.T, at Attack, rs []flow.Record) {
			start := defaultStart.UnixMilli()
			wantAll(t, rs, "within a pulse", func(r *flow.Record) bool { return (r.Start-start)%60000 < 5000 })
		}},
	}
	for svc := range reflServices {
		cases = append(cases, struct {
			name  string
			at    Attack
			roles map[string]int
			check func(t *testing.T, at Attack, attack []flow.Record)
		}{"reflection " + svc, Attack{Kind: KindReflection, Rate: 100, Sources: 10, Service: svc}, map[string]int{RoleReflector: 10, RoleDDoSVictim: 1}, func(t *testing.T, at Attack, rs []flow.Record) {
			wantAll(t, rs, "service source port", func(r *flow.Record) bool { return r.SrcPort == reflServices[svc] && r.Proto == 17 })
		}})
	}
	cases = append(cases, struct {
		name  string
		at    Attack
		roles map[string]int
		check func(t *testing.T, at Attack, attack []flow.Record)
	}{"beacon", Attack{Kind: KindBeacon, Sources: 4, Interval: 20 * time.Second, Jitter: 0.3}, map[string]int{RoleC2: 1, RoleC2Client: 4}, func(t *testing.T, at Attack, rs []flow.Record) {
		last := map[flow.Addr]int64{}
		for i := range rs {
			r := &rs[i]
			if !isInternal(r.SrcAddr) {
				continue
			}
			if p, ok := last[r.SrcAddr]; ok {
				if d := r.Start - p; d < 14000-1 || d > 26000+1 {
					t.Errorf("beacon interval %d ms outside 20 s ±30%%", d)
				}
			}
			last[r.SrcAddr] = r.Start
		}
	}})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Seed: 11, Duration: 10 * time.Minute, Background: quiet, Attacks: []Attack{tc.at}}
			g := mustNew(t, cfg)
			recs := drain(t, g)
			labels := g.Labels()
			roles := map[string]int{}
			for _, l := range labels {
				roles[l.Role]++
			}
			if len(roles) != len(tc.roles) {
				t.Errorf("roles %v, want %v", roles, tc.roles)
			}
			for k, v := range tc.roles {
				if roles[k] != v {
					t.Errorf("roles %v, want %v", roles, tc.roles)
				}
			}
			checkLabels(t, g.Config(), recs, labels)
			if tc.check != nil {
				tc.check(t, tc.at, attackOnly(t, cfg))
			}
		})
	}
}

// attackOnly returns the records of the attacks alone.
func attackOnly(t *testing.T, cfg Config) []flow.Record {
	cfg.Background = BackgroundConfig{Clients: cfg.Background.Clients, Servers: 64, FlowsPerSecond: -1, NTPClients: -1, TelemetryClients: -1, UpdateClients: -1}
	return drain(t, mustNew(t, cfg))
}

func isProbe(r *flow.Record) bool { return r.TCPFlags&flow.TCPAck == 0 && r.TCPFlags&flow.TCPSyn != 0 }

func fromExt(r *flow.Record) bool { return !isInternal(r.SrcAddr) }

func wantAll(t *testing.T, rs []flow.Record, what string, f func(*flow.Record) bool) {
	t.Helper()
	if len(rs) == 0 {
		t.Fatalf("no attack record")
	}
	for i := range rs {
		if !f(&rs[i]) {
			t.Errorf("record %+v: not %s", rs[i], what)
			return
		}
	}
}

func wantDistinct(t *testing.T, rs []flow.Record, key func(*flow.Record) any, want int, filter func(*flow.Record) bool) {
	t.Helper()
	seen := map[any]bool{}
	for i := range rs {
		if filter(&rs[i]) {
			seen[key(&rs[i])] = true
		}
	}
	if len(seen) < want {
		t.Errorf("%d distinct values, want at least %d", len(seen), want)
	}
}

func BenchmarkGenerate(b *testing.B) {
	cfg := DefaultSuite()[3] // ddos: background plus heavy attacks
	cfg.Duration = 24 * time.Hour
	cfg.Background.FlowsPerSecond = 5000
	g := mustNew(b, cfg)
	buf := make([]flow.Record, 256)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		k := g.Next(buf, time.Time{})
		if k == 0 {
			g = mustNew(b, cfg)
		}
		n += k
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
