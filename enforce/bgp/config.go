package bgp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Family names an address family a neighbor session carries.
type Family string

// Families a neighbor may carry.
const (
	FlowSpec4 Family = "flowspec4" // IPv4 FlowSpec (AFI 1, SAFI 133)
	FlowSpec6 Family = "flowspec6" // IPv6 FlowSpec (AFI 2, SAFI 133)
	Unicast4  Family = "unicast4"  // IPv4 unicast, for RTBH host routes
	Unicast6  Family = "unicast6"  // IPv6 unicast, for RTBH host routes
)

// Families returns every family, in a stable order.
func Families() []Family { return []Family{FlowSpec4, FlowSpec6, Unicast4, Unicast6} }

// Config configures the embedded BGP speaker (key "enforce.bgp").
type Config struct {
	// ASN is the speaker's own AS number (required).
	ASN uint32 `yaml:"asn"`
	// RouterID is the speaker's BGP identifier, an IPv4 address
	// (required).
	RouterID netip.Addr `yaml:"router_id"`
	// ListenAddress and ListenPort make the speaker accept sessions too.
	// ListenPort 0 (the default) does not listen: the speaker connects
	// out to each neighbor that is not passive.
	ListenAddress netip.Addr `yaml:"listen_address"`
	ListenPort    uint16     `yaml:"listen_port"`
	// Neighbors are the routers the speaker announces to.
	Neighbors []Neighbor `yaml:"neighbors"`
	// BlackholeNextHopV4 and BlackholeNextHopV6 are the next hops of RTBH
	// routes, addresses the operator's routers route to a discard
	// interface. Defaults: 192.0.2.1 (RFC 5737) and 100::1 (RFC 6666).
	BlackholeNextHopV4 netip.Addr `yaml:"blackhole_next_hop_v4"`
	BlackholeNextHopV6 netip.Addr `yaml:"blackhole_next_hop_v6"`
	// OwnedPrefixes are the operator's networks (cases.Policy's
	// owned_prefixes); an RTBH target outside them is refused.
	OwnedPrefixes []netip.Prefix `yaml:"owned_prefixes"`
	// Communities are added to RTBH routes besides BLACKHOLE (65535:666)
	// and NO_EXPORT (65535:65281), written "asn:value".
	Communities []string `yaml:"communities"`
	// ConnectRetry is how long the speaker waits before connecting to a
	// neighbor again after a failure or a reset, at least 1s. Default 5s.
	ConnectRetry time.Duration `yaml:"connect_retry"`
	// HoldTime is the BGP hold time offered, at least 3s (keepalives
	// every third). Default 90s.
	HoldTime time.Duration `yaml:"hold_time"`
}

// Neighbor is one BGP peer of the speaker.
type Neighbor struct {
	// Address is the neighbor's address (required); sessions are keyed
	// by it, so two neighbors cannot share an address.
	Address netip.Addr `yaml:"address"`
	// Port is the neighbor's TCP port. Default 179.
	Port uint16 `yaml:"port"`
	// ASN is the neighbor's AS number (required; the speaker's own for
	// iBGP).
	ASN uint32 `yaml:"asn"`
	// LocalAddress is the source address of the session (optional).
	LocalAddress netip.Addr `yaml:"local_address"`
	// Passive waits for the neighbor to connect (needs ListenPort).
	Passive bool `yaml:"passive"`
	// Families the session carries. Default: all four.
	Families []Family `yaml:"families"`
}

// DefaultConfig returns the defaults; ASN, RouterID, Neighbors and
// OwnedPrefixes are the deployment's.
func DefaultConfig() Config {
	return Config{
		BlackholeNextHopV4: netip.MustParseAddr("192.0.2.1"),
		BlackholeNextHopV6: netip.MustParseAddr("100::1"),
		ConnectRetry:       5 * time.Second,
		HoldTime:           90 * time.Second,
	}
}

