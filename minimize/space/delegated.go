package space

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// maxLine bounds one line of a delegated file; real lines are under 100
// bytes.
const maxLine = 64 << 10

// FileStats counts what one delegated file held.
type FileStats struct {
	Path    string `json:"path"`
	Lines   int    `json:"lines"`   // every line, blank and comment included
	Records int    `json:"records"` // resource records (not header, summary, comment)
	Used    int    `json:"used"`    // ipv4/ipv6 records of a configured country, allocated or assigned
	// Skipped is Records - Used, broken down below.
	Skipped        int `json:"skipped"`
	OtherCountry   int `json:"other_country"`   // address records of another country
	NotDelegated   int `json:"not_delegated"`   // status available or reserved (extended files)
	ASN            int `json:"asn"`             // asn records
	HeaderRecords  int `json:"header_records"`  // record count announced by the version line
	SummaryRecords int `json:"summary_records"` // sum of the summary lines' counts
}

// parseError is a problem at one line of a delegated file.
type parseError struct {
	name string
	line int
	msg  string
}

func (e *parseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.name, e.line, e.msg) }

// parser reads one delegated file.
type parser struct {
	name      string
	countries map[string]bool // upper-case codes
	stats     FileStats
	v4, v6    []span
	header    bool
}

// parseDelegated reads a delegated or delegated-extended file (gzip
// compressed or not) from r and returns the address ranges of the given
// countries (upper-case codes), allocated or assigned. name is used in
// error messages ("name:line: problem").
func parseDelegated(r io.Reader, name string, countries map[string]bool) (FileStats, []span, []span, error) {
	p := &parser{name: name, countries: countries}
	p.stats.Path = name
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return FileStats{}, nil, nil, fmt.Errorf("unable to read %s: %w", name, err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	if err := p.run(br); err != nil {
		return FileStats{}, nil, nil, err
	}
	return p.stats, p.v4, p.v6, nil
}

func (p *parser) run(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	for sc.Scan() {
		p.stats.Lines++
		if err := p.line(sc.Bytes()); err != nil {
			return &parseError{p.name, p.stats.Lines, err.Error()}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return &parseError{p.name, p.stats.Lines + 1, fmt.Sprintf("line longer than %d bytes", maxLine)}
		}
		return fmt.Errorf("unable to read %s after line %d: %w", p.name, p.stats.Lines, err)
	}
	if !p.header {
		return &parseError{p.name, p.stats.Lines, "no version line (version|registry|serial|records|...): not a delegated statistics file"}
	}
	if p.stats.Records < p.stats.HeaderRecords {
		return &parseError{p.name, p.stats.Lines, fmt.Sprintf("file ends after %d records but its version line announces %d: truncated?", p.stats.Records, p.stats.HeaderRecords)}
	}
	return nil
}

// line handles one line (without its newline).
func (p *parser) line(b []byte) error {
	b = bytes.TrimSpace(b) // also drops the CR of CRLF
	if len(b) == 0 || b[0] == '#' {
		return nil
	}
	f := strings.Split(string(b), "|")
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	if !p.header {
		return p.version(f)
	}
	if len(f) == 6 && f[1] == "*" && f[3] == "*" && f[5] == "summary" {
		return p.summary(f)
	}
	if len(f) < 7 {
		return fmt.Errorf("record has %d fields, want at least 7 (registry|cc|type|start|value|date|status)", len(f))
	}
	p.stats.Records++
	return p.record(f)
}

// version checks the version line: version|registry|serial|records|
// startdate|enddate|UTCoffset.
func (p *parser) version(f []string) error {
	if len(f) < 4 || !isVersion(f[0]) {
		return fmt.Errorf("first line is not a version line (version|registry|serial|records|startdate|enddate|UTCoffset): not a delegated statistics file")
	}
	n, err := strconv.ParseUint(f[3], 10, 31)
	if err != nil {
		return fmt.Errorf("version line: records %q is not a count", f[3])
	}
	p.header = true
	p.stats.HeaderRecords = int(n)
	return nil
}

// isVersion reports whether s looks like a format version ("2", "2.3").
func isVersion(s string) bool {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

// summary checks a summary line: registry|*|type|*|count|summary.
func (p *parser) summary(f []string) error {
	switch strings.ToLower(f[2]) {
	case "ipv4", "ipv6", "asn":
	default:
		return fmt.Errorf("summary line: unknown type %q (ipv4, ipv6, asn)", f[2])
	}
	n, err := strconv.ParseUint(f[4], 10, 31)
	if err != nil {
		return fmt.Errorf("summary line: count %q is not a number", f[4])
	}
	p.stats.SummaryRecords += int(n)
	return nil
}

// record handles registry|cc|type|start|value|date|status[|opaque-id[|...]].
func (p *parser) record(f []string) error {
	if f[0] == "" {
		return errors.New("empty registry field")
	}
	cc := strings.ToUpper(f[1])
	if cc != "" && !isCountry(cc) {
		return fmt.Errorf("country code %q is not two letters", f[1])
	}
	if !isDate(f[5]) {
		return fmt.Errorf("date %q is not YYYYMMDD", f[5])
	}
	var ours bool
	switch strings.ToLower(f[6]) {
	case "allocated", "assigned":
		ours = true
	case "available", "reserved":
	default:
		return fmt.Errorf("unknown status %q (allocated, assigned, available, reserved)", f[6])
	}
	var s span
	var v6 bool
	switch strings.ToLower(f[2]) {
	case "asn":
		if err := checkASN(f[3], f[4]); err != nil {
			return err
		}
		p.skip(&p.stats.ASN)
		return nil
	case "ipv4":
		var err error
		if s, err = ipv4Span(f[3], f[4]); err != nil {
			return err
		}
	case "ipv6":
		var err error
		if s, err = ipv6Span(f[3], f[4]); err != nil {
			return err
		}
		v6 = true
	default:
		return fmt.Errorf("unknown type %q (ipv4, ipv6, asn)", f[2])
	}
	switch {
	case !ours:
		p.skip(&p.stats.NotDelegated)
	case !p.countries[cc]:
		p.skip(&p.stats.OtherCountry)
	case v6:
		p.stats.Used++
		p.v6 = append(p.v6, s)
	default:
		p.stats.Used++
		p.v4 = append(p.v4, s)
	}
	return nil
}

func (p *parser) skip(reason *int) {
	p.stats.Skipped++
	*reason++
}

// ipv4Span parses an ipv4 record: start address and a count of addresses
// (any count, not only powers of two).
func ipv4Span(start, value string) (span, error) {
	ip, err := netip.ParseAddr(start)
	if err != nil || !ip.Is4() {
		return span{}, fmt.Errorf("ipv4 record: start %q is not an IPv4 address", start)
	}
	n, err := strconv.ParseUint(value, 10, 64)
	if err != nil || n == 0 {
		return span{}, fmt.Errorf("ipv4 record: value %q is not a positive address count", value)
	}
	lo := u128FromAddr(ip)
	if n > 1<<32-lo.lo {
		return span{}, fmt.Errorf("ipv4 record: %s + %d addresses runs past 255.255.255.255", start, n)
	}
	return span{lo, u128{0, lo.lo + n - 1}}, nil
}

// ipv6Span parses an ipv6 record: start address and a prefix length.
func ipv6Span(start, value string) (span, error) {
	ip, err := netip.ParseAddr(start)
	if err != nil || !ip.Is6() || ip.Is4In6() || ip.Zone() != "" {
		return span{}, fmt.Errorf("ipv6 record: start %q is not an IPv6 address", start)
	}
	n, err := strconv.ParseUint(value, 10, 8)
	if err != nil || n > 128 {
		return span{}, fmt.Errorf("ipv6 record: value %q is not a prefix length (0-128)", value)
	}
	pfx := netip.PrefixFrom(ip, int(n))
	if pfx.Masked().Addr() != ip {
		return span{}, fmt.Errorf("ipv6 record: %s has host bits set beyond /%d", start, n)
	}
	return spanOfPrefix(pfx), nil
}

// checkASN checks an asn record's start and count.
func checkASN(start, value string) error {
	a, err := strconv.ParseUint(start, 10, 32)
	if err != nil {
		return fmt.Errorf("asn record: start %q is not an AS number", start)
	}
	n, err := strconv.ParseUint(value, 10, 33)
	if err != nil || n == 0 || a+n > 1<<32 {
		return fmt.Errorf("asn record: value %q is not a valid AS count", value)
	}
	return nil
}

// isCountry reports whether s is two ASCII upper-case letters.
func isCountry(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// isDate accepts YYYYMMDD digits, or the empty date of extended files'
// available records.
func isDate(s string) bool {
	if s == "" {
		return true
	}
	if len(s) != 8 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
