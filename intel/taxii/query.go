package taxii

import (
	"fmt"
	"mime"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// endpoint says which query parameters an endpoint accepts.
type endpoint int

const (
	epObjects  endpoint = iota // objects and manifest: all filters
	epObject                   // one object: no match[id], match[type]
	epVersions                 // versions: added_after, limit, next, match[spec_version]
	epDelete                   // delete: match[version], match[spec_version]
)

var allowed = map[endpoint][]string{
	epObjects:  {"added_after", "limit", "next", "match[id]", "match[type]", "match[version]", "match[spec_version]"},
	epObject:   {"added_after", "limit", "next", "match[version]", "match[spec_version]"},
	epVersions: {"added_after", "limit", "next", "match[spec_version]"},
	epDelete:   {"match[version]", "match[spec_version]"},
}

// ParseQuery parses the URL query of an objects or manifest request
// into a Query, with limit clamped to maxLimit (and maxLimit when
// absent). Unknown parameters are an error.
func ParseQuery(v url.Values, maxLimit int) (Query, error) {
	return parseQuery(v, epObjects, maxLimit)
}

func parseQuery(v url.Values, ep endpoint, maxLimit int) (Query, error) {
	q := Query{Limit: maxLimit}
	for k, vals := range v {
		if !contains(allowed[ep], k) {
			return Query{}, fmt.Errorf("unsupported query parameter %q", k)
		}
		if len(vals) != 1 {
			return Query{}, fmt.Errorf("query parameter %q given %d times", k, len(vals))
		}
	}
	var err error
	if s := v.Get("added_after"); s != "" {
		if q.AddedAfter, err = ParseTimestamp(s); err != nil {
			return Query{}, fmt.Errorf("invalid added_after: %w", err)
		}
	}
	if s, ok := v["limit"]; ok {
		n, err := strconv.Atoi(s[0])
		if err != nil || n < 1 {
			return Query{}, fmt.Errorf("invalid limit %q: not a positive integer", s[0])
		}
		q.Limit = min(n, maxLimit)
	}
	q.Next = v.Get("next")
	q.IDs = list(v.Get("match[id]"))
	q.Types = list(v.Get("match[type]"))
	q.SpecVersions = list(v.Get("match[spec_version]"))
	for _, id := range q.IDs {
		t, _, _ := strings.Cut(id, "--")
		if checkID(id, t) != nil {
			return Query{}, fmt.Errorf("invalid match[id] %q", id)
		}
	}
	for _, s := range list(v.Get("match[version]")) {
		m, err := parseVersion(s)
		if err != nil {
			return Query{}, err
		}
		q.Versions = append(q.Versions, m)
	}
	return q, nil
}

func parseVersion(s string) (VersionMatch, error) {
	switch s {
	case "first":
		return VersionMatch{Kind: VersionFirst}, nil
	case "last":
		return VersionMatch{Kind: VersionLast}, nil
	case "all":
		return VersionMatch{Kind: VersionAll}, nil
	}
	t, err := ParseTimestamp(s)
	if err != nil {
		return VersionMatch{}, fmt.Errorf("invalid match[version] %q: not first, last, all or a timestamp", s)
	}
	return VersionMatch{Kind: VersionAt, At: t}, nil
}

// list splits a comma-separated parameter, dropping empty items.
func list(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func contains(l []string, s string) bool { return slices.Contains(l, s) }

// acceptable reports whether an Accept header allows the TAXII 2.1
// media type: application/taxii+json with version 2.1 or no version,
// application/* or */*, with a non-zero q. An absent header allows
// anything (RFC 9110).
func acceptable(accept string) bool {
	if strings.TrimSpace(accept) == "" {
		return true
	}
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if q, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(q, 64); err != nil || f <= 0 {
				continue
			}
		}
		switch mt {
		case "*/*", "application/*":
			return true
		case "application/taxii+json":
			if v, ok := params["version"]; !ok || v == "2.1" {
				return true
			}
		}
	}
	return false
}

// postable reports whether a Content-Type is the TAXII 2.1 media type
// (application/taxii+json, version 2.1 or absent).
func postable(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/taxii+json" {
		return false
	}
	v, ok := params["version"]
	return !ok || v == "2.1"
}
