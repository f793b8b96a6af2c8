package taxii

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// manifestRecord is one manifest entry.
type manifestRecord struct {
	ID        string `json:"id"`
	DateAdded string `json:"date_added"`
	Version   string `json:"version"`
	MediaType string `json:"media_type"`
}

// FormatVersion writes an object version: RFC 3339 UTC with at least
// milliseconds, and as many more digits as it has.
func FormatVersion(t time.Time) string {
	t = t.UTC()
	switch {
	case t.Nanosecond()%int(time.Millisecond) == 0:
		return t.Format("2006-01-02T15:04:05.000Z")
	case t.Nanosecond()%int(time.Microsecond) == 0:
		return t.Format(TimestampFormat)
	}
	return t.Format("2006-01-02T15:04:05.000000000Z")
}

// query parses the request's query for ep, or answers 400.
func (s *Server) query(w http.ResponseWriter, r *http.Request, ep endpoint) (Query, bool) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	var q Query
	if err == nil {
		q, err = parseQuery(v, ep, s.cfg.MaxPageSize)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid-query", err.Error())
		return Query{}, false
	}
	return q, true
}

// dateHeaders sets X-TAXII-Date-Added-First/Last from a page.
func dateHeaders(w http.ResponseWriter, objs []Object) {
	if len(objs) == 0 {
		return
	}
	w.Header().Set("X-TAXII-Date-Added-First", FormatTimestamp(objs[0].DateAdded))
	w.Header().Set("X-TAXII-Date-Added-Last", FormatTimestamp(objs[len(objs)-1].DateAdded))
}

// writeEnvelope writes a page as an envelope. The objects' raw JSON is
// copied as stored (it was compacted and checked when posted), not
// re-encoded: this is the hot path of GET.
func writeEnvelope(w http.ResponseWriter, p Page) {
	n := 64 + len(p.Next)
	for _, o := range p.Objects {
		n += len(o.Raw) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, `{"more":`...)
	b = strconv.AppendBool(b, p.More)
	if p.Next != "" {
		b = append(b, `,"next":`...)
		b = strconv.AppendQuote(b, p.Next)
	}
	if len(p.Objects) > 0 {
		b = append(b, `,"objects":[`...)
		for i, o := range p.Objects {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, o.Raw...)
		}
		b = append(b, ']')
	}
	b = append(b, '}')
	dateHeaders(w, p.Objects)
	w.Header().Set("Content-Type", MediaType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func (s *Server) objects(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		s.post(w, r)
		return
	}
	c, q, ok := s.readQuery(w, r, epObjects)
	if !ok {
		return
	}
	p, err := s.deps.Store.Objects(r.Context(), c.ID, q)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	writeEnvelope(w, p)
}

// readQuery looks the collection up for reading (answering 403/404) and
// reads the query parameters of endpoint ep (answering 400).
func (s *Server) readQuery(w http.ResponseWriter, r *http.Request, ep endpoint) (collectionResource, Query, bool) {
	c, ok := s.readable(w, r)
	if !ok {
		return c, Query{}, false
	}
	q, ok := s.query(w, r, ep)
	return c, q, ok
}

// exists reports whether any version of object id is in collection.
func (s *Server) exists(r *http.Request, collection, id string) (bool, error) {
	p, err := s.deps.Store.Manifest(r.Context(), collection, Query{
		Filter: Filter{IDs: []string{id}, Versions: []VersionMatch{{Kind: VersionAll}}},
		Limit:  1,
	})
	return len(p.Objects) > 0, err
}

// page runs get for one object and answers 404 when the object does
// not exist at all.
func (s *Server) page(w http.ResponseWriter, r *http.Request, c collectionResource, q Query,
	get func(Query) (Page, error)) (Page, bool) {
	p, err := get(q)
	if err == nil && len(p.Objects) == 0 {
		var found bool
		if found, err = s.exists(r, c.ID, q.IDs[0]); err == nil && !found {
			writeError(w, http.StatusNotFound, "object-not-found", "no such object")
			return Page{}, false
		}
	}
	if err != nil {
		s.storeError(w, r, err)
		return Page{}, false
	}
	return p, true
}

func (s *Server) object(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodDelete {
		s.delete(w, r)
		return
	}
	c, q, ok := s.readQuery(w, r, epObject)
	if !ok {
		return
	}
	q.IDs = []string{r.PathValue("oid")}
	p, ok := s.page(w, r, c, q, func(q Query) (Page, error) { return s.deps.Store.Objects(r.Context(), c.ID, q) })
	if ok {
		writeEnvelope(w, p)
	}
}

func (s *Server) versions(w http.ResponseWriter, r *http.Request) {
	c, q, ok := s.readQuery(w, r, epVersions)
	if !ok {
		return
	}
	q.IDs = []string{r.PathValue("oid")}
	q.Versions = []VersionMatch{{Kind: VersionAll}}
	p, ok := s.page(w, r, c, q, func(q Query) (Page, error) { return s.deps.Store.Manifest(r.Context(), c.ID, q) })
	if !ok {
		return
	}
	var out struct {
		More     bool     `json:"more"`
		Next     string   `json:"next,omitempty"`
		Versions []string `json:"versions,omitempty"`
	}
	out.More, out.Next = p.More, p.Next
	for _, o := range p.Objects {
		out.Versions = append(out.Versions, FormatVersion(o.Version))
	}
	dateHeaders(w, p.Objects)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) manifest(w http.ResponseWriter, r *http.Request) {
	c, q, ok := s.readQuery(w, r, epObjects)
	if !ok {
		return
	}
	p, err := s.deps.Store.Manifest(r.Context(), c.ID, q)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	var out struct {
		More    bool             `json:"more"`
		Next    string           `json:"next,omitempty"`
		Objects []manifestRecord `json:"objects,omitempty"`
	}
	out.More, out.Next = p.More, p.Next
	for _, o := range p.Objects {
		out.Objects = append(out.Objects, manifestRecord{o.ID, FormatTimestamp(o.DateAdded), FormatVersion(o.Version), "application/stix+json;version=" + o.SpecVersion})
	}
	dateHeaders(w, p.Objects)
	writeJSON(w, http.StatusOK, out)
}

