package report

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/intel/stix"
)

// Detectors whose ddos-victim evidence FromDetection reads.
const (
	DetectorDDoS       = "ddos"
	DetectorReflection = "reflection"
)

// ErrNoAttack says the evidence holds no ddos-victim statement of the ddos
// or reflection detector.
var ErrNoAttack = errors.New("report: no ddos-victim evidence from the ddos or reflection detector")

// Options fill in a unified DDoS report what the evidence cannot say.
type Options struct {
	Operator     string                // the reporting-operator principal the report is for (required)
	Organization string                // its organization (required)
	Domestic     func(netip.Addr) bool // whether an address is domestic (required)
	Mitigation   string                // the mitigation taken, from the case outcomes
	TLP          stix.TLP              // zero: TLP:AMBER
	Title        string                // zero: "DDoS on <victim>: <vectors>"
	Detected     time.Time             // zero: from the evidence (see FromDetection)
	Received     time.Time             // when the report is made; zero: the evidence's last time
	MaxSources   int                   // top sources kept; zero: 20
}

// amplifiers names the common amplifier services by UDP source port (the
// ddos detector's amplifier_ports).
var amplifiers = map[uint16]string{19: "chargen", 53: "dns", 69: "tftp", 111: "portmap", 123: "ntp", 137: "netbios",
	161: "snmp", 389: "cldap", 427: "slp", 520: "rip", 1194: "openvpn", 1900: "ssdp", 3283: "ard", 3702: "ws-discovery",
	5353: "mdns", 5683: "coap", 10001: "ubiquiti", 11211: "memcached", 27960: "quake", 33848: "jenkins"}

// ddosVectors maps the ddos detector's vectors to report vectors.
var ddosVectors = map[string]string{"syn": "syn-flood", "udp": "udp-flood", "icmp": "icmp-flood",
	"tcp": "tcp-ack-flood", "other": "ip-protocol-flood", "reflection": "reflection"}

var (
	ddosServiceRE = regexp.MustCompile(`\(([a-z0-9-]+), udp/([0-9]+)\)`)
	reflServiceRE = regexp.MustCompile(`^([a-z0-9-]+) reflection attack`)
)

// FromSuspect fills a unified DDoS report from a suspect playing
// ddos-victim: FromDetection with the suspect's address as victim. A
// pseudonymous victim is named "<pseudonym> (pseudonym, key epoch N)":
// give FromDetection the re-identified address instead.
func FromSuspect(s detect.Suspect, o Options) (Report, error) {
	if !s.HasRole(detect.RoleDDoSVictim) {
		return Report{}, fmt.Errorf("unable to fill a DDoS report for %s: not a ddos-victim", s.Key)
	}
	victim := s.Key.String()
	if s.Pseudo {
		victim = fmt.Sprintf("%s (pseudonym, key epoch %d)", victim, s.KeyEpoch)
	}
	return FromDetection(victim, s.Evidence, o)
}

