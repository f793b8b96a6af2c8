package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/acd-org/acd/intel/share"
	"github.com/acd-org/acd/intel/stix"
	"github.com/acd-org/acd/intel/taxii"
	"github.com/acd-org/acd/store"
)

// The sharing page's endpoint (README.md, "Sharing"): every partner with
// its agreement, its syncs, and the objects that went out (by TLP) and
// came in. The partners and the outgoing collections come from the store
// (Deps.Sharing); the syncs and the gates' decisions since start from
// the exchange's metrics (Deps.Gatherer).

// SharingStore reads the partners and acd's TAXII collections.
// *store.DB implements it.
type SharingStore interface {
	Partners(ctx context.Context, all bool) ([]store.Partner, error)
	TAXII() taxii.Store
	// ShareCounts counts the distinct objects the gates let through in
	// a direction, per partner and TLP.
	ShareCounts(ctx context.Context, dir share.Direction) (map[string]map[string]int, error)
}

var _ SharingStore = (*store.DB)(nil)

// The exchange's metric families the sharing page reads.
const (
	mLastSync  = "acd_exchange_last_sync_timestamp_seconds" // partner
	mSyncs     = "acd_exchange_syncs_total"                 // partner, result
	mOutgoing  = "acd_exchange_outgoing_objects_total"      // partner, reason
	mPublished = "acd_exchange_published_objects_total"     // partner
	mReceived  = "acd_exchange_received_objects_total"      // partner
	mIncoming  = "acd_exchange_incoming_objects_total"      // partner, reason
	mInSuspect = "acd_exchange_incoming_suspects_total"     // partner, op
)

var sharingFamilies = map[string]bool{mLastSync: true, mSyncs: true, mOutgoing: true, mPublished: true,
	mReceived: true, mIncoming: true, mInSuspect: true}

// maxCountedObjects bounds the objects counted per partner (their
// outgoing collections are read page by page); past it, Truncated.
const maxCountedObjects = 50000

// sharingReport is GET /api/v1/sharing's answer.
type sharingReport struct {
	Running  bool             `json:"running"`
	Partners []partnerSharing `json:"partners"`
	Totals   sharingTotals    `json:"totals"`
}

type sharingTotals struct {
	Partners   int        `json:"partners"`
	ObjectsOut objectsOut `json:"objects_out"`
	ObjectsIn  objectsIn  `json:"objects_in"`
}

// partnerSharing is one partner on the sharing page.
type partnerSharing struct {
	Name           string         `json:"name"`
	URL            string         `json:"url,omitempty"`
	APIRoot        string         `json:"api_root,omitempty"`
	PushCollection string         `json:"push_collection,omitempty"`
	Created        time.Time      `json:"created,omitzero"`
	Agreement      agreementView  `json:"agreement"`
	LastSync       time.Time      `json:"last_sync,omitzero"`
	LastError      string         `json:"last_error,omitempty"`
	LastPoll       time.Time      `json:"last_poll,omitzero"`
	Polls          map[string]int `json:"polls"`
	ObjectsOut     objectsOut     `json:"objects_out"`
	ObjectsIn      objectsIn      `json:"objects_in"`
}

// objectsOut is what went out to a partner: the objects in its outgoing
// collections by TLP, and the gate's decisions since start.
type objectsOut struct {
	Total     int            `json:"total"`
	ByTLP     map[string]int `json:"by_tlp"`
	Truncated bool           `json:"truncated,omitempty"`
	Published int            `json:"published"`
	Refused   int            `json:"refused"`
	// RefusedBy counts the refusals by reason (tlp, type, delay, ...).
	RefusedBy map[string]int `json:"refused_by"`
}

// objectsIn is what came in from a partner: the distinct objects taken
// by TLP (from the sharing ledger, kept across restarts), and the gate's
// decisions since start.
type objectsIn struct {
	ByTLP         map[string]int `json:"by_tlp"`
	Received      int            `json:"received"`
	Accepted      int            `json:"accepted"`
	Refused       int            `json:"refused"`
	RefusedBy     map[string]int `json:"refused_by"`
	SuspectsAdded int            `json:"suspects_added"`
}

