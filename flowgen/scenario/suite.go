package scenario

import "time"

// DefaultSuite returns the default evaluation suite: a pure background
// scenario (no labels, for false positives) and scenarios covering every
// attack kind with parameters from easy to stealthy, each over the same
// kind of background.
func DefaultSuite() []Config {
	bg := BackgroundConfig{Clients: 1000, Servers: 2000, FlowsPerSecond: 300, IPv6: 0.2}
	m := time.Minute
	return []Config{
		{Name: "background", Seed: 1, Duration: 60 * m, Background: bg},
		{Name: "scans", Seed: 2, Duration: 60 * m, Background: bg, Attacks: []Attack{
			{Kind: KindScanHorizontal, Start: 5 * m, Rate: 200, Targets: 2048, Port: 22},
			{Kind: KindScanVertical, Start: 10 * m, Rate: 50, Targets: 1024},
			{Kind: KindScanHorizontal, Start: 15 * m, Rate: 20, Targets: 512, Port: 3389, IPv6: true},
			{Kind: KindScanSlow, Start: 2 * m, Rate: 1.0 / 15, Targets: 256, Port: 445},
			{Kind: KindScanDistributed, Start: 20 * m, Rate: 40, Sources: 32, Targets: 8192, Port: 23},
		}},
		{Name: "bruteforce", Seed: 3, Duration: 60 * m, Background: bg, Attacks: []Attack{
			{Kind: KindBruteforce, Start: 5 * m, Duration: 10 * m, Rate: 5, Service: "ssh"},
			{Kind: KindBruteforce, Start: 10 * m, Duration: 40 * m, Rate: 1.0 / 20, Service: "rdp"},
			{Kind: KindBruteforce, Start: 20 * m, Duration: 20 * m, Rate: 0.5, Sources: 8, Service: "imap", IPv6: true},
		}},
		{Name: "ddos", Seed: 4, Duration: 60 * m, Background: bg, Attacks: []Attack{
			{Kind: KindDDoSSYN, Start: 5 * m, Duration: 5 * m, Rate: 3000, Sources: 1000, Port: 443},
			{Kind: KindDDoSUDP, Start: 15 * m, Duration: 5 * m, Rate: 500, Sources: 100},
			{Kind: KindDDoSPulse, Start: 25 * m, Duration: 10 * m, Rate: 2000, Sources: 300, Interval: m, On: 5 * time.Second},
			{Kind: KindReflection, Start: 40 * m, Duration: 3 * m, Rate: 300, Sources: 200, Service: "dns"},
			{Kind: KindReflection, Start: 44 * m, Duration: 3 * m, Rate: 200, Sources: 50, Service: "ntp"},
			{Kind: KindReflection, Start: 48 * m, Duration: 3 * m, Rate: 50, Sources: 20, Service: "memcached"},
			{Kind: KindReflection, Start: 52 * m, Duration: 3 * m, Rate: 200, Sources: 100, Service: "ssdp"},
			{Kind: KindReflection, Start: 56 * m, Duration: 3 * m, Rate: 100, Sources: 40, Service: "cldap", IPv6: true},
		}},
		{Name: "beacons", Seed: 5, Duration: 120 * m, Background: bg, Attacks: []Attack{
			{Kind: KindBeacon, Start: 5 * m, Interval: m, Port: 443},
			{Kind: KindBeacon, Start: 5 * m, Interval: 5 * m, Jitter: 0.2, Sources: 5, Port: 8443},
			{Kind: KindBeacon, Start: 10 * m, Interval: 2 * m, Jitter: 0.5, SizeJitter: 0.5, Sources: 30, Port: 443},
			{Kind: KindBeacon, Start: 10 * m, Interval: 30 * time.Second, Jitter: 0.1, Port: 80, IPv6: true},
		}},
	}
}

// Demo returns the scenario acd's demo streams live: two countries'
// worth of clients and servers (a 500-client domestic network talking to
// 2000 foreign servers) for a day, with attacks that start within minutes
// so the suspects fill in while one watches: a telnet scan, an SSH brute
// force, a DNS reflection flood, a SYN flood and a C2 botnet of 12
// infected hosts beaconing every 30 s.
func Demo() Config {
	m := time.Minute
	return Config{Name: "demo", Seed: 2026, Duration: 24 * time.Hour,
		Background: BackgroundConfig{Clients: 500, Servers: 2000, FlowsPerSecond: 150, IPv6: 0.2},
		Attacks: []Attack{
			{Kind: KindScanHorizontal, Start: m, Rate: 40, Targets: 8192, Port: 23},
			{Kind: KindBeacon, Start: 30 * time.Second, Interval: 30 * time.Second, Jitter: 0.2, Sources: 12, Port: 443},
			{Kind: KindBruteforce, Start: 2 * m, Duration: 30 * m, Rate: 2, Service: "ssh"},
			{Kind: KindReflection, Start: 3 * m, Duration: 2 * m, Rate: 400, Sources: 150, Service: "dns"},
			{Kind: KindDDoSSYN, Start: 6 * m, Duration: 2 * m, Rate: 2500, Sources: 400, Port: 443},
		}}
}
