package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/enforce/crowdsec"
)

// Bouncer describes a CrowdSec bouncer allowed to pull acd's decisions
// (never its key).
type Bouncer struct {
	Name      string    `json:"name"`
	Created   time.Time `json:"created"`
	LastPull  time.Time `json:"last_pull,omitzero"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// bouncerKeyBytes is the key's length before encoding.
const bouncerKeyBytes = 32

// ValidBouncerName checks a bouncer name (as a token name).
func ValidBouncerName(name string) error { return validName("bouncer", name) }

// AddBouncer lets bouncer name pull decisions and returns its API key
// (the X-Api-Key it sends): 32 random bytes in unpadded base64url, shown
// once; only its SHA-256 is stored. A revoked bouncer's name may be
// reused; a live one's may not (ErrExists). The key and its audit entry
// (bouncer.add) commit together.
func (db *DB) AddBouncer(ctx context.Context, name string) (string, error) {
	if err := ValidBouncerName(name); err != nil {
		return "", err
	}
	raw := make([]byte, bouncerKeyBytes)
	_, _ = rand.Read(raw) // never fails (crypto/rand)
	key := base64.RawURLEncoding.EncodeToString(raw)
	hash := sha256.Sum256([]byte(key))
	err := db.WriteTx(ctx, func(tx *sql.Tx) error {
		var revoked sql.NullInt64
		switch err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM bouncers WHERE name = ?`, name).Scan(&revoked); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return db.wrap("write bouncer to", err)
		case !revoked.Valid:
			return fmt.Errorf("bouncer %q: %w (revoke it first to replace its key)", name, ErrExists)
		default:
			if _, err := tx.ExecContext(ctx, `DELETE FROM bouncers WHERE name = ?`, name); err != nil {
				return db.wrap("write bouncer to", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO bouncers (name, hash, created) VALUES (?, ?, ?)`,
			name, hash[:], db.now().UnixMilli()); err != nil {
			return db.wrap("write bouncer to", err)
		}
		_, err := db.AuditTx(ctx, tx, audit.Entry{Action: audit.ActionBouncerAdd, Object: "bouncer:" + name,
			Data: audit.Data("replaced", revoked.Valid)})
		return err
	})
	if err != nil {
		return "", err
	}
	db.log.Info("bouncer added", "name", name)
	return key, nil
}

// RevokeBouncer stops bouncer name from pulling (ErrNotFound when there
// is none; revoking twice is no error). Audited (bouncer.revoke).
func (db *DB) RevokeBouncer(ctx context.Context, name string) error {
	return db.WriteTx(ctx, func(tx *sql.Tx) error {
		var revoked sql.NullInt64
		switch err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM bouncers WHERE name = ?`, name).Scan(&revoked); {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("bouncer %q: %w", name, ErrNotFound)
		case err != nil:
			return db.wrap("write bouncer to", err)
		case revoked.Valid:
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE bouncers SET revoked_at = ? WHERE name = ?`, db.now().UnixMilli(), name); err != nil {
			return db.wrap("write bouncer to", err)
		}
		_, err := db.AuditTx(ctx, tx, audit.Entry{Action: audit.ActionBouncerRevoke, Object: "bouncer:" + name})
		return err
	})
}

// ListBouncers returns every bouncer, by name.
func (db *DB) ListBouncers(ctx context.Context) ([]Bouncer, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT name, created, coalesce(last_pull, 0), coalesce(revoked_at, 0) FROM bouncers ORDER BY name`)
	if err != nil {
		return nil, db.wrap("read bouncers from", err)
	}
	defer func() { _ = rows.Close() }()
	var out []Bouncer
	for rows.Next() {
		var (
			b                      Bouncer
			created, pull, revoked int64
		)
		if err := rows.Scan(&b.Name, &created, &pull, &revoked); err != nil {
			return nil, db.wrap("read bouncers from", err)
		}
		b.Created, b.LastPull, b.RevokedAt = fromMS(created), fromMS(pull), fromMS(revoked)
		out = append(out, b)
	}
	return out, db.wrap("read bouncers from", rows.Err())
}

// BouncerKeys authenticates bouncers against the store (crowdsec.Keys).
func (db *DB) BouncerKeys() crowdsec.Keys { return bouncerKeys{db} }

type bouncerKeys struct{ db *DB }

// Bouncer returns the name of the live bouncer holding key, comparing
// hashes in constant time, and records the pull (at most once a minute).
func (k bouncerKeys) Bouncer(ctx context.Context, key string) (string, error) {
	if key == "" {
		return "", crowdsec.ErrUnknownKey
	}
	hash := sha256.Sum256([]byte(key))
	name, last, found, err := k.db.matchHash(ctx, "bouncers", `SELECT name, hash, coalesce(last_pull, 0) FROM bouncers WHERE revoked_at IS NULL`, hash[:])
	if err != nil {
		return "", err
	}
	if !found {
		return "", crowdsec.ErrUnknownKey
	}
	if now := k.db.now(); now.Sub(fromMS(last)) >= lastUsedEvery {
		if _, err := k.db.w.ExecContext(ctx, `UPDATE bouncers SET last_pull = ? WHERE name = ?`, now.UnixMilli(), name); err != nil {
			k.db.log.Warn("unable to record a bouncer's pull", "name", name, "error", k.db.wrap("write", err))
		}
	}
	return name, nil
}
