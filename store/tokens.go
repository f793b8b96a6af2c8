package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/acd-org/acd/audit"
)

// Role is what a principal may do. The console's authorization decides
// which roles reach which endpoints.
type Role string

// Roles.
const (
	RoleAnalyst           Role = "analyst"            // reads suspects, cases and intel; requests actions
	RoleCommissioner      Role = "commissioner"       // approves or rejects requested actions
	RoleOperator          Role = "operator"           // runs the platform: collectors, enforcers
	RolePartner           Role = "partner"            // a sharing partner's machine (TAXII)
	RoleReportingOperator Role = "reporting-operator" // sends incident reports in
	RoleAuditor           Role = "auditor"            // reads everything, changes nothing
	RoleAdmin             Role = "admin"              // everything, including tokens and users
)

// Roles returns every role, in a stable order.
func Roles() []Role {
	return []Role{RoleAnalyst, RoleCommissioner, RoleOperator, RolePartner, RoleReportingOperator, RoleAuditor, RoleAdmin}
}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if string(r) == s {
			return r, nil
		}
	}
	names := make([]string, 0, 7)
	for _, r := range Roles() {
		names = append(names, string(r))
	}
	return "", fmt.Errorf("unknown role %q (roles: %s)", s, strings.Join(names, ", "))
}

// Principal kinds.
const (
	KindToken = "token" // an API token
	KindUser  = "user"  // a person who logged in (a later issue)
)

// Principal is who makes a request: its name (the token's or the
// user's), its roles and its kind (KindToken, KindUser).
type Principal struct {
	Name  string
	Roles []string
	Kind  string
}

// HasRole reports whether p has one of roles.
func (p Principal) HasRole(roles ...Role) bool {
	for _, have := range p.Roles {
		for _, r := range roles {
			if have == string(r) {
				return true
			}
		}
	}
	return false
}

// Token describes an API token (never its secret).
type Token struct {
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Created   time.Time `json:"created"`
	LastUsed  time.Time `json:"last_used,omitzero"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// TokenPrefix starts every token secret.
const TokenPrefix = "acd_"

// tokenBytes is the secret's length before encoding.
const tokenBytes = 32

// lastUsedEvery limits last_used updates to one a minute per token.
const lastUsedEvery = time.Minute

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// validName checks the name of a kind ("token", "user") of object.
func validName(kind, name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("invalid %s name %q: 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit", kind, name)
	}
	return nil
}

// ValidTokenName checks a token name: 1 to 64 letters, digits, '.', '_',
// '@' or '-', starting with a letter or digit.
func ValidTokenName(name string) error { return validName("token", name) }

// CreateToken makes a token and returns its secret: "acd_" and 32
// random bytes in unpadded base64url. Only its SHA-256 is stored, so the
// secret cannot be shown again. A revoked token's name may be reused
// (the old token is replaced); a valid token's may not (ErrExists).
// The token and its audit entry (token.create, by the context's
// audit.WithActor actor, else "cli") commit in one transaction.
func (db *DB) CreateToken(ctx context.Context, name string, role Role) (string, error) {
	if err := ValidTokenName(name); err != nil {
		return "", err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", err
	}
	raw := make([]byte, tokenBytes)
	_, _ = rand.Read(raw) // never fails (crypto/rand)
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	hash := sha256.Sum256(raw)
	err := db.WriteTx(ctx, func(tx *sql.Tx) error {
		var revoked sql.NullInt64
		switch err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM api_tokens WHERE name = ?`, name).Scan(&revoked); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return db.wrap("write token to", err)
		case !revoked.Valid:
			return fmt.Errorf("token %q: %w (revoke it first to replace it)", name, ErrExists)
		default:
			if _, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE name = ?`, name); err != nil {
				return db.wrap("write token to", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (name, role, hash, created) VALUES (?, ?, ?, ?)`,
			name, string(role), hash[:], db.now().UnixMilli()); err != nil {
			return db.wrap("write token to", err)
		}
		// The audit entry commits with the token (never its secret).
		_, err := db.AuditTx(ctx, tx, audit.Entry{Action: audit.ActionTokenCreate, Object: "token:" + name,
			Data: audit.Data("role", string(role), "replaced", revoked.Valid)})
		return err
	})
	if err != nil {
		return "", err
	}
	db.log.Info("api token created", "name", name, "role", role)
	return secret, nil
}

