package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/acd-org/acd/detect"
)

// SuspectKey is a suspect's primary key in the store: the address or
// prefix, and for a pseudonym "#p" and its key epoch
// ("198.18.7.9#p3"), so the same pseudonym in two epochs is two rows.
func SuspectKey(k detect.Key) string {
	if !k.Pseudo {
		return k.String()
	}
	return k.String() + "#p" + strconv.FormatUint(uint64(k.KeyEpoch), 10)
}

// SaveSuspects inserts or replaces suspects, in one transaction; a
// suspect without evidence (all withdrawn) is deleted.
func (db *DB) SaveSuspects(ctx context.Context, ss []detect.Suspect) error {
	if len(ss) == 0 {
		return nil
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return db.wrap("write suspects to", err)
	}
	defer func() { _ = tx.Rollback() }()
	st, err := tx.PrepareContext(ctx, `INSERT INTO suspects
		(key, address, pseudonym, key_epoch, score, roles, first_seen, last_seen, updated, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET score = excluded.score, roles = excluded.roles,
			first_seen = excluded.first_seen, last_seen = excluded.last_seen,
			updated = excluded.updated, doc = excluded.doc`)
	if err != nil {
		return db.wrap("write suspects to", err)
	}
	defer func() { _ = st.Close() }()
	for i := range ss {
		s := &ss[i]
		if len(s.Evidence) == 0 {
			// All its evidence was withdrawn (detect.Book.Withdraw): forget it.
			if _, err := tx.ExecContext(ctx, `DELETE FROM suspects WHERE key = ?`, SuspectKey(s.Key)); err != nil {
				return db.wrap("write suspects to", err)
			}
			continue
		}
		doc, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("unable to encode suspect %s: %w", s.Key, err)
		}
		updated := s.Updated
		if updated.IsZero() {
			updated = db.now()
		}
		roles := make([]string, len(s.Roles))
		for j, r := range s.Roles {
			roles[j] = string(r)
		}
		if _, err := st.ExecContext(ctx, SuspectKey(s.Key), s.Key.String(), s.Pseudo, int64(s.KeyEpoch), s.Score,
			strings.Join(roles, ","), ms(s.FirstSeen), ms(s.LastSeen), ms(updated), string(doc)); err != nil {
			return db.wrap("write suspects to", err)
		}
	}
	return db.wrap("write suspects to", tx.Commit())
}

// LoadSuspects reads every stored suspect (for detect.Book.Load at
// start-up), highest score first. A row that does not decode is skipped
// with a warning, so one bad row does not keep acd from starting.
func (db *DB) LoadSuspects(ctx context.Context) ([]detect.Suspect, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT key, doc FROM suspects ORDER BY score DESC, last_seen DESC, key`)
	if err != nil {
		return nil, db.wrap("read suspects from", err)
	}
	defer func() { _ = rows.Close() }()
	var out []detect.Suspect
	for rows.Next() {
		var key, doc string
		if err := rows.Scan(&key, &doc); err != nil {
			return nil, db.wrap("read suspects from", err)
		}
		var s detect.Suspect
		if err := json.Unmarshal([]byte(doc), &s); err != nil {
			db.log.Warn("stored suspect does not decode: skipped", "key", key, "error", err)
			continue
		}
		out = append(out, s)
	}
	return out, db.wrap("read suspects from", rows.Err())
}

// DeleteSuspectsBefore deletes the suspects last updated (wall clock)
// before t and returns how many it deleted.
func (db *DB) DeleteSuspectsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := db.w.ExecContext(ctx, `DELETE FROM suspects WHERE updated < ?`, t.UnixMilli())
	if err != nil {
		return 0, db.wrap("delete suspects from", err)
	}
	n, err := res.RowsAffected()
	return n, db.wrap("delete suspects from", err)
}

// CountSuspects returns the number of stored suspects.
func (db *DB) CountSuspects(ctx context.Context) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM suspects`).Scan(&n)
	return n, db.wrap("read suspects from", err)
}
