package rpz

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Policies: what a triggered name (or address) answers.
const (
	// PolicyNXDOMAIN answers "no such domain" (CNAME . in the zone).
	PolicyNXDOMAIN = "nxdomain"
	// PolicySinkhole answers the sinkhole address(es) or CNAME.
	PolicySinkhole = "sinkhole"
)

// Config configures the RPZ primary (key "enforce.rpz" for the lead to
// wire). DefaultConfig gives every default; Validate checks it.
type Config struct {
	// Zone is the RPZ zone's name (default "rpz.acd.").
	Zone string `yaml:"zone"`
	// Listen is the address:port served over UDP and TCP (default
	// "127.0.0.1:5300"; port 0 picks a free port, see RPZ.Addr).
	Listen string `yaml:"listen"`
	// Policy is PolicyNXDOMAIN (default) or PolicySinkhole.
	Policy string `yaml:"policy"`
	// SinkholeV4 and SinkholeV6 are the addresses a sinkholed name
	// answers (A, AAAA); SinkholeCNAME is a name it answers instead
	// (exclusive with the addresses). Policy sinkhole needs one.
	SinkholeV4    string `yaml:"sinkhole_v4"`
	SinkholeV6    string `yaml:"sinkhole_v6"`
	SinkholeCNAME string `yaml:"sinkhole_cname"`
	// TTL is the TTL of the policy records (default 60s).
	TTL time.Duration `yaml:"ttl"`
	// Notify lists the secondaries (IP:port) sent a NOTIFY after each
	// change and probed by Sync.
	Notify []string `yaml:"notify"`
	// AllowTransfer lists the prefixes allowed to transfer (AXFR/IXFR)
	// and query the zone (default loopback: 127.0.0.0/8, ::1/128).
	// SOA queries are answered to anyone.
	AllowTransfer []string `yaml:"allow_transfer"`
	// TSIG, when its name is set, is required on every transfer.
	TSIG TSIG `yaml:"tsig"`
	// SOA sets the SOA record.
	SOA SOA `yaml:"soa"`
	// Journal is how many changes are kept for IXFR (default 100); a
	// secondary further behind gets the whole zone.
	Journal int `yaml:"journal"`
}

// TSIG is a transaction signature key (RFC 8945).
type TSIG struct {
	// Name is the key's name ("acd-rpz."); empty disables TSIG.
	Name string `yaml:"name"`
	// Algorithm is "hmac-sha256" (default) or "hmac-sha512".
	Algorithm string `yaml:"algorithm"`
	// Secret is the key, base64. It is never logged.
	Secret Secret `yaml:"secret"`
}

// Secret is a key that prints as "REDACTED" (fmt, slog); use string(s)
// for its value.
type Secret string

// String hides s.
func (s Secret) String() string { return "REDACTED" }

// GoString hides s.
func (s Secret) GoString() string { return `"REDACTED"` }

// MarshalYAML hides s from acd config dump.
func (s Secret) MarshalYAML() (any, error) {
	if s == "" {
		return "", nil
	}
	return "<redacted>", nil
}

// LogValue hides s from slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// SOA holds the SOA fields of the zone.
type SOA struct {
	// MName is the primary's name, also the zone's NS (default
	// "localhost.").
	MName string `yaml:"mname"`
	// RName is the contact mailbox (default "hostmaster.<zone>").
	RName string `yaml:"rname"`
	// Refresh, Retry, Expire and Minimum are the timers (defaults 5m,
	// 1m, 24h, 60s). Expire is short on purpose: a secondary cut off
	// from acd drops the zone within a day rather than enforcing actions
	// acd may have withdrawn meanwhile.
	Refresh time.Duration `yaml:"refresh"`
	Retry   time.Duration `yaml:"retry"`
	Expire  time.Duration `yaml:"expire"`
	Minimum time.Duration `yaml:"minimum"`
}

// DefaultConfig returns the defaults: zone rpz.acd. on 127.0.0.1:5300,
// NXDOMAIN policy, transfers from loopback only, no TSIG, no NOTIFY.
func DefaultConfig() Config {
	return Config{
		Zone:          "rpz.acd.",
		Listen:        "127.0.0.1:5300",
		Policy:        PolicyNXDOMAIN,
		TTL:           60 * time.Second,
		AllowTransfer: []string{"127.0.0.0/8", "::1/128"},
		TSIG:          TSIG{Algorithm: "hmac-sha256"},
		SOA: SOA{MName: "localhost.", Refresh: 5 * time.Minute, Retry: time.Minute,
			Expire: 24 * time.Hour, Minimum: 60 * time.Second},
		Journal: 100,
	}
}

