package scenario

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// attackDefaults are the zero-value defaults per kind.
var attackDefaults = map[string]Attack{
	KindScanHorizontal:  {Rate: 100, Sources: 1, Targets: 1024, Port: 22},
	KindScanVertical:    {Rate: 100, Sources: 1, Targets: 1000},
	KindScanSlow:        {Rate: 1.0 / 30, Sources: 1, Targets: 256, Port: 445},
	KindScanDistributed: {Rate: 50, Sources: 16, Targets: 4096, Port: 3389},
	KindBruteforce:      {Rate: 2, Sources: 1, Service: "ssh"},
	KindDDoSSYN:         {Rate: 2000, Sources: 500, Port: 80},
	KindDDoSUDP:         {Rate: 1000, Sources: 200},
	KindDDoSPulse:       {Rate: 3000, Sources: 300, Port: 443, Service: "syn", Interval: time.Minute, On: 10 * time.Second},
	KindReflection:      {Rate: 500, Sources: 100, Service: "dns"},
	KindBeacon:          {Sources: 1, Port: 443, Interval: time.Minute, SizeJitter: 0.1},
}

// services per kind, with their port.
var (
	bruteServices = map[string]uint16{"ssh": 22, "rdp": 3389, "ftp": 21, "telnet": 23, "smtp": 587, "imap": 993, "mysql": 3306}
	reflServices  = map[string]uint16{"dns": 53, "ntp": 123, "memcached": 11211, "ssdp": 1900, "cldap": 389}
	pulseServices = map[string]uint16{"syn": 0, "udp": 0}
)

func (a Attack) withDefaults(total time.Duration) (Attack, error) {
	d, ok := attackDefaults[a.Kind]
	if !ok {
		return a, fmt.Errorf("kind %q unknown (want one of %s)", a.Kind, strings.Join(Kinds(), ", "))
	}
	switch {
	case a.Start < 0 || a.Start >= total:
		return a, fmt.Errorf("start %v not within the scenario's duration %v", a.Start, total)
	case a.Duration < 0 || a.Start+a.Duration > total:
		return a, fmt.Errorf("duration %v negative or past the scenario's end (%v from start %v)", a.Duration, total, a.Start)
	case !(a.Rate >= 0 && a.Rate <= 1e7):
		return a, fmt.Errorf("rate %v not within 0..1e7", a.Rate)
	case a.Sources < 0 || a.Sources >= blockSize-1:
		return a, fmt.Errorf("sources %d not within 0..%d", a.Sources, blockSize-2)
	case a.Targets < 0 || a.Targets > 1<<16-1:
		return a, fmt.Errorf("targets %d not within 0..65535", a.Targets)
	case a.Interval < 0 || a.On < 0:
		return a, fmt.Errorf("interval %v or on %v negative", a.Interval, a.On)
	case !(a.Jitter >= 0 && a.Jitter <= 0.5):
		return a, fmt.Errorf("jitter %v not within 0..0.5", a.Jitter)
	case !(a.SizeJitter >= 0 && a.SizeJitter < 1):
		return a, fmt.Errorf("size_jitter %v not within 0..1", a.SizeJitter)
	}
	if a.Duration == 0 {
		a.Duration = total - a.Start
	}
	if a.Rate == 0 {
		a.Rate = d.Rate
	}
	if a.Sources == 0 {
		a.Sources = d.Sources
	}
	if a.Targets == 0 {
		a.Targets = d.Targets
	}
	if a.Port == 0 {
		a.Port = d.Port
	}
	if a.Service == "" {
		a.Service = d.Service
	}
	if a.Interval == 0 {
		a.Interval = d.Interval
	}
	if a.On == 0 {
		a.On = d.On
	}
	if a.SizeJitter == 0 {
		a.SizeJitter = d.SizeJitter
	}
	return a, a.checkKind()
}

func (a Attack) checkKind() error {
	known := map[string]map[string]uint16{KindBruteforce: bruteServices, KindReflection: reflServices, KindDDoSPulse: pulseServices}
	if m, ok := known[a.Kind]; ok {
		if _, ok := m[a.Service]; !ok {
			names := make([]string, 0, len(m))
			for k := range m {
				names = append(names, k)
			}
			slices.Sort(names)
			return fmt.Errorf("service %q unknown for %s (want one of %s)", a.Service, a.Kind, strings.Join(names, ", "))
		}
	} else if a.Service != "" {
		return fmt.Errorf("service %q given but %s takes none", a.Service, a.Kind)
	}
	switch {
	case a.Kind == KindScanVertical && a.Port != 0:
		return fmt.Errorf("port given but %s probes ports 1..targets", a.Kind)
	case a.Kind == KindDDoSPulse && a.On >= a.Interval:
		return fmt.Errorf("on %v not shorter than interval %v", a.On, a.Interval)
	case a.Kind == KindBeacon && a.Interval < time.Second:
		return fmt.Errorf("interval %v shorter than 1s", a.Interval)
	case a.Kind != KindBeacon && a.Rate == 0:
		return fmt.Errorf("rate must be positive")
	case a.Kind == KindScanDistributed && a.Sources > a.Targets:
		return fmt.Errorf("sources %d above targets %d", a.Sources, a.Targets)
	}
	return nil
}
