package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/acd-org/acd/intel/taxii"
)

// Discovery is the server's discovery resource.
type Discovery struct {
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Contact     string   `json:"contact"`
	Default     string   `json:"default"`
	APIRoots    []string `json:"api_roots"`
}

// APIRoot is an API root resource.
type APIRoot struct {
	Title            string   `json:"title"`
	Description      string   `json:"description"`
	Versions         []string `json:"versions"`
	MaxContentLength int64    `json:"max_content_length"`
}

// Collection is a collection resource.
type Collection struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Alias       string   `json:"alias"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types"`
}

// Discovery fetches the discovery resource at Config.URL.
func (c *Client) Discovery(ctx context.Context) (Discovery, error) {
	var d Discovery
	_, err := c.do(ctx, http.MethodGet, c.cfg.URL, nil, http.StatusOK, &d)
	return d, err
}

// APIRoot fetches an API root (root is its URL, as in discovery).
func (c *Client) APIRoot(ctx context.Context, root string) (APIRoot, error) {
	var r APIRoot
	_, err := c.do(ctx, http.MethodGet, slash(root), nil, http.StatusOK, &r)
	return r, err
}

// Collections lists the collections of an API root the caller may use.
func (c *Client) Collections(ctx context.Context, root string) ([]Collection, error) {
	var r struct {
		Collections []Collection `json:"collections"`
	}
	_, err := c.do(ctx, http.MethodGet, slash(root)+"collections/", nil, http.StatusOK, &r)
	return r.Collections, err
}

// Filter narrows a poll; empty fields do not filter.
type Filter struct {
	Types        []string // match[type]
	IDs          []string // match[id]
	Version      string   // match[version]: first, last, all, a timestamp; "" = server default (last)
	SpecVersions []string // match[spec_version]
}

// Page is one page of a poll.
type Page struct {
	Objects []json.RawMessage
	// DateAddedLast is the page's X-TAXII-Date-Added-Last: the bookmark
	// to poll from next time (zero when the page is empty).
	DateAddedLast time.Time
}

// Poll fetches the objects of a collection added after since (zero:
// from the start), page by page, calling fn for each non-empty page in
// date added order, and returns the bookmark for the next poll: the
// last date added seen, or since when nothing was new. If fn fails,
// Poll stops and returns the bookmark of the pages fn accepted, with
// the error, so that the caller keeps what it has.
func (c *Client) Poll(ctx context.Context, root, collection string, since time.Time, f Filter, fn func(Page) error) (time.Time, error) {
	base := slash(root) + "collections/" + url.PathEscape(collection) + "/objects/"
	bookmark, next := since, ""
	for {
		q := f.values()
		q.Set("limit", strconv.Itoa(c.cfg.PageSize))
		if next != "" {
			q.Set("next", next)
		}
		if !since.IsZero() {
			q.Set("added_after", taxii.FormatTimestamp(since))
		}
		var env struct {
			More    bool              `json:"more"`
			Next    string            `json:"next"`
			Objects []json.RawMessage `json:"objects"`
		}
		h, err := c.do(ctx, http.MethodGet, base+"?"+q.Encode(), nil, http.StatusOK, &env)
		if err != nil {
			return bookmark, err
		}
		p := Page{Objects: env.Objects}
		if s := h.Get("X-TAXII-Date-Added-Last"); s != "" {
			if p.DateAddedLast, err = taxii.ParseTimestamp(s); err != nil {
				return bookmark, fmt.Errorf("unable to poll %s: bad X-TAXII-Date-Added-Last: %w", base, err)
			}
		}
		if len(p.Objects) > 0 {
			if err := fn(p); err != nil {
				return bookmark, err
			}
			if p.DateAddedLast.After(bookmark) {
				bookmark = p.DateAddedLast
			}
		}
		switch {
		case !env.More:
			return bookmark, nil
		case env.Next != "":
			next = env.Next // same filters, same added_after
		case !p.DateAddedLast.IsZero() && p.DateAddedLast.After(since):
			since = p.DateAddedLast // a server without next: page by added_after
		default:
			return bookmark, fmt.Errorf("unable to poll %s: more without next nor date added", base)
		}
	}
}

func (f Filter) values() url.Values {
	q := url.Values{}
	set := func(k string, v []string) {
		if len(v) > 0 {
			q.Set(k, strings.Join(v, ","))
		}
	}
	set("match[type]", f.Types)
	set("match[id]", f.IDs)
	set("match[spec_version]", f.SpecVersions)
	if f.Version != "" {
		q.Set("match[version]", f.Version)
	}
	return q
}

// Post sends objects to a collection in one envelope and follows the
// status resource until it is complete (or StatusTimeout passes). The
// caller keeps envelopes under the API root's max_content_length.
func (c *Client) Post(ctx context.Context, root, collection string, objects []json.RawMessage) (taxii.Status, error) {
	body, err := json.Marshal(struct {
		Objects []json.RawMessage `json:"objects"`
	}{objects})
	if err != nil {
		return taxii.Status{}, fmt.Errorf("unable to encode envelope: %w", err)
	}
	var st taxii.Status
	u := slash(root) + "collections/" + url.PathEscape(collection) + "/objects/"
	if _, err := c.do(ctx, http.MethodPost, u, body, http.StatusAccepted, &st); err != nil {
		return st, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.StatusTimeout)
	defer cancel()
	for st.Status != "complete" {
		if st.ID == "" {
			return st, errors.New("unable to follow status: the server sent no status id")
		}
		if err := c.deps.Sleep(ctx, c.cfg.StatusInterval); err != nil {
			return st, fmt.Errorf("unable to follow status %s: %w", st.ID, err)
		}
		if _, err := c.do(ctx, http.MethodGet, slash(root)+"status/"+url.PathEscape(st.ID)+"/", nil, http.StatusOK, &st); err != nil {
			return st, err
		}
	}
	return st, nil
}

func slash(u string) string {
	if strings.HasSuffix(u, "/") {
		return u
	}
	return u + "/"
}
