package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/acd-org/acd/intel/exchange"
	"github.com/acd-org/acd/intel/share"
)

// ShareLedger is the sharing side's ledger in the store (share.Ledger):
// who sent what, when, and what acd sent to whom — provenance that
// survives a restart.
func (db *DB) ShareLedger() share.Ledger { return shareLedger{db} }

type shareLedger struct{ db *DB }

func (l shareLedger) Record(ctx context.Context, e share.Entry) error {
	_, err := l.db.w.ExecContext(ctx, `INSERT INTO share_ledger (partner, object_id, version, direction, at, allowed, reason, tlp)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.Partner, e.ObjectID, e.Version.UnixNano(), string(e.Direction), e.At.UnixNano(), e.Allowed, string(e.Reason), e.TLP)
	return l.db.wrap("write the sharing ledger to", err)
}

func (l shareLedger) LastAllowed(ctx context.Context, partner, objectID string, dir share.Direction) (share.Entry, bool, error) {
	rows, err := l.query(ctx, `WHERE partner = ? AND object_id = ? AND direction = ? AND allowed = 1 ORDER BY id DESC LIMIT 1`,
		partner, objectID, string(dir))
	if err != nil || len(rows) == 0 {
		return share.Entry{}, false, err
	}
	return rows[0], true, nil
}

func (l shareLedger) Entries(ctx context.Context, q share.Query) ([]share.Entry, error) {
	where, args := `WHERE 1 = 1`, []any{}
	if q.Partner != "" {
		where, args = where+` AND partner = ?`, append(args, q.Partner)
	}
	if q.ObjectID != "" {
		where, args = where+` AND object_id = ?`, append(args, q.ObjectID)
	}
	if q.Direction != "" {
		where, args = where+` AND direction = ?`, append(args, string(q.Direction))
	}
	if !q.Since.IsZero() {
		where, args = where+` AND at >= ?`, append(args, q.Since.UnixNano())
	}
	limit := q.Limit
	if limit <= 0 {
		limit = -1
	}
	out, err := l.query(ctx, where+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	slices.Reverse(out) // oldest first, as share.MemLedger
	return out, err
}

func (l shareLedger) query(ctx context.Context, tail string, args ...any) ([]share.Entry, error) {
	rows, err := l.db.r.QueryContext(ctx, `SELECT partner, object_id, version, direction, at, allowed, reason, tlp FROM share_ledger `+tail, args...)
	if err != nil {
		return nil, l.db.wrap("read the sharing ledger from", err)
	}
	defer func() { _ = rows.Close() }()
	var out []share.Entry
	for rows.Next() {
		var (
			e           share.Entry
			version, at int64
			dir, reason string
		)
		if err := rows.Scan(&e.Partner, &e.ObjectID, &version, &dir, &at, &e.Allowed, &reason, &e.TLP); err != nil {
			return nil, l.db.wrap("read the sharing ledger from", err)
		}
		if version != 0 {
			e.Version = time.Unix(0, version).UTC()
		}
		e.At, e.Direction, e.Reason = time.Unix(0, at).UTC(), share.Direction(dir), share.Reason(reason)
		out = append(out, e)
	}
	return out, l.db.wrap("read the sharing ledger from", rows.Err())
}

// ShareCounts counts, per partner and TLP ("none" when unmarked), the
// distinct objects the gates let through in direction dir — for the
// console's sharing page ("objects in and out by TLP").
func (db *DB) ShareCounts(ctx context.Context, dir share.Direction) (map[string]map[string]int, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT partner, tlp, COUNT(DISTINCT object_id) FROM share_ledger
		WHERE direction = ? AND allowed = 1 GROUP BY partner, tlp`, string(dir))
	if err != nil {
		return nil, db.wrap("read the sharing ledger from", err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]map[string]int{}
	for rows.Next() {
		var (
			partner, tlp string
			n            int
		)
		if err := rows.Scan(&partner, &tlp, &n); err != nil {
			return nil, db.wrap("read the sharing ledger from", err)
		}
		if tlp == "" {
			tlp = "none"
		}
		if out[partner] == nil {
			out[partner] = map[string]int{}
		}
		out[partner][tlp] += n
	}
	return out, db.wrap("read the sharing ledger from", rows.Err())
}

// ShareBookmarks keeps the poller's bookmarks (date added of the last
// object taken per partner collection) in the store (exchange.Bookmarks).
func (db *DB) ShareBookmarks() exchange.Bookmarks { return shareBookmarks{db} }

type shareBookmarks struct{ db *DB }

// Get returns the bookmark of (partner, collection), zero when none.
func (b shareBookmarks) Get(ctx context.Context, partner, collection string) (time.Time, error) {
	var at int64
	err := b.db.r.QueryRowContext(ctx, `SELECT at FROM share_bookmarks WHERE partner = ? AND collection = ?`, partner, collection).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, b.db.wrap("read a bookmark from", err)
	}
	return time.Unix(0, at).UTC(), nil
}

// Set moves the bookmark of (partner, collection) to t.
func (b shareBookmarks) Set(ctx context.Context, partner, collection string, t time.Time) error {
	_, err := b.db.w.ExecContext(ctx, `INSERT INTO share_bookmarks (partner, collection, at) VALUES (?, ?, ?)
		ON CONFLICT (partner, collection) DO UPDATE SET at = excluded.at`, partner, collection, t.UnixNano())
	return b.db.wrap("write a bookmark to", err)
}
