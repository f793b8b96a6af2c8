package report

import (
	"fmt"
	"strings"
)

// MITRE ATT&CK techniques a DDoS report is classified with.
const (
	T1498    = "T1498"     // Network Denial of Service
	T1498001 = "T1498.001" // Direct Network Flood
	T1498002 = "T1498.002" // Reflection Amplification
	T1499    = "T1499"     // Endpoint Denial of Service
)

var techniqueNames = map[string]string{
	T1498:    "Network Denial of Service",
	T1498001: "Direct Network Flood",
	T1498002: "Reflection Amplification",
	T1499:    "Endpoint Denial of Service",
}

// Technique is a MITRE ATT&CK technique a report is classified with, and
// why.
type Technique struct {
	ID     string `json:"id"`               // "T1498.001"
	Name   string `json:"name"`             // "Direct Network Flood"
	Reason string `json:"reason,omitempty"` // which vectors or evidence led to it
}

// URL returns the technique's page on attack.mitre.org.
func (t Technique) URL() string {
	return "https://attack.mitre.org/techniques/" + strings.ReplaceAll(t.ID, ".", "/") + "/"
}

// TechniqueName returns the ATT&CK name of a technique acd classifies
// with, or "".
func TechniqueName(id string) string { return techniqueNames[id] }

// Vector classes (see Classify).
var (
	// directVectors are floods sent by the attackers themselves.
	directVectors = map[string]bool{"syn-flood": true, "udp-flood": true, "icmp-flood": true,
		"tcp-ack-flood": true, "ip-protocol-flood": true, "gre-flood": true, "udp-fragment-flood": true}
	// endpointVectors exhaust the victim's services or state, not its link.
	endpointVectors = map[string]bool{"http-flood": true, "https-flood": true, "application-layer": true,
		"slowloris": true, "tls-exhaustion": true, "connection-exhaustion": true, "dns-query-flood": true}
)

// VectorClass says how Classify reads a vector name: "direct" (a flood
// from bots: T1498.001), "reflection" (T1498.002), "endpoint" (T1499) or
// "" (not known: T1498 alone).
func VectorClass(v string) string {
	switch {
	case directVectors[v]:
		return "direct"
	case v == "reflection" || strings.HasSuffix(v, "-reflection"):
		return "reflection"
	case endpointVectors[v]:
		return "endpoint"
	}
	return ""
}

// Classify returns the ATT&CK classification of a DDoS by its vectors, in
// the order T1498, T1498.001, T1498.002, T1499:
//
//   - a direct flood (syn-flood, udp-flood, icmp-flood, tcp-ack-flood,
//     ip-protocol-flood, ...) is T1498.001 Direct Network Flood;
//   - a reflection vector ("<service>-reflection" or "reflection") is
//     T1498.002 Reflection Amplification;
//   - T1498 Network Denial of Service, the parent, accompanies either, and
//     stands alone for a network flood of no known vector;
//   - an endpoint vector (http-flood, application-layer, slowloris,
//     tls-exhaustion, connection-exhaustion, dns-query-flood) is T1499
//     Endpoint Denial of Service; so is exhaustion the caller saw in the
//     evidence (endpoint non-empty: the reason, see FromDetection).
func Classify(vectors []string, endpoint string) []Technique {
	var direct, refl, ep, other []string
	for _, v := range vectors {
		switch VectorClass(v) {
		case "direct":
			direct = append(direct, v)
		case "reflection":
			refl = append(refl, v)
		case "endpoint":
			ep = append(ep, v)
		default:
			other = append(other, v)
		}
	}
	var out []Technique
	add := func(id, reason string) {
		out = append(out, Technique{ID: id, Name: techniqueNames[id], Reason: reason})
	}
	switch {
	case len(direct)+len(refl) > 0:
		add(T1498, "network flood: "+strings.Join(append(append([]string{}, direct...), refl...), ", "))
	case len(ep) == 0 && endpoint == "":
		add(T1498, "network flood of unknown vector"+list(other))
	}
	if len(direct) > 0 {
		add(T1498001, "direct flood from the attackers' own hosts: "+strings.Join(direct, ", "))
	}
	if len(refl) > 0 {
		add(T1498002, "responses of misused servers reflected at the victim: "+strings.Join(refl, ", "))
	}
	switch {
	case len(ep) > 0 && endpoint != "":
		add(T1499, fmt.Sprintf("exhausts the endpoint: %s; %s", strings.Join(ep, ", "), endpoint))
	case len(ep) > 0:
		add(T1499, "exhausts the endpoint: "+strings.Join(ep, ", "))
	case endpoint != "":
		add(T1499, endpoint)
	}
	return out
}

func list(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return " (" + strings.Join(vs, ", ") + ")"
}

// Classification returns the report's ATT&CK classification: its
// Techniques when set (acd's own detection fills them), else, for a DDoS
// report, Classify of its vectors; none for other types.
func (r *Report) Classification() []Technique {
	if len(r.Techniques) > 0 || r.Type != TypeDDoS {
		return r.Techniques
	}
	return Classify(r.Vectors, "")
}
