package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/acd-org/acd/audit"

	"github.com/acd-org/acd/cases"
)

// SigningKey is a commissioner's Ed25519 public key, with which the
// commissioner signs approvals. The private half stays with the
// commissioner (acd user keygen); the server cannot sign on its own. A
// revoked key is kept (with RevokedAt) so the record shows who signed
// old approvals; from RevokedAt on, the gate counts none of its
// approvals, whenever they say they were signed (cases.Gate.Check).
type SigningKey struct {
	// User is the commissioner's name.
	User string `json:"user"`
	// KeyID is KeyID(Public).
	KeyID  string            `json:"key_id"`
	Public ed25519.PublicKey `json:"public"` // base64 in JSON
	Added  time.Time         `json:"added"`
	// RevokedAt is nil while the key is valid.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// KeyID returns a public key's id: the first 16 hex digits of its
// SHA-256.
func KeyID(pub ed25519.PublicKey) string { return cases.KeyID(pub) }

var keyIDPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)

// ValidKeyID checks a key id: 16 lower-case hex digits.
func ValidKeyID(id string) error {
	if !keyIDPattern.MatchString(id) {
		return fmt.Errorf("invalid key id %q: want 16 lower-case hex digits", id)
	}
	return nil
}

// AddSigningKey registers pub as a signing key of user, who must hold
// the commissioner role and not be disabled. ErrNotFound when there is
// no such user; ErrExists when the key is registered already (to anyone,
// revoked or not: a revoked key cannot come back).
func (db *DB) AddSigningKey(ctx context.Context, user string, pub ed25519.PublicKey) (SigningKey, error) {
	if len(pub) != ed25519.PublicKeySize {
		return SigningKey{}, fmt.Errorf("signing key: %d bytes, want an Ed25519 public key of %d", len(pub), ed25519.PublicKeySize)
	}
	k := SigningKey{KeyID: KeyID(pub), Public: pub, Added: db.now().UTC().Truncate(time.Millisecond)}
	err := db.WriteTx(ctx, func(tx *sql.Tx) error {
		var (
			uid      int64
			roles    string
			disabled bool
		)
		err := tx.QueryRowContext(ctx, `SELECT id, name, roles, disabled FROM users WHERE name = ?`, user).Scan(&uid, &k.User, &roles, &disabled)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("user %q: %w", user, ErrNotFound)
		case err != nil:
			return db.wrap("read user from", err)
		case !(User{Roles: splitRoles(roles)}).HasRole(RoleCommissioner):
			return fmt.Errorf("user %q is not a commissioner (roles %s): only commissioners have signing keys", k.User, roles)
		case disabled:
			return fmt.Errorf("user %q is disabled", k.User)
		}
		added, err := db.execTx(ctx, tx, "signing key", `INSERT INTO signing_keys (key_id, user_id, public, added) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			k.KeyID, uid, []byte(pub), k.Added.UnixMilli())
		if err != nil {
			return err
		}
		if !added {
			return fmt.Errorf("signing key %s: %w", k.KeyID, ErrExists)
		}
		_, err = db.AuditTx(ctx, tx, audit.Entry{Action: audit.ActionKeyRegister, Object: "key:" + k.KeyID,
			Data: audit.Data("user", k.User, "public", base64.StdEncoding.EncodeToString(pub))})
		return err
	})
	if err != nil {
		return SigningKey{}, err
	}
	db.log.Info("signing key added", "user", k.User, "key_id", k.KeyID)
	return k, nil
}

// RevokeSigningKey revokes user's key keyID for good; the key stays
// listed with its revocation time. ErrNotFound when user has no such
// key; revoking twice is no error (the first time stands).
func (db *DB) RevokeSigningKey(ctx context.Context, user, keyID string) error {
	err := db.WriteTx(ctx, func(tx *sql.Tx) error {
		var revoked sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT k.revoked_at FROM signing_keys k JOIN users u ON u.id = k.user_id
			WHERE k.key_id = ? AND u.name = ?`, keyID, user).Scan(&revoked)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("signing key %q of user %q: %w", keyID, user, ErrNotFound)
		case err != nil:
			return db.wrap("read signing key from", err)
		case revoked.Valid:
			return nil // revoked already: nothing changes, nothing to audit
		}
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET revoked_at = ? WHERE key_id = ?`, db.now().UnixMilli(), keyID); err != nil {
			return db.wrap("write signing key to", err)
		}
		_, err = db.AuditTx(ctx, tx, audit.Entry{Action: audit.ActionKeyRevoke, Object: "key:" + keyID, Data: audit.Data("user", user)})
		return err
	})
	if err != nil {
		return err
	}
	db.log.Info("signing key revoked", "user", user, "key_id", keyID)
	return nil
}

const keyQuery = `SELECT u.name, k.key_id, k.public, k.added, coalesce(k.revoked_at, 0) FROM signing_keys k JOIN users u ON u.id = k.user_id`

func scanKey(row interface{ Scan(...any) error }) (SigningKey, error) {
	var (
		k              SigningKey
		pub            []byte
		added, revoked int64
	)
	if err := row.Scan(&k.User, &k.KeyID, &pub, &added, &revoked); err != nil {
		return SigningKey{}, err
	}
	k.Public, k.Added = ed25519.PublicKey(pub), fromMS(added)
	if revoked != 0 {
		t := fromMS(revoked)
		k.RevokedAt = &t
	}
	return k, nil
}

// SigningKey returns the key keyID, revoked or not (ErrNotFound when
// there is none).
func (db *DB) SigningKey(ctx context.Context, keyID string) (SigningKey, error) {
	k, err := scanKey(db.r.QueryRowContext(ctx, keyQuery+` WHERE k.key_id = ?`, keyID))
	if errors.Is(err, sql.ErrNoRows) {
		return SigningKey{}, fmt.Errorf("signing key %q: %w", keyID, ErrNotFound)
	}
	return k, db.wrap("read signing key from", err)
}

// SigningKeys returns user's keys, revoked ones included, oldest first;
// user "" returns everyone's, by user. ErrNotFound when there is no such
// user.
func (db *DB) SigningKeys(ctx context.Context, user string) ([]SigningKey, error) {
	q, args := keyQuery+` ORDER BY u.name, k.added, k.key_id`, []any{}
	if user != "" {
		if _, err := db.User(ctx, user); err != nil {
			return nil, err
		}
		q, args = keyQuery+` WHERE u.name = ? ORDER BY k.added, k.key_id`, []any{user}
	}
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, db.wrap("read signing keys from", err)
	}
	defer func() { _ = rows.Close() }()
	var out []SigningKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, db.wrap("read signing keys from", err)
		}
		out = append(out, k)
	}
	return out, db.wrap("read signing keys from", rows.Err())
}

// ParsePublicKey reads a commissioner's Ed25519 public key as acd user
// keygen prints it (base64 of the 32 bytes) or as a PEM "PUBLIC KEY"
// block. A PEM private key is refused by name: it must never be given out.
func ParsePublicKey(text []byte) (ed25519.PublicKey, error) {
	text = bytes.TrimSpace(text)
	if block, _ := pem.Decode(text); block != nil {
		if block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("a PEM %q, want the public key (never give out the private one)", block.Type)
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("a %T, not an Ed25519 public key", k)
		}
		return pub, nil
	}
	raw, err := base64.StdEncoding.DecodeString(string(text))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("not the base64 of a %d-byte Ed25519 public key (as acd user keygen prints it)", ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}