// agreementView is a share.Agreement as JSON (its own fields carry YAML
// names only).
type agreementView struct {
	Identity string `json:"identity,omitempty"`
	Outgoing struct {
		Collections   []string `json:"collections"`
		MaxTLP        string   `json:"max_tlp"`
		Types         []string `json:"types"`
		MinConfidence int      `json:"min_confidence"`
		Delay         string   `json:"delay"`
		DelayS        float64  `json:"delay_s"`
		Domestic      bool     `json:"domestic"`
	} `json:"outgoing"`
	Incoming struct {
		Collections []string `json:"collections"`
		Trust       int      `json:"trust"`
		MaxAge      string   `json:"max_age"`
		MaxAgeS     float64  `json:"max_age_s"`
		Types       []string `json:"types"`
	} `json:"incoming"`
}

func viewAgreement(a share.Agreement) agreementView {
	var v agreementView
	v.Identity = a.Identity
	o, in := &v.Outgoing, &v.Incoming
	o.Collections, o.Types = nonNilStrings(a.Outgoing.Collections), nonNilStrings(a.Outgoing.Types)
	o.MaxTLP, o.MinConfidence, o.Domestic = tlpName(a.Outgoing.MaxTLP), a.Outgoing.MinConfidence, a.Outgoing.Domestic
	o.Delay, o.DelayS = a.Outgoing.Delay.String(), a.Outgoing.Delay.Seconds()
	in.Collections, in.Types, in.Trust = nonNilStrings(a.Incoming.Collections), nonNilStrings(a.Incoming.Types), a.Incoming.Trust
	in.MaxAge, in.MaxAgeS = a.Incoming.MaxAge.String(), a.Incoming.MaxAge.Seconds()
	return v
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// sharingRoutes registers GET /api/v1/sharing.
func (h *handler) sharingRoutes() {
	readers := []store.Role{store.RoleAnalyst, store.RoleCommissioner, store.RoleOperator, store.RoleAuditor, store.RoleAdmin}
	h.mux.Handle("/api/v1/sharing", h.route(http.MethodGet, readers, h.getSharing))
}

// getSharing answers GET /api/v1/sharing.
func (h *handler) getSharing(w http.ResponseWriter, r *http.Request) {
	if !noParams(w, r) {
		return
	}
	if h.deps.Sharing == nil {
		writeError(w, http.StatusServiceUnavailable, "sharing is not available on this server")
		return
	}
	rep, err := h.sharing(r.Context())
	if err != nil {
		if r.Context().Err() != nil {
			writeError(w, http.StatusServiceUnavailable, "unable to read the sharing state: the request was cancelled")
			return
		}
		h.log.Error("api: sharing report failed", "error", err)
		writeError(w, http.StatusInternalServerError, "unable to read the sharing state (the server logged why)")
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// sharing builds the report.
func (h *handler) sharing(ctx context.Context) (sharingReport, error) {
	ps, err := h.deps.Sharing.Partners(ctx, false)
	if err != nil {
		return sharingReport{}, err
	}
	var m series
	if h.deps.Gatherer != nil {
		if m, err = gatherSeries(h.deps.Gatherer, sharingFamilies); err != nil {
			return sharingReport{}, err
		}
	}
	rep := sharingReport{Running: h.deps.Intel != nil, Partners: []partnerSharing{}}
	rep.Totals.ObjectsOut, rep.Totals.ObjectsIn = newObjectsOut(), newObjectsIn()
	tstore := h.deps.Sharing.TAXII()
	in, err := h.deps.Sharing.ShareCounts(ctx, share.In)
	if err != nil {
		return sharingReport{}, err
	}
	for _, p := range ps {
		v := partnerSharing{Name: p.Name, URL: withoutUserInfo(p.URL), APIRoot: p.APIRoot, PushCollection: p.PushCollection,
			Created: p.Created, Agreement: viewAgreement(p.Agreement), LastSync: p.LastSync, LastError: p.LastError,
			Polls: map[string]int{}, ObjectsOut: newObjectsOut(), ObjectsIn: newObjectsIn()}
		if err := countOutgoing(ctx, tstore, p.Agreement.Outgoing.Collections, &v.ObjectsOut); err != nil {
			return sharingReport{}, err
		}
		for t, n := range in[p.Name] {
			v.ObjectsIn.ByTLP[t] += n
		}
		partnerMetrics(m, &v)
		rep.Totals.add(v)
		rep.Partners = append(rep.Partners, v)
	}
	rep.Totals.Partners = len(rep.Partners)
	return rep, nil
}

func newObjectsOut() objectsOut {
	return objectsOut{ByTLP: map[string]int{}, RefusedBy: map[string]int{}}
}
func newObjectsIn() objectsIn { return objectsIn{ByTLP: map[string]int{}, RefusedBy: map[string]int{}} }

// add adds a partner's counts to the totals.
func (t *sharingTotals) add(p partnerSharing) {
	o, i := &t.ObjectsOut, &t.ObjectsIn
	o.Total, o.Published, o.Refused = o.Total+p.ObjectsOut.Total, o.Published+p.ObjectsOut.Published, o.Refused+p.ObjectsOut.Refused
	o.Truncated = o.Truncated || p.ObjectsOut.Truncated
	for k, n := range p.ObjectsOut.ByTLP {
		o.ByTLP[k] += n
	}
	for k, n := range p.ObjectsOut.RefusedBy {
		o.RefusedBy[k] += n
	}
	i.Received, i.Accepted, i.Refused = i.Received+p.ObjectsIn.Received, i.Accepted+p.ObjectsIn.Accepted, i.Refused+p.ObjectsIn.Refused
	i.SuspectsAdded += p.ObjectsIn.SuspectsAdded
	for k, n := range p.ObjectsIn.ByTLP {
		i.ByTLP[k] += n
	}
	for k, n := range p.ObjectsIn.RefusedBy {
		i.RefusedBy[k] += n
	}
}

// accepted reports whether a gate's reason lets the object through.
func accepted(reason string) bool {
	return reason == string(share.ReasonOK) || reason == string(share.ReasonUpdateOK) || reason == string(share.ReasonRevokedOK)
}

// partnerMetrics fills in what the exchange's metrics say of p.
func partnerMetrics(m series, p *partnerSharing) {
	if m == nil {
		return
	}
	name := p.Name
	if ts := m.by(mLastSync, "partner")[name]; ts > 0 {
		p.LastPoll = time.Unix(0, int64(ts*1e9)).UTC()
	}
	for k, v := range m.by(mSyncs, "partner", "result") {
		if who, result, _ := strings.Cut(k, "\x00"); who == name {
			p.Polls[result] += int(v)
		}
	}
	p.ObjectsOut.Published = int(m.by(mPublished, "partner")[name])
	for k, v := range m.by(mOutgoing, "partner", "reason") {
		if who, reason, _ := strings.Cut(k, "\x00"); who == name && !accepted(reason) && v > 0 {
			p.ObjectsOut.Refused += int(v)
			p.ObjectsOut.RefusedBy[reason] += int(v)
		}
	}
	p.ObjectsIn.Received = int(m.by(mReceived, "partner")[name])
	for k, v := range m.by(mIncoming, "partner", "reason") {
		who, reason, _ := strings.Cut(k, "\x00")
		switch {
		case who != name || v <= 0:
		case accepted(reason):
			p.ObjectsIn.Accepted += int(v)
		default:
			p.ObjectsIn.Refused += int(v)
			p.ObjectsIn.RefusedBy[reason] += int(v)
		}
	}
	p.ObjectsIn.SuspectsAdded = int(m.by(mInSuspect, "partner", "op")[name+"\x00added"])
}

// countOutgoing counts the latest version of each object in the
// collections by its TLP marking ("none" when unmarked); the identity
// and marking definitions published with them are context, not counted.
func countOutgoing(ctx context.Context, ts taxii.Store, collections []string, out *objectsOut) error {
	for _, col := range collections {
		q := taxii.Query{Limit: 1000}
		for {
			if out.Total >= maxCountedObjects {
				out.Truncated = true
				return nil
			}
			page, err := ts.Objects(ctx, col, q)
			if errors.Is(err, taxii.ErrNotFound) {
				break // nothing published there yet
			}
			if err != nil {
				return err
			}
			for _, o := range page.Objects {
				if o.Type == "identity" || o.Type == "marking-definition" {
					continue
				}
				out.Total++
				out.ByTLP[tlpOf(o.Raw)]++
			}
			if !page.More || page.Next == "" {
				break
			}
			q.Next = page.Next
		}
	}
	return nil
}

// tlpOf returns the name of the TLP an object's marking refs give it,
// the highest when several; "none" without one.
func tlpOf(raw json.RawMessage) string {
	var o struct {
		Refs []string `json:"object_marking_refs"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return "none"
	}
	var best stix.TLP
	for _, ref := range o.Refs {
		if t, ok := stix.TLPOfMarking(ref); ok && t > best {
			best = t
		}
	}
	return tlpName(best)
}

// tlpName is a TLP's lower-case name ("amber+strict"), "none" for none.
func tlpName(t stix.TLP) string {
	b, err := t.MarshalText()
	if err != nil {
		return "none"
	}
	return string(b)
}

// withoutUserInfo drops a URL's user info (it may be a credential).
func withoutUserInfo(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	if u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}
