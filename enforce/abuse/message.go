package abuse

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"sort"
	"strings"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/detect"
)

// userAgent names acd in the feedback report.
const userAgent = "acd/1"

// report is what one message says and to whom.
type report struct {
	From      string // header From:
	To        string // the recipient
	ReplyTo   string // the contact
	Org       string
	MessageID string // with angle brackets
	Date      time.Time
	Target    cases.Target
	Summary   Summary
	Format    string
}

// part is one MIME part: its headers and its body (encoded as the
// headers say).
type part struct {
	header textproto.MIMEHeader
	body   []byte
}

// Build writes the whole message (headers and body, CRLF line ends).
func (r *report) Build() ([]byte, error) {
	var parts []part
	var ctype string
	boundary := r.boundary()
	switch r.Format {
	case FormatARF:
		ctype = fmt.Sprintf("multipart/report; report-type=feedback-report; boundary=%q", boundary)
		sum, err := json.MarshalIndent(r.Summary, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("unable to encode the evidence summary: %w", err)
		}
		parts = []part{textPart("text/plain; charset=utf-8", "", []byte(r.humanText())),
			{header: textproto.MIMEHeader{"Content-Type": {"message/feedback-report"}, "Content-Transfer-Encoding": {"7bit"}}, body: r.feedbackReport()},
			textPart("application/json; charset=utf-8", "evidence-summary.json", sum)}
	case FormatXARF:
		ctype = fmt.Sprintf("multipart/mixed; boundary=%q", boundary)
		x, err := json.MarshalIndent(r.xarf(), "", "  ")
		if err != nil {
			return nil, fmt.Errorf("unable to encode the XARF report: %w", err)
		}
		parts = []part{textPart("text/plain; charset=utf-8", "", []byte(r.humanText())),
			textPart("application/json; charset=utf-8", "xarf.json", x)}
	default:
		return nil, fmt.Errorf("unknown format %q", r.Format)
	}
	var b bytes.Buffer
	r.writeHeaders(&b, ctype)
	b.WriteString("This is a multi-part message in MIME format.\r\n")
	for _, p := range parts {
		fmt.Fprintf(&b, "\r\n--%s\r\n", boundary)
		writeHeader(&b, p.header)
		b.WriteString("\r\n")
		b.Write(p.body)
	}
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return b.Bytes(), nil
}

func (r *report) writeHeaders(b *bytes.Buffer, ctype string) {
	h := []struct{ k, v string }{
		{"From", r.From},
		{"To", r.To},
		{"Reply-To", r.ReplyTo},
		{"Date", r.Date.UTC().Format(time.RFC1123Z)},
		{"Subject", mime.QEncoding.Encode("utf-8", r.subject())},
		{"Message-ID", r.MessageID},
		{"MIME-Version", "1.0"},
		{"Auto-Submitted", "auto-generated"},
		{"X-ACD-Case", fmt.Sprintf("%s v%d", r.Summary.Case, r.Summary.Version)},
		{"Content-Type", ctype},
	}
	for _, kv := range h {
		fmt.Fprintf(b, "%s: %s\r\n", kv.k, kv.v)
	}
	b.WriteString("\r\n")
}

func writeHeader(b *bytes.Buffer, h textproto.MIMEHeader) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			fmt.Fprintf(b, "%s: %s\r\n", k, v)
		}
	}
}

// textPart encodes body quoted-printable (reasons hold "±", "×").
func textPart(ctype, filename string, body []byte) part {
	h := textproto.MIMEHeader{"Content-Type": {ctype}, "Content-Transfer-Encoding": {"quoted-printable"}}
	if filename != "" {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	}
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	_, _ = w.Write(crlf(body))
	_ = w.Close()
	return part{header: h, body: b.Bytes()}
}

// crlf turns LF line ends into CRLF.
func crlf(b []byte) []byte {
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
}

// boundary is derived from the Message-ID: the same report is the same
// bytes.
func (r *report) boundary() string {
	h := sha256.Sum256([]byte("boundary " + r.MessageID))
	return "acd-" + hex.EncodeToString(h[:12])
}

func (r *report) subject() string {
	return fmt.Sprintf("Abuse report: %s (%s) [case %s]", r.Target, roleList(r.Summary.Roles), r.Summary.Case)
}

func roleList(rs []detect.Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// humanText is the first part: what was seen, the case, the contact.
func (r *report) humanText() string {
	s := &r.Summary
	var b strings.Builder
	fmt.Fprintf(&b, "Dear abuse team,\n\nThis is an automated abuse report from %s about %s, which we believe lies in a network you are responsible for.\n\n", r.Org, r.Target)
	fmt.Fprintf(&b, "Between %s and %s (UTC), our flow monitoring saw %s take part in network attacks as: %s.\n\n",
		fmtTime(s.FirstSeen), fmtTime(s.LastSeen), r.Target, roleList(s.Roles))
	for _, sp := range s.Suspects {
		fmt.Fprintf(&b, "%s (%s), seen %s to %s:\n", sp.Address, roleList(sp.Roles), fmtTime(sp.FirstSeen), fmtTime(sp.LastSeen))
		for _, e := range sp.Evidence {
			fmt.Fprintf(&b, "  - %s, %d finding(s), %s to %s: %s\n", e.Role, e.Findings, fmtTime(e.FirstSeen), fmtTime(e.LastSeen), e.Reason)
			if c := fmtCounts(e.Counts); c != "" {
				fmt.Fprintf(&b, "    counts: %s\n", c)
			}
		}
	}
	fmt.Fprintf(&b, "\nCase: %s (version %d)\nLegal basis: %s\n\n%s\n\n", s.Case, s.Version, s.LegalBasis, s.Note)
	fmt.Fprintf(&b, "Please investigate and stop this activity. Reply to %s, quoting case %s.\n", r.ReplyTo, s.Case)
	return b.String()
}

func fmtCounts(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s=%g", k, m[k]))
	}
	return strings.Join(out, ", ")
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// feedbackReport is ARF's machine-readable part (RFC 5965 section 3).
func (r *report) feedbackReport() []byte {
	var b strings.Builder
	b.WriteString("Feedback-Type: abuse\r\n")
	fmt.Fprintf(&b, "User-Agent: %s\r\n", userAgent)
	b.WriteString("Version: 1\r\n")
	if r.Target.Kind() == cases.KindAddress {
		fmt.Fprintf(&b, "Source-IP: %s\r\n", r.Target)
	}
	fmt.Fprintf(&b, "Arrival-Date: %s\r\n", r.Summary.FirstSeen.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Incidents: %d\r\n", max(r.Summary.Incidents, 1))
	if addr, err := mail.ParseAddress(r.From); err == nil {
		if i := strings.LastIndexByte(addr.Address, '@'); i >= 0 {
			fmt.Fprintf(&b, "Reporting-MTA: dns; %s\r\n", addr.Address[i+1:])
		}
	}
	fmt.Fprintf(&b, "X-ACD-Target: %s\r\n", r.Target)
	return []byte(b.String())
}
