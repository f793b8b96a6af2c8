package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Genesis is the Prev of entry 1: 32 zero bytes, hex.
var Genesis = strings.Repeat("0", 2*sha256.Size)

// Limits on an entry's fields.
const (
	MaxActor  = 256      // bytes
	MaxObject = 1024     // bytes
	MaxData   = 64 << 10 // bytes of compact JSON
	maxAction = 64       // bytes
	entryTag  = "acd-audit-entry-v1\n"
)

var actionName = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

// Entry is one record of the log.
type Entry struct {
	// Seq numbers the entries from 1 without gaps. Append assigns it.
	Seq int64 `json:"seq"`
	// Time is when it happened (UTC, nanoseconds kept).
	Time time.Time `json:"time"`
	// Actor is who acted: a user or token name, or "system".
	Actor string `json:"actor"`
	// Action is what was done: one of the Action* constants or another
	// dotted lower-case name.
	Action string `json:"action"`
	// Object is what it was done to, as "kind:id" (token:grafana,
	// case:42), or empty.
	Object string `json:"object,omitempty"`
	// Data holds details as a JSON value (an object by convention; keys
	// DataRoute and DataType are counted by the oversight report). Append
	// stores it compact with HTML-sensitive characters escaped, the form
	// encoding/json writes, so that it survives any JSON round trip byte
	// for byte. Never put a secret in it.
	Data json.RawMessage `json:"data,omitempty"`
	// Prev is the previous entry's Hash (Genesis for entry 1).
	Prev string `json:"prev"`
	// Hash is the hex SHA-256 of the entry's canonical encoding.
	Hash string `json:"hash"`
}

// ComputeHash returns the hash e should carry: the hex SHA-256 of
//
//	"acd-audit-entry-v1\n" || prev (32 bytes) || seq (8 bytes, big endian)
//	|| time (Unix ns, 8 bytes, big endian) || actor || action || object || data
//
// where each string is preceded by its length (4 bytes, big endian). A
// Prev that is not 64 hex digits hashes as its raw bytes, so that a
// malformed link still yields a (non-matching) hash.
func (e Entry) ComputeHash() string {
	h := sha256.New()
	var b [8]byte
	h.Write([]byte(entryTag))
	if p, err := hex.DecodeString(e.Prev); err == nil && len(p) == sha256.Size {
		h.Write(p)
	} else {
		writeField(h, []byte(e.Prev))
	}
	binary.BigEndian.PutUint64(b[:], uint64(e.Seq))
	h.Write(b[:])
	binary.BigEndian.PutUint64(b[:], uint64(e.Time.UnixNano()))
	h.Write(b[:])
	for _, f := range [][]byte{[]byte(e.Actor), []byte(e.Action), []byte(e.Object), e.Data} {
		writeField(h, f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// writeField writes a length-prefixed byte string.
func writeField(h interface{ Write([]byte) (int, error) }, f []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(f)))
	_, _ = h.Write(n[:])
	_, _ = h.Write(f)
}

// CanonicalData returns data in the form Append stores: nil for none
// (empty or JSON null), else compact JSON with <, >, &, U+2028 and U+2029
// escaped. It fails on invalid JSON or UTF-8, or data over MaxData.
func CanonicalData(data json.RawMessage) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return nil, nil
	}
	if !utf8.Valid(trimmed) {
		return nil, errors.New("audit: data is not valid UTF-8")
	}
	var c bytes.Buffer
	if err := json.Compact(&c, trimmed); err != nil {
		return nil, fmt.Errorf("audit: data is not valid JSON: %w", err)
	}
	var out bytes.Buffer
	json.HTMLEscape(&out, c.Bytes())
	if out.Len() > MaxData {
		return nil, fmt.Errorf("audit: data is %d bytes, over %d", out.Len(), MaxData)
	}
	return out.Bytes(), nil
}

// normalize validates the caller's fields of e and puts them in canonical
// form; a zero Time becomes now.
func (e Entry) normalize(now func() time.Time) (Entry, error) {
	var errs []error
	if !actionName.MatchString(e.Action) {
		errs = append(errs, fmt.Errorf("action %q: want 1 to %d of [a-z0-9_.-], starting with a letter", e.Action, maxAction))
	}
	if e.Actor == "" || len(e.Actor) > MaxActor || !utf8.ValidString(e.Actor) {
		errs = append(errs, fmt.Errorf("actor %q: want 1 to %d bytes of UTF-8", e.Actor, MaxActor))
	}
	if len(e.Object) > MaxObject || !utf8.ValidString(e.Object) {
		errs = append(errs, fmt.Errorf("object: want at most %d bytes of UTF-8", MaxObject))
	}
	data, err := CanonicalData(e.Data)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return e, fmt.Errorf("audit: invalid entry: %w", err)
	}
	e.Data = data
	if e.Time.IsZero() {
		e.Time = now()
	}
	e.Time = e.Time.UTC()
	if y := e.Time.Year(); y < 1970 || y > 2200 {
		return e, fmt.Errorf("audit: invalid entry: time %v out of range", e.Time)
	}
	return e, nil
}

// Data returns a JSON object of the given key-value pairs, for
// Entry.Data. It panics on an odd number of arguments or a non-string
// key (a programming error); values must be JSON-encodable.
func Data(kv ...any) json.RawMessage {
	if len(kv)%2 != 0 {
		panic("audit.Data: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic("audit.Data: " + err.Error())
	}
	return b
}

// Append adds e to the log inside tx and returns it as stored, with Seq,
// Prev, Hash and (when zero) Time filled in; any Seq, Prev or Hash the
// caller set is ignored. The entry commits or rolls back with tx. tx must
// hold the write lock from its start (BEGIN IMMEDIATE) so that no other
// writer appends between the read of the last entry and the insert.
func Append(ctx context.Context, tx *sql.Tx, e Entry) (Entry, error) {
	e, err := e.normalize(time.Now)
	if err != nil {
		return e, err
	}
	last, err := lastEntry(ctx, tx)
	if err != nil {
		return e, err
	}
	e.Seq, e.Prev = last.seq+1, last.hash
	e.Hash = e.ComputeHash()
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_entries (seq, time, actor, action, object, data, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.Time.UnixNano(), e.Actor, e.Action, e.Object, string(e.Data), e.Prev, e.Hash); err != nil {
		return e, fmt.Errorf("audit: unable to append entry %d: %w", e.Seq, err)
	}
	return e, nil
}

// head is the latest entry's sequence number and hash.
type head struct {
	seq  int64
	hash string
}

// lastEntry returns the latest entry's seq and hash (0, Genesis when the
// log is empty).
func lastEntry(ctx context.Context, q Querier) (head, error) {
	var h head
	err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1`).Scan(&h.seq, &h.hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return head{0, Genesis}, nil
	case err != nil:
		return h, fmt.Errorf("audit: unable to read the last entry: %w", err)
	}
	return h, nil
}

// Querier is what reading the log needs: *sql.DB, *sql.Tx and *sql.Conn
// all satisfy it.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