// Validate checks c and lists every problem found.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, ok := dns.IsDomainName(c.Zone); !ok || !dns.IsFqdn(c.Zone) || c.Zone == "." {
		add("zone %q: not a fully qualified domain name (write it with a trailing dot)", c.Zone)
	}
	if _, err := netip.ParseAddrPort(c.Listen); err != nil {
		add("listen %q: not an IP:port: %w", c.Listen, err)
	}
	errs = append(errs, c.validatePolicy()...)
	if c.TTL < time.Second || c.TTL%time.Second != 0 {
		add("ttl %s: a whole number of seconds, at least 1s", c.TTL)
	}
	for _, n := range c.Notify {
		if _, err := netip.ParseAddrPort(n); err != nil {
			add("notify %q: not an IP:port: %w", n, err)
		}
	}
	for _, p := range c.AllowTransfer {
		if _, err := netip.ParsePrefix(p); err != nil {
			add("allow_transfer %q: not a prefix: %w", p, err)
		}
	}
	if err := c.TSIG.validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.SOA.validate()...)
	if c.Journal < 1 {
		add("journal %d: keep at least 1 change", c.Journal)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("rpz: invalid configuration: %w", err)
	}
	return nil
}

func (c Config) validatePolicy() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.SinkholeV4 != "" {
		if a, err := netip.ParseAddr(c.SinkholeV4); err != nil || !a.Is4() {
			add("sinkhole_v4 %q: not an IPv4 address", c.SinkholeV4)
		}
	}
	if c.SinkholeV6 != "" {
		if a, err := netip.ParseAddr(c.SinkholeV6); err != nil || !a.Is6() || a.Is4In6() {
			add("sinkhole_v6 %q: not an IPv6 address", c.SinkholeV6)
		}
	}
	if c.SinkholeCNAME != "" {
		if _, ok := dns.IsDomainName(c.SinkholeCNAME); !ok || !dns.IsFqdn(c.SinkholeCNAME) || c.SinkholeCNAME == "." {
			add("sinkhole_cname %q: not a fully qualified domain name", c.SinkholeCNAME)
		} else if strings.HasPrefix(strings.ToLower(c.SinkholeCNAME), "rpz-") || c.SinkholeCNAME == "*." {
			add("sinkhole_cname %q: names rpz-* and *. are RPZ actions, not a sinkhole", c.SinkholeCNAME)
		}
	}
	addr := c.SinkholeV4 != "" || c.SinkholeV6 != ""
	switch c.Policy {
	case PolicyNXDOMAIN:
		if addr || c.SinkholeCNAME != "" {
			add("policy nxdomain takes no sinkhole_v4/sinkhole_v6/sinkhole_cname")
		}
	case PolicySinkhole:
		if !addr && c.SinkholeCNAME == "" {
			add("policy sinkhole needs sinkhole_v4 and/or sinkhole_v6, or sinkhole_cname")
		}
		if addr && c.SinkholeCNAME != "" {
			add("policy sinkhole takes addresses or a CNAME, not both")
		}
	default:
		add("policy %q: nxdomain or sinkhole", c.Policy)
	}
	return errs
}

func (t TSIG) validate() error {
	if t.Name == "" {
		if t.Secret != "" {
			return errors.New("tsig: a secret without a name")
		}
		return nil
	}
	if _, ok := dns.IsDomainName(t.Name); !ok || !dns.IsFqdn(t.Name) {
		return fmt.Errorf("tsig name %q: not a fully qualified domain name", t.Name)
	}
	if t.algorithm() == "" {
		return fmt.Errorf("tsig algorithm %q: hmac-sha256 or hmac-sha512", t.Algorithm)
	}
	b, err := base64.StdEncoding.DecodeString(string(t.Secret))
	if err != nil {
		return errors.New("tsig secret: not base64") // never echo the secret
	}
	if len(b) < 16 {
		return fmt.Errorf("tsig secret: %d bytes, at least 16 needed", len(b))
	}
	return nil
}

// algorithm returns the miekg/dns name of t's algorithm, "" if unknown.
func (t TSIG) algorithm() string {
	switch strings.ToLower(t.Algorithm) {
	case "", "hmac-sha256", dns.HmacSHA256:
		return dns.HmacSHA256
	case "hmac-sha512", dns.HmacSHA512:
		return dns.HmacSHA512
	}
	return ""
}

func (s SOA) validate() []error {
	var errs []error
	for _, n := range []struct {
		key string
		v   string
	}{{"soa.mname", s.MName}, {"soa.rname", s.RName}} {
		if n.v == "" && n.key == "soa.rname" {
			continue // derived from the zone
		}
		if _, ok := dns.IsDomainName(n.v); !ok || !dns.IsFqdn(n.v) {
			errs = append(errs, fmt.Errorf("%s %q: not a fully qualified domain name", n.key, n.v))
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"soa.refresh", s.Refresh}, {"soa.retry", s.Retry}, {"soa.expire", s.Expire}, {"soa.minimum", s.Minimum}} {
		if d.v < time.Second || d.v%time.Second != 0 || d.v > (1<<31-1)*time.Second {
			errs = append(errs, fmt.Errorf("%s %s: a whole number of seconds from 1s to 2^31-1s", d.key, d.v))
		}
	}
	return errs
}

// allowed parses AllowTransfer (validated).
func (c Config) allowed() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range c.AllowTransfer {
		if p, err := netip.ParsePrefix(s); err == nil {
			ps = append(ps, p.Masked())
		}
	}
	return ps
}

// rname returns the SOA contact, defaulting to hostmaster.<zone>.
func (c Config) rname() string {
	if c.SOA.RName != "" {
		return dns.CanonicalName(c.SOA.RName)
	}
	return "hostmaster." + dns.CanonicalName(c.Zone)
}