// FromDetection fills a unified DDoS report on victim from acd's evidence:
// the ddos-victim statements of the ddos and reflection detectors (other
// evidence is ignored). See the README for how each field is derived:
// Start/End are the earliest first and latest last seen; Detected the end
// of the first rate point at the alarm level (ddos), else Start; peak
// rates and totals the largest the detectors counted (they see the same
// packets: sums would double count); vectors from the ddos detector's
// vector_* counts and reflection ports; top sources from the evidence
// peers, domestic ones marked and pseudonyms never indicators; the ATT&CK
// classification from Classify, with T1499 when a SYN flood's connection
// rate reached its alarm level.
func FromDetection(victim string, ev []detect.Evidence, o Options) (Report, error) {
	if o.Operator == "" || o.Organization == "" || o.Domestic == nil {
		return Report{}, errors.New("unable to fill a DDoS report: operator, organization and domestic are required")
	}
	var used []detect.Evidence
	for _, e := range ev {
		if e.Role == detect.RoleDDoSVictim && (e.Detector == DetectorDDoS || e.Detector == DetectorReflection) {
			used = append(used, e)
		}
	}
	if len(used) == 0 {
		return Report{}, ErrNoAttack
	}
	r := Report{Operator: o.Operator, Organization: o.Organization, Type: TypeDDoS, AffectedSystems: []string{victim},
		Mitigation: o.Mitigation, TLP: cmp.Or(o.TLP, stix.TLPAmber), Status: StatusReceived}
	var reasons []string
	vectors := map[string]bool{}
	endpoint := ""
	for _, e := range used {
		if r.Start.IsZero() || (!e.First.IsZero() && e.First.Before(r.Start)) {
			r.Start = e.First
		}
		if e.Last.After(r.End) {
			r.End = e.Last
		}
		c := e.Counts
		r.Volumes.PeakBps = max(r.Volumes.PeakBps, c["peak_bps"])
		r.Volumes.PeakPps = max(r.Volumes.PeakPps, c["peak_pps"])
		r.Volumes.Flows = max(r.Volumes.Flows, c["flows"])
		r.Volumes.Packets = max(r.Volumes.Packets, c["packets"])
		r.Volumes.Bytes = max(r.Volumes.Bytes, c["bytes"])
		r.Volumes.Sources = max(r.Volumes.Sources, c["sources_estimated"], c["reflectors"])
		for _, v := range vectorsOf(&e) {
			vectors[v] = true
		}
		if endpoint == "" {
			endpoint = exhaustion(&e)
		}
		reasons = append(reasons, e.Detector+": "+e.Reason)
	}
	if len(vectors) > 1 {
		delete(vectors, "reflection") // a named service says more
	}
	r.Vectors = sortVectors(vectors)
	r.Techniques = Classify(r.Vectors, endpoint)
	r.Detected = cmp.Or(o.Detected, detectedAt(used, r.Start))
	r.Received = cmp.Or(o.Received, r.End)
	r.Sources = sources(used, victim, o)
	for _, s := range r.Sources {
		if s.Pseudonym || slices.Contains(r.Indicators, s.Address) {
			continue
		}
		r.Indicators = append(r.Indicators, s.Address)
		if s.Domestic {
			r.Domestic = append(r.Domestic, s.Address)
		}
	}
	r.Title = o.Title
	if r.Title == "" {
		r.Title = clipTo(fmt.Sprintf("DDoS on %s: %s", victim, strings.Join(r.Vectors, ", ")), MaxText)
	}
	r.Description = clipTo(strings.Join(reasons, "\n"), MaxDescription)
	if err := r.Validate(); err != nil {
		return Report{}, fmt.Errorf("unable to fill a DDoS report: %w", err)
	}
	return r, nil
}

// vectorsOf reads the report vectors of one ddos-victim evidence.
func vectorsOf(e *detect.Evidence) []string {
	var out []string
	switch e.Detector {
	case DetectorDDoS:
		for name, v := range ddosVectors {
			if e.Counts["vector_"+name] == 0 {
				continue
			}
			if name == "reflection" {
				v = ddosReflection(e)
			}
			out = append(out, v)
		}
	case DetectorReflection:
		port := e.Counts["port"]
		name := ""
		if port >= 1 && port <= 65535 {
			name = amplifiers[uint16(port)]
		}
		if m := reflServiceRE.FindStringSubmatch(e.Reason); name == "" && m != nil {
			name = m[1]
		}
		out = append(out, service(name))
	}
	return out
}

// ddosReflection names the service of the ddos detector's reflection
// vector: from the reason ("(dns, udp/53)") when it is the main vector,
// else from the samples' source ports.
func ddosReflection(e *detect.Evidence) string {
	if m := ddosServiceRE.FindStringSubmatch(e.Reason); m != nil {
		if p, err := strconv.ParseUint(m[2], 10, 16); err == nil && amplifiers[uint16(p)] != "" {
			return service(amplifiers[uint16(p)])
		}
		if m[1] != "udp" {
			return service(m[1])
		}
	}
	for _, s := range e.Samples {
		if s.Proto == 17 && amplifiers[s.SrcPort] != "" {
			return service(amplifiers[s.SrcPort])
		}
	}
	return "reflection"
}

