package abuse

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"time"
)

// Formats of the report.
const (
	// FormatARF is an RFC 5965 multipart/report (report-type=feedback-report).
	FormatARF = "arf"
	// FormatXARF is an XARF v4 JSON report attached to a human-readable mail.
	FormatXARF = "xarf"
)

// Config configures the abuse reporter (key "enforce.abuse").
type Config struct {
	// Format is the report format: "arf" (default) or "xarf".
	Format string `yaml:"format"`
	// From is the report's From: address (and the envelope sender unless
	// smtp.from is set), e.g. "CERT acd <abuse-reports@cert.example>".
	From string `yaml:"from"`
	// Contact is the address the report asks the recipient to answer
	// (Reply-To:); defaults to From.
	Contact string `yaml:"contact"`
	// Organization names the reporter in the text and in XARF's reporter.
	Organization string `yaml:"organization"`
	// Contacts maps networks to abuse contacts; the longest prefix
	// covering the target wins. It takes precedence over ContactsFile
	// for the same prefix.
	Contacts []Contact `yaml:"contacts"`
	// ContactsFile is a CSV file of "prefix,email" lines (e.g. exported
	// from RIR abuse-c data), read at Start. '#' starts a comment line.
	ContactsFile string `yaml:"contacts_file"`
	// SMTP delivers reports through a relay; exactly one of SMTP and Dir.
	SMTP *SMTPConfig `yaml:"smtp"`
	// Dir delivers reports as .eml files written atomically into it.
	Dir string `yaml:"dir"`
	// StateDir holds the ledger: one file per report sent, so that a
	// report is not sent twice. Required.
	StateDir string `yaml:"state_dir"`
}

// Contact is one network's abuse contact.
type Contact struct {
	Prefix string `yaml:"prefix"`
	Email  string `yaml:"email"`
}

// SMTPConfig configures delivery through an SMTP relay.
type SMTPConfig struct {
	// Relay is the relay's host:port.
	Relay string `yaml:"relay"`
	// From is the envelope sender (MAIL FROM); defaults to the report's
	// From address.
	From string `yaml:"from"`
	// HELO is the name acd gives in EHLO; defaults to "localhost".
	HELO string `yaml:"helo"`
	// StartTLS: unset uses STARTTLS when the relay offers it; true
	// requires it (nothing is sent in clear); false never uses it.
	StartTLS *bool `yaml:"starttls"`
	// CAFile is a PEM file of the CAs that sign the relay's certificate
	// (default: the system's).
	CAFile string `yaml:"ca_file"`
	// Username and Password authenticate with AUTH PLAIN (only over TLS
	// or to a loopback relay). The password is never logged or dumped.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// Timeout bounds one delivery, connection to QUIT (default 30s).
	Timeout time.Duration `yaml:"timeout"`
}

// DefaultTimeout is SMTPConfig.Timeout's default.
const DefaultTimeout = 30 * time.Second

// MarshalYAML writes the configuration with the password redacted (for
// acd config dump).
func (s SMTPConfig) MarshalYAML() (any, error) {
	type plain SMTPConfig
	p := plain(s)
	if p.Password != "" {
		p.Password = "<redacted>"
	}
	return p, nil
}

// DefaultConfig returns the defaults: ARF reports; delivery, sender and
// state directory must be configured.
func DefaultConfig() Config { return Config{Format: FormatARF} }

// Validate checks c and names every problem.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Format != FormatARF && c.Format != FormatXARF {
		add("format %q: arf or xarf", c.Format)
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		add("from %q is not an e-mail address: %v", c.From, err)
	}
	if c.Contact != "" {
		if _, err := mail.ParseAddress(c.Contact); err != nil {
			add("contact %q is not an e-mail address: %v", c.Contact, err)
		}
	}
	for i, ct := range c.Contacts {
		if _, err := parseContact(ct.Prefix, ct.Email); err != nil {
			add("contacts[%d]: %v", i, err)
		}
	}
	switch {
	case c.SMTP == nil && c.Dir == "":
		add("no delivery: set smtp or dir")
	case c.SMTP != nil && c.Dir != "":
		add("both smtp and dir are set: choose one delivery")
	case c.SMTP != nil:
		if err := c.SMTP.validate(); err != nil {
			add("smtp: %w", err)
		}
	}
	if c.StateDir == "" {
		add("no state_dir: the ledger of sent reports is required")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("abuse: invalid configuration: %w", err)
	}
	return nil
}

func (s *SMTPConfig) validate() error {
	var errs []error
	if host, port, err := net.SplitHostPort(s.Relay); err != nil || host == "" || port == "" {
		errs = append(errs, fmt.Errorf("relay %q: want host:port", s.Relay))
	}
	if s.From != "" {
		if _, err := mail.ParseAddress(s.From); err != nil {
			errs = append(errs, fmt.Errorf("from %q is not an e-mail address: %v", s.From, err))
		}
	}
	if s.Password != "" && s.Username == "" {
		errs = append(errs, errors.New("a password without a username"))
	}
	if s.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %v is negative", s.Timeout))
	}
	return errors.Join(errs...)
}

// parseContact checks one contact and returns its prefix, masked.
func parseContact(prefix, email string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(prefix)
	if err != nil {
		a, aerr := netip.ParseAddr(prefix)
		if aerr != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("prefix %q is not a prefix or an address", prefix)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("prefix %q mixes IPv4-mapped and IPv6 space", prefix)
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" {
		return netip.Prefix{}, fmt.Errorf("email %q for %s is not a bare e-mail address", email, prefix)
	}
	return p.Masked(), nil
}