// withDefaults fills the neighbors' unset fields.
func (c Config) withDefaults() Config {
	c.Neighbors = slices.Clone(c.Neighbors)
	for i := range c.Neighbors {
		n := &c.Neighbors[i]
		if n.Port == 0 {
			n.Port = 179
		}
		if len(n.Families) == 0 {
			n.Families = Families()
		}
	}
	return c
}

// Validate checks c and lists every problem.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.ASN == 0 {
		add("asn: required")
	}
	switch {
	case !c.RouterID.IsValid():
		add("router_id: required (an IPv4 address)")
	case !c.RouterID.Is4():
		add("router_id %s: an IPv4 address is required", c.RouterID)
	}
	if c.ListenPort != 0 && !c.ListenAddress.IsValid() {
		add("listen_address: required with listen_port %d", c.ListenPort)
	}
	if !c.BlackholeNextHopV4.Is4() {
		add("blackhole_next_hop_v4 %s: an IPv4 address is required", c.BlackholeNextHopV4)
	}
	if !c.BlackholeNextHopV6.Is6() || c.BlackholeNextHopV6.Is4In6() {
		add("blackhole_next_hop_v6 %s: an IPv6 address is required", c.BlackholeNextHopV6)
	}
	for i, p := range c.OwnedPrefixes {
		if !p.IsValid() || p != p.Masked() {
			add("owned_prefixes[%d] %s: a masked prefix is required (%s)", i, p, p.Masked())
		}
	}
	for i, s := range c.Communities {
		if _, err := ParseCommunity(s); err != nil {
			add("communities[%d]: %w", i, err)
		}
	}
	if c.ConnectRetry < time.Second {
		add("connect_retry %s: at least 1s", c.ConnectRetry)
	}
	if c.HoldTime < 3*time.Second {
		add("hold_time %s: at least 3s (RFC 4271)", c.HoldTime)
	}
	if len(c.Neighbors) == 0 {
		add("neighbors: at least one is required")
	}
	seen := map[netip.Addr]bool{}
	for i, n := range c.Neighbors {
		for _, err := range n.validate(c.ListenPort != 0) {
			add("neighbors[%d]: %w", i, err)
		}
		if n.Address.IsValid() && seen[n.Address] {
			add("neighbors[%d]: address %s appears twice", i, n.Address)
		}
		seen[n.Address] = true
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bgp: invalid configuration: %w", err)
	}
	return nil
}

func (n Neighbor) validate(listening bool) []error {
	var errs []error
	if !n.Address.IsValid() || n.Address.Zone() != "" {
		errs = append(errs, errors.New("address: required (an IP address without zone)"))
	}
	if n.ASN == 0 {
		errs = append(errs, errors.New("asn: required"))
	}
	if n.Passive && !listening {
		errs = append(errs, errors.New("passive needs the speaker to listen (listen_port)"))
	}
	for _, f := range n.Families {
		if !slices.Contains(Families(), f) {
			errs = append(errs, fmt.Errorf("family %q: flowspec4, flowspec6, unicast4 or unicast6", f))
		}
	}
	return errs
}

// ParseCommunity reads a standard community written "asn:value" (each
// 0 to 65535) or one of the well-known names blackhole, no-export,
// no-advertise, no-peer.
func ParseCommunity(s string) (uint32, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "blackhole":
		return CommunityBlackhole, nil
	case "no-export":
		return CommunityNoExport, nil
	case "no-advertise":
		return 0xFFFFFF02, nil
	case "no-peer":
		return 0xFFFFFF04, nil
	}
	hi, lo, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return 0, fmt.Errorf("community %q: written asn:value", s)
	}
	a, err1 := strconv.ParseUint(hi, 10, 16)
	v, err2 := strconv.ParseUint(lo, 10, 16)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("community %q: asn and value must be numbers from 0 to 65535", s)
	}
	return uint32(a)<<16 | uint32(v), nil
}