// writable looks the collection up and answers 403 when the caller may
// not write it.
func (s *Server) writable(w http.ResponseWriter, r *http.Request) (collectionResource, bool) {
	c, ok := s.lookup(w, r)
	if ok && !c.CanWrite {
		writeError(w, http.StatusForbidden, "write-forbidden", "you may not write to this collection")
		return c, false
	}
	return c, ok
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	c, ok := s.writable(w, r)
	if !ok {
		return
	}
	q, ok := s.query(w, r, epDelete)
	if !ok {
		return
	}
	n, err := s.deps.Store.Delete(r.Context(), c.ID, r.PathValue("oid"), q.Filter)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if n == 0 {
		writeError(w, http.StatusNotFound, "object-not-found", "no such object (or version)")
		return
	}
	w.Header().Set("Content-Type", MediaType)
	w.WriteHeader(http.StatusOK)
}

// post adds the objects of an envelope and answers 202 with a status
// resource.
func (s *Server) post(w http.ResponseWriter, r *http.Request) {
	c, ok := s.writable(w, r)
	if !ok {
		return
	}
	if !postable(r.Header.Get("Content-Type")) {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported-media-type", "Content-Type must be "+MediaType)
		return
	}
	root := s.roots[r.PathValue("root")]
	if r.ContentLength > root.MaxContentLength {
		writeError(w, http.StatusRequestEntityTooLarge, "too-large",
			fmt.Sprintf("body of %d bytes is over max_content_length %d", r.ContentLength, root.MaxContentLength))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, root.MaxContentLength))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "too-large",
			fmt.Sprintf("body is over max_content_length %d", root.MaxContentLength))
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "unreadable", "unable to read body: "+err.Error())
		return
	}
	raws, status, err := DecodeEnvelope(body)
	if err != nil {
		writeError(w, status, "invalid-envelope", err.Error())
		return
	}
	st, err := s.add(r, c.ID, raws)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if err := s.deps.Store.PutStatus(r.Context(), StatusRecord{Status: st, APIRoot: root.Name, Owner: principal(r).Name}); err != nil {
		s.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, st)
}

// DecodeEnvelope decodes a posted envelope into its objects' JSON
// (compacted copies). It returns the HTTP status for an error: 400 for
// a body that is not JSON, 422 for JSON that is not an envelope of
// objects.
func DecodeEnvelope(body []byte) ([]json.RawMessage, int, error) {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) || !json.Valid(body) {
			return nil, http.StatusBadRequest, fmt.Errorf("unable to decode envelope: %w", err)
		}
		return nil, http.StatusUnprocessableEntity, fmt.Errorf("body is not an envelope: %w", err)
	}
	field, ok := env["objects"]
	if !ok {
		return nil, http.StatusUnprocessableEntity, errors.New(`envelope has no "objects"`)
	}
	var objs []json.RawMessage
	if err := json.Unmarshal(field, &objs); err != nil || objs == nil {
		return nil, http.StatusUnprocessableEntity, errors.New(`envelope "objects" is not a list`)
	}
	out := make([]json.RawMessage, 0, len(objs))
	for i, o := range objs {
		if len(o) == 0 || o[0] != '{' {
			return nil, http.StatusUnprocessableEntity, fmt.Errorf("object %d is not a JSON object", i)
		}
		var b bytes.Buffer
		if err := json.Compact(&b, o); err != nil {
			return nil, http.StatusUnprocessableEntity, fmt.Errorf("object %d: %w", i, err)
		}
		out = append(out, b.Bytes())
	}
	return out, 0, nil
}

// add validates and stores raws, returning the status resource.
func (s *Server) add(r *http.Request, collection string, raws []json.RawMessage) (Status, error) {
	st := Status{ID: s.deps.NewID(), Status: "complete", RequestTimestamp: FormatTimestamp(s.deps.Now()), TotalCount: len(raws)}
	var good []Object
	for _, raw := range raws {
		o, err := ParseObject(raw)
		switch {
		case err != nil:
		case s.deps.Validator == nil:
			err = checkObject(o)
		default:
			err = s.deps.Validator(raw)
		}
		if err != nil {
			var h head
			_ = json.Unmarshal(raw, &h)
			st.Failures = append(st.Failures, StatusDetails{ID: h.ID, Version: versionField(h), Message: err.Error()})
			continue
		}
		good = append(good, o)
	}
	added, err := s.deps.Store.AddObjects(r.Context(), collection, good)
	if err != nil {
		return Status{}, err
	}
	for i, o := range good {
		v := o.Version
		if v.IsZero() {
			v = added[i]
		}
		st.Successes = append(st.Successes, StatusDetails{ID: o.ID, Version: FormatVersion(v)})
	}
	st.SuccessCount, st.FailureCount = len(st.Successes), len(st.Failures)
	s.m.objects.WithLabelValues("success").Add(float64(st.SuccessCount))
	s.m.objects.WithLabelValues("failure").Add(float64(st.FailureCount))
	s.deps.Logger.Debug("taxii objects posted", "collection", collection, "principal", principal(r).Name,
		"success", st.SuccessCount, "failure", st.FailureCount)
	return st, nil
}

// versionField is the version of an object that failed to parse, as
// given.
func versionField(h head) string {
	if h.Modified != "" {
		return h.Modified
	}
	return h.Created
}