// Authenticate returns the principal of a token secret, or an error
// wrapping ErrUnauthenticated when it is malformed, unknown or revoked.
// The secret's hash is compared with every token's in constant time.
func (db *DB) Authenticate(ctx context.Context, secret string) (Principal, error) {
	enc, ok := strings.CutPrefix(secret, TokenPrefix)
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if !ok || err != nil || len(raw) != tokenBytes {
		return Principal{}, fmt.Errorf("%w: malformed", ErrUnauthenticated)
	}
	hash := sha256.Sum256(raw)
	rows, err := db.r.QueryContext(ctx, `SELECT id, name, role, hash, coalesce(last_used, 0), revoked_at IS NOT NULL FROM api_tokens`)
	if err != nil {
		return Principal{}, db.wrap("read tokens from", err)
	}
	defer func() { _ = rows.Close() }()
	var (
		found, revoked bool
		id, lastUsed   int64
		name, role     string
	)
	for rows.Next() {
		var (
			rid, rlast  int64
			rname, rrol string
			rhash       []byte
			rrev        bool
		)
		if err := rows.Scan(&rid, &rname, &rrol, &rhash, &rlast, &rrev); err != nil {
			return Principal{}, db.wrap("read tokens from", err)
		}
		if subtle.ConstantTimeCompare(rhash, hash[:]) == 1 {
			found, id, name, role, lastUsed, revoked = true, rid, rname, rrol, rlast, rrev
		}
	}
	if err := rows.Err(); err != nil {
		return Principal{}, db.wrap("read tokens from", err)
	}
	switch {
	case !found:
		return Principal{}, fmt.Errorf("%w: unknown", ErrUnauthenticated)
	case revoked:
		return Principal{}, fmt.Errorf("%w: token %q is revoked", ErrUnauthenticated, name)
	}
	db.touch(ctx, id, name, lastUsed)
	return Principal{Name: name, Roles: []string{role}, Kind: KindToken}, nil
}

// touch records a token's use, at most once a minute; a failure is
// logged, not returned (the request is authentic all the same).
func (db *DB) touch(ctx context.Context, id int64, name string, lastUsed int64) {
	now := db.now()
	if now.Sub(fromMS(lastUsed)) < lastUsedEvery {
		return
	}
	if _, err := db.w.ExecContext(ctx, `UPDATE api_tokens SET last_used = ? WHERE id = ?`, now.UnixMilli(), id); err != nil {
		db.log.Warn("unable to record token use", "name", name, "error", db.wrap("write", err))
	}
}

// RevokeToken revokes a token for good (ErrNotFound when there is none of
// that name; revoking twice is no error). The revocation and its audit
// entry (token.revoke, actor as for CreateToken) commit together.
func (db *DB) RevokeToken(ctx context.Context, name string) error {
	err := db.WriteTx(ctx, func(tx *sql.Tx) error {
		var revoked sql.NullInt64
		switch err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM api_tokens WHERE name = ?`, name).Scan(&revoked); {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("token %q: %w", name, ErrNotFound)
		case err != nil:
			return db.wrap("write token to", err)
		case revoked.Valid:
			return nil // revoked already: nothing changes, nothing to audit
		}
		if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE name = ?`, db.now().UnixMilli(), name); err != nil {
			return db.wrap("write token to", err)
		}
		_, err := db.AuditTx(ctx, tx, audit.Entry{Action: audit.ActionTokenRevoke, Object: "token:" + name})
		return err
	})
	if err != nil {
		return err
	}
	db.log.Info("api token revoked", "name", name)
	return nil
}

// ListTokens returns every token, by name.
func (db *DB) ListTokens(ctx context.Context) ([]Token, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT name, role, created, coalesce(last_used, 0), coalesce(revoked_at, 0) FROM api_tokens ORDER BY name`)
	if err != nil {
		return nil, db.wrap("read tokens from", err)
	}
	defer func() { _ = rows.Close() }()
	var out []Token
	for rows.Next() {
		var (
			t                      Token
			created, used, revoked int64
		)
		if err := rows.Scan(&t.Name, &t.Role, &created, &used, &revoked); err != nil {
			return nil, db.wrap("read tokens from", err)
		}
		t.Created, t.LastUsed, t.RevokedAt = fromMS(created), fromMS(used), fromMS(revoked)
		out = append(out, t)
	}
	return out, db.wrap("read tokens from", rows.Err())
}
