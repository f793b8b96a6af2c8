package abuse

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/mail"
	"slices"
	"strings"

	"github.com/acd-org/acd/detect"
)

// xarfReport is an XARF v4.0.0 report (category "connection"), with
// the fields a flow-based observation can fill.
type xarfReport struct {
	Version          string         `json:"xarf_version"`
	ReportID         string         `json:"report_id"`
	Timestamp        string         `json:"timestamp"`
	Reporter         xarfParty      `json:"reporter"`
	Sender           xarfParty      `json:"sender"`
	SourceIdentifier string         `json:"source_identifier"`
	Category         string         `json:"category"`
	Type             string         `json:"type"`
	EvidenceSource   string         `json:"evidence_source"`
	FirstSeen        string         `json:"first_seen"`
	LastSeen         string         `json:"last_seen"`
	Description      string         `json:"description"`
	Confidence       float64        `json:"confidence"`
	Tags             []string       `json:"tags"`
	Evidence         []xarfEvidence `json:"evidence"`
}

type xarfParty struct {
	Org     string `json:"org"`
	Contact string `json:"contact"`
	Domain  string `json:"domain"`
	Type    string `json:"type,omitempty"`
}

type xarfEvidence struct {
	ContentType string `json:"content_type"`
	Description string `json:"description"`
	Payload     string `json:"payload"` // base64
}

// xarfType maps acd roles to XARF v4 connection types (the first role
// that maps, in this order, names the report's type; every role becomes
// a tag).
var xarfType = []struct {
	role detect.Role
	typ  string
}{
	{detect.RoleDDoSSource, "ddos"},
	{detect.RoleReflector, "ddos"},
	{detect.RoleBruteforce, "login_attack"},
	{detect.RoleScanner, "port_scan"},
	{detect.RoleC2, "infected_host"},
}

func (r *report) xarf() xarfReport {
	s := &r.Summary
	typ := "reconnaissance"
	for _, m := range xarfType {
		if slices.Contains(s.Roles, m.role) {
			typ = m.typ
			break
		}
	}
	contact := r.ReplyTo
	if a, err := mail.ParseAddress(r.ReplyTo); err == nil {
		contact = a.Address
	}
	domain := ""
	if i := strings.LastIndexByte(contact, '@'); i >= 0 {
		domain = contact[i+1:]
	}
	party := xarfParty{Org: r.Org, Contact: contact, Domain: domain}
	sum, _ := json.Marshal(s)
	score := 0.0
	for _, sp := range s.Suspects {
		score = max(score, sp.Score)
	}
	tags := []string{"acd-case:" + s.Case}
	for _, role := range s.Roles {
		tags = append(tags, "role:"+string(role))
	}
	return xarfReport{Version: "4.0.0", ReportID: r.reportID(), Timestamp: fmtTime(r.Date),
		Reporter: xarfParty{Org: r.Org, Contact: contact, Domain: domain, Type: "automated"}, Sender: party,
		SourceIdentifier: r.Target.String(), Category: "connection", Type: typ, EvidenceSource: "flow_analysis",
		FirstSeen: fmtTime(s.FirstSeen), LastSeen: fmtTime(s.LastSeen),
		Description: fmt.Sprintf("%s seen as %s from flow metadata (case %s, legal basis: %s)", r.Target, roleList(s.Roles), s.Case, s.LegalBasis),
		Confidence:  score, Tags: tags,
		Evidence: []xarfEvidence{{ContentType: "application/json", Description: "acd evidence summary: " + s.Note,
			Payload: base64.StdEncoding.EncodeToString(sum)}}}
}

// reportID is a UUID (version 8, RFC 9562) derived from the Message-ID,
// so that a report sent again has the same id.
func (r *report) reportID() string {
	h := sha256.Sum256([]byte("xarf " + r.MessageID))
	h[6] = h[6]&0x0f | 0x80
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
