package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// entryColumns are the columns scanEntry reads, in order.
const entryColumns = `seq, time, actor, action, object, data, prev, hash`

// scanner is *sql.Rows or *sql.Row.
type scanner interface{ Scan(dest ...any) error }

func scanEntry(s scanner) (Entry, error) {
	var (
		e    Entry
		ns   int64
		data string
	)
	if err := s.Scan(&e.Seq, &ns, &e.Actor, &e.Action, &e.Object, &data, &e.Prev, &e.Hash); err != nil {
		return e, err
	}
	e.Time = time.Unix(0, ns).UTC()
	if data != "" {
		e.Data = json.RawMessage(data)
	}
	return e, nil
}

func scanCheckpoint(s scanner) (Checkpoint, error) {
	var (
		c  Checkpoint
		ns int64
	)
	if err := s.Scan(&c.Seq, &c.Hash, &ns, &c.Key, &c.Sig); err != nil {
		return c, err
	}
	c.Time = time.Unix(0, ns).UTC()
	return c, nil
}

// eachEntry calls fn for every entry with seq in [from, to] (to 0: no
// bound), in seq order.
func eachEntry(ctx context.Context, q Querier, from, to int64, fn func(Entry) error) error {
	if to <= 0 {
		to = 1<<63 - 1
	}
	rows, err := q.QueryContext(ctx, `SELECT `+entryColumns+` FROM audit_entries WHERE seq BETWEEN ? AND ? ORDER BY seq`, from, to)
	if err != nil {
		return fmt.Errorf("audit: unable to read entries: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return fmt.Errorf("audit: unable to read entries: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: unable to read entries: %w", err)
	}
	return nil
}

// checkpoints returns the checkpoints with seq in [from, to] (to 0: no
// bound), by seq.
func checkpoints(ctx context.Context, q Querier, from, to int64) ([]Checkpoint, error) {
	if to <= 0 {
		to = 1<<63 - 1
	}
	rows, err := q.QueryContext(ctx, `SELECT seq, hash, time, key, sig FROM audit_checkpoints WHERE seq BETWEEN ? AND ? ORDER BY seq, id`, from, to)
	if err != nil {
		return nil, fmt.Errorf("audit: unable to read checkpoints: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []Checkpoint
	for rows.Next() {
		c, err := scanCheckpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("audit: unable to read checkpoints: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: unable to read checkpoints: %w", err)
	}
	return out, nil
}

// VerifyDB verifies the whole log in q. For a consistent view of a live
// database, q should be a read transaction. The error is for failing to
// read; what is wrong with the log is in the Report.
func VerifyDB(ctx context.Context, q Querier, pub ed25519.PublicKey) (Report, error) {
	v := NewVerifier(pub, Options{})
	cps, err := checkpoints(ctx, q, 0, 0)
	if err != nil {
		return Report{}, err
	}
	for _, c := range cps {
		v.Checkpoint(c)
	}
	if err := eachEntry(ctx, q, 0, 0, func(e Entry) error { v.Entry(e); return nil }); err != nil {
		return Report{}, err
	}
	return v.Report(), nil
}

// Filter selects entries for List. Zero fields match everything.
type Filter struct {
	// From and To bound the entries' time: From <= Time < To.
	From, To time.Time
	// Actor and Object match exactly.
	Actor, Object string
	// Action matches exactly, or, ending in ".*" (case.*), every action
	// under that prefix.
	Action string
	// Limit keeps the newest Limit entries (0: all).
	Limit int
}

// List returns the entries f selects, in seq order.
func List(ctx context.Context, q Querier, f Filter) ([]Entry, error) {
	var (
		where []string
		args  []any
	)
	if !f.From.IsZero() {
		where, args = append(where, "time >= ?"), append(args, f.From.UnixNano())
	}
	if !f.To.IsZero() {
		where, args = append(where, "time < ?"), append(args, f.To.UnixNano())
	}
	if f.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, f.Actor)
	}
	if f.Object != "" {
		where, args = append(where, "object = ?"), append(args, f.Object)
	}
	if prefix, ok := strings.CutSuffix(f.Action, ".*"); ok {
		where, args = append(where, "substr(action, 1, ?) = ?"), append(args, len(prefix)+1, prefix+".")
	} else if f.Action != "" {
		where, args = append(where, "action = ?"), append(args, f.Action)
	}
	query := `SELECT ` + entryColumns + ` FROM audit_entries`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY seq DESC`
	if f.Limit > 0 {
		query += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: unable to list entries: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("audit: unable to list entries: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: unable to list entries: %w", err)
	}
	slices.Reverse(out)
	return out, nil
}
