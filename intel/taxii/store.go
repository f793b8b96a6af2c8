package taxii

import (
	"context"
	"errors"
	"time"
)

// Store errors. A Store returns them (possibly wrapped) so that the
// handler answers with the right status.
var (
	// ErrNotFound: no such status resource (404).
	ErrNotFound = errors.New("taxii: not found")
	// ErrBadToken: a next token the store did not issue (400).
	ErrBadToken = errors.New("taxii: invalid next token")
	// ErrUnavailable: the store cannot serve now; try again (503).
	ErrUnavailable = errors.New("taxii: store unavailable")
)

// Store keeps the objects of every collection and the status resources.
// Implementations must be safe for concurrent use. MemStore is the
// in-memory one; the lead adds SQLite.
//
// Date added: AddObjects gives each new object version a date added
// with microsecond precision, strictly greater than every date added
// before it in the same collection (ties broken by adding 1 µs). An
// object version (same id and version) already present is a duplicate:
// it is not stored again and keeps its first date added.
type Store interface {
	// AddObjects stores objs (parsed and validated) in the collection,
	// creating it if needed, and returns each object's date added, in
	// order.
	AddObjects(ctx context.Context, collection string, objs []Object) ([]time.Time, error)
	// Objects returns the object versions matching q, ordered by date
	// added, at most q.Limit of them, with Objects' More and Next set
	// when more match.
	Objects(ctx context.Context, collection string, q Query) (Page, error)
	// Manifest is Objects without the raw bytes (the store may skip
	// loading them).
	Manifest(ctx context.Context, collection string, q Query) (Page, error)
	// Delete removes the versions of object id matching f's Versions
	// and SpecVersions (all versions when f.Versions is empty) and
	// returns how many it removed.
	Delete(ctx context.Context, collection, id string, f Filter) (int, error)
	// PutStatus stores (or replaces) a status resource.
	PutStatus(ctx context.Context, s StatusRecord) error
	// Status returns the status resource id, or ErrNotFound.
	Status(ctx context.Context, id string) (StatusRecord, error)
}

// VersionKind says which versions of an object match[version] selects.
type VersionKind int

// Version selectors.
const (
	VersionLast  VersionKind = iota // the latest version (default)
	VersionFirst                    // the earliest version
	VersionAll                      // every version
	VersionAt                       // the version at a timestamp
)

// VersionMatch is one match[version] value.
type VersionMatch struct {
	Kind VersionKind
	At   time.Time // for VersionAt
}

// Filter selects object versions. Empty lists select everything;
// several values in a list are alternatives (OR); lists combine with
// AND. Versions are selected per object first (among the versions
// matching SpecVersions), then AddedAfter applies.
type Filter struct {
	AddedAfter   time.Time      // date added strictly after; zero: no bound
	IDs          []string       // match[id]
	Types        []string       // match[type]
	Versions     []VersionMatch // match[version]; empty means last
	SpecVersions []string       // match[spec_version]; empty means all
}

// Query is a filter with paging.
type Query struct {
	Filter
	Limit int    // at most this many (> 0)
	Next  string // token from a previous Page, or ""
}

// Page is one page of results.
type Page struct {
	Objects []Object // ordered by date added
	More    bool     // more match after these
	Next    string   // token for the next page when More
}

// StatusRecord is a status resource with who may read it.
type StatusRecord struct {
	Status
	APIRoot string // root the POST went to
	Owner   string // principal that posted
}

// Status is the TAXII status resource.
type Status struct {
	ID               string          `json:"id"`
	Status           string          `json:"status"` // "complete" or "pending"
	RequestTimestamp string          `json:"request_timestamp,omitempty"`
	TotalCount       int             `json:"total_count"`
	SuccessCount     int             `json:"success_count"`
	Successes        []StatusDetails `json:"successes,omitempty"`
	FailureCount     int             `json:"failure_count"`
	Failures         []StatusDetails `json:"failures,omitempty"`
	PendingCount     int             `json:"pending_count"`
	Pendings         []StatusDetails `json:"pendings,omitempty"`
}

// StatusDetails is one object in a status resource.
type StatusDetails struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Message string `json:"message,omitempty"`
}