func service(name string) string {
	if name == "" {
		return "reflection"
	}
	return name + "-reflection"
}

// sortVectors orders vectors: direct floods, reflections, then others, by
// name within each.
func sortVectors(set map[string]bool) []string {
	rank := map[string]int{"direct": 0, "reflection": 1, "endpoint": 2, "": 3}
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b string) int {
		return cmp.Or(cmp.Compare(rank[VectorClass(a)], rank[VectorClass(b)]), cmp.Compare(a, b))
	})
	return out
}

// exhaustion returns why the evidence shows endpoint exhaustion (T1499),
// or "": a SYN flood whose new-connection rate reached its alarm level
// fills the victim's half-open connection table (an OS exhaustion flood).
func exhaustion(e *detect.Evidence) string {
	c := e.Counts
	if e.Detector != DetectorDDoS || c["vector_syn"] == 0 || c["level_fps"] <= 0 || c["peak_fps"] < c["level_fps"] {
		return ""
	}
	return fmt.Sprintf("SYN flood of %.0f new connections/s, %.1f× its alarm level of %.0f/s: half-open connections exhaust the victim's connection table (OS exhaustion flood)",
		c["peak_fps"], c["peak_fps"]/c["level_fps"], c["level_fps"])
}

// detectedAt estimates when the attack was detected: the end of the first
// point of the ddos detector's pps series at or above the alarm level
// (the alarm is raised within that bucket), else start.
func detectedAt(ev []detect.Evidence, start time.Time) time.Time {
	var at time.Time
	for i := range ev {
		e := &ev[i]
		lvl := e.Counts["level_pps"]
		if e.Detector != DetectorDDoS || e.Series == nil || e.Series.Name != "pps" || lvl <= 0 {
			continue
		}
		for j, v := range e.Series.V {
			if j >= len(e.Series.T) || v < lvl {
				continue
			}
			t := detect.Millis(e.Series.T[j] + max(e.Series.Stride, 0))
			if e.Last.Before(t) {
				t = e.Last
			}
			if at.IsZero() || t.Before(at) {
				at = t
			}
			break
		}
	}
	if at.Before(start) {
		return start
	}
	return at
}

// sources lists the top sources named in the evidence peers.
func sources(ev []detect.Evidence, victim string, o Options) []Source {
	var out []Source
	for _, e := range ev {
		for _, p := range e.Peers {
			if p.Role != "source" && p.Role != "reflector" {
				continue
			}
			a, err := netip.ParseAddr(p.Address)
			if err != nil || p.Address == victim {
				continue
			}
			a = a.Unmap()
			i := slices.IndexFunc(out, func(s Source) bool { return s.Address == a.String() && s.Role == p.Role })
			if i < 0 {
				out = append(out, Source{Address: a.String(), Role: p.Role, Pseudonym: p.Pseudo, Domestic: p.Pseudo || o.Domestic(a)})
				i = len(out) - 1
			}
			// The ddos detector counts a peer's packets, the reflection
			// detector its bytes.
			if e.Detector == DetectorReflection {
				out[i].Bytes = max(out[i].Bytes, p.Count)
			} else {
				out[i].Packets = max(out[i].Packets, p.Count)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Source) int {
		return cmp.Or(cmp.Compare(roleRank(a.Role), roleRank(b.Role)), cmp.Compare(b.Packets, a.Packets),
			cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.Address, b.Address))
	})
	n := cmp.Or(o.MaxSources, 20)
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func clipTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}

func roleRank(role string) int {
	if role == "source" {
		return 0
	}
	return 1
}
