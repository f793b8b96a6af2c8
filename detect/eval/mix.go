package eval

import (
	"time"

	"github.com/acd-org/acd/flowgen/scenario"
)

// BenchMix is the whole-stage benchmark's mix: a busy background (2000
// client sessions/s over 5000 clients, periodic jobs) with every kind of
// attack running at once.
func BenchMix() scenario.Config {
	m := time.Minute
	return scenario.Config{Name: "bench-mix", Seed: 42, Duration: 4 * m,
		Background: scenario.BackgroundConfig{Clients: 5000, Servers: 8000, FlowsPerSecond: 2000, IPv6: 0.2},
		Attacks: []scenario.Attack{
			{Kind: scenario.KindScanHorizontal, Rate: 200, Targets: 8192, Port: 22},
			{Kind: scenario.KindScanVertical, Rate: 50, Targets: 4000},
			{Kind: scenario.KindBruteforce, Rate: 5, Service: "ssh"},
			{Kind: scenario.KindDDoSSYN, Start: m, Duration: m, Rate: 3000, Sources: 1000, Port: 443},
			{Kind: scenario.KindReflection, Start: 2 * m, Duration: m, Rate: 500, Sources: 200, Service: "dns"},
			{Kind: scenario.KindBeacon, Interval: 30 * time.Second, Sources: 20, Port: 443},
		}}
}
