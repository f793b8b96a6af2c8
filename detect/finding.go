package detect

import (
	"fmt"
	"time"

	"github.com/acd-org/acd/flow"
)

// Role is what a suspect does in an attack.
type Role string

// Roles. Each detector documents which it emits.
const (
	RoleScanner    Role = "scanner"     // probes many hosts or ports
	RoleBruteforce Role = "bruteforce"  // guesses credentials on authentication services
	RoleDDoSSource Role = "ddos-source" // sends flood traffic to a DDoS victim
	RoleDDoSVictim Role = "ddos-victim" // receives a flood (evidence for the case, not a target)
	RoleReflector  Role = "reflector"   // a misused server reflecting amplified responses: an abuse report, not a block
	RoleC2         Role = "c2"          // a command-and-control server that internal hosts beacon to
)

// Roles returns every role, in a stable order.
func Roles() []Role {
	return []Role{RoleScanner, RoleBruteforce, RoleDDoSSource, RoleDDoSVictim, RoleReflector, RoleC2}
}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q (roles: scanner, bruteforce, ddos-source, ddos-victim, reflector, c2)", s)
}

// Finding is one detector's statement about one address: it plays Role,
// with Score, for the reasons in Evidence. The engine takes ownership of
// a finding passed to Emit, including its slices and maps.
type Finding struct {
	Addr     flow.Addr // the address (or the prefix's first address)
	Bits     uint8     // prefix length; 0 means the single address Addr
	Pseudo   bool      // Addr is a pseudonym of key epoch KeyEpoch
	KeyEpoch uint32
	Role     Role
	Evidence Evidence
}

// Emit receives findings from a detector.
type Emit func(f Finding)

// Evidence says why a detector holds an address suspect. Counts, Series,
// Peers and Samples are optional; Reason is one readable sentence.
type Evidence struct {
	Detector string             `json:"detector"`
	Role     Role               `json:"role"`
	Score    float64            `json:"score"` // in [0,1]
	Reason   string             `json:"reason"`
	First    time.Time          `json:"first_seen"` // event time of the first record counted
	Last     time.Time          `json:"last_seen"`  // event time of the last record counted
	Findings int                `json:"findings"`   // findings merged into this evidence (windows, updates)
	Counts   map[string]float64 `json:"counts,omitempty"`
	Series   *Series            `json:"series,omitempty"`
	Peers    []Peer             `json:"peers,omitempty"`
	Samples  []Sample           `json:"samples,omitempty"`
}

// Series is a time series behind the evidence: the flood's rate per
// second, the beacon's connection times and sizes, the scan's probes per
// interval. T holds event times in milliseconds since the Unix epoch.
type Series struct {
	Name   string    `json:"name"` // what V measures, with its unit ("pps", "bytes", ...)
	T      []int64   `json:"t"`
	V      []float64 `json:"v"`
	Stride int64     `json:"stride_ms,omitempty"` // regular series: the step between points
}

// Peer is another address the evidence involves: the scan's targets, the
// flood's victim or top sources, the beacon's internal clients.
// Domestic peers are pseudonyms.
type Peer struct {
	Address string  `json:"address"`
	Pseudo  bool    `json:"pseudonym,omitempty"`
	Role    string  `json:"role"` // target, victim, source, client, reflector
	Count   float64 `json:"count,omitempty"`
}

// PeerOf makes a Peer of an address.
func PeerOf(a flow.Addr, pseudo bool, role string, count float64) Peer {
	return Peer{Address: a.String(), Pseudo: pseudo, Role: role, Count: count}
}

// Sample is one minimized flow record quoted as evidence.
type Sample struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Src      string    `json:"src"`
	Dst      string    `json:"dst"`
	SrcPort  uint16    `json:"sport"`
	DstPort  uint16    `json:"dport"`
	Proto    uint8     `json:"proto"`
	Packets  uint64    `json:"packets"`
	Bytes    uint64    `json:"bytes"`
	TCPFlags uint8     `json:"tcp_flags"`
	Sampling uint32    `json:"sampling_rate,omitempty"`
	Class    string    `json:"class"`
	Pseudo   string    `json:"pseudo,omitempty"` // "src", "dst" or "src,dst": which addresses are pseudonyms
}

// SampleOf quotes a record.
func SampleOf(r *flow.Record) Sample {
	s := Sample{
		Start: r.StartTime(), End: r.EndTime(),
		Src: r.SrcAddr.String(), Dst: r.DstAddr.String(),
		SrcPort: r.SrcPort, DstPort: r.DstPort, Proto: r.Proto,
		Packets: r.Packets, Bytes: r.Bytes, TCPFlags: r.TCPFlags,
		Class: r.Class.String(),
	}
	if r.SamplingRate > 1 {
		s.Sampling = r.SamplingRate
	}
	switch r.Pseudo & (flow.PseudoSrc | flow.PseudoDst) {
	case flow.PseudoSrc:
		s.Pseudo = "src"
	case flow.PseudoDst:
		s.Pseudo = "dst"
	case flow.PseudoSrc | flow.PseudoDst:
		s.Pseudo = "src,dst"
	}
	return s
}

// Millis converts event time in milliseconds to a time.Time in UTC.
func Millis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// Clamp01 bounds a score to [0,1] (NaN becomes 0).
func Clamp01(x float64) float64 {
	switch {
	case x != x || x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	return x
}
