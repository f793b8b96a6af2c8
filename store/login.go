package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/acd-org/acd/audit"
)

// LoginPolicy is how user logins are checked. It is kept in the store
// (table login_policy), so that every process using the store (acd
// serve, acd user) applies the same one.
type LoginPolicy struct {
	// LockoutAfter failed logins in a row lock the user out...
	LockoutAfter int `json:"lockout_after"`
	// ...for LockoutFor. While locked out, every login is refused, even
	// with the right password; SetPassword and EnableUser lift it.
	LockoutFor time.Duration `json:"lockout_for"`
	// Argon2 hashes new passwords. Raising it rehashes each user's
	// password at their next login.
	Argon2 Argon2Params `json:"argon2"`
}

// DefaultLoginPolicy locks a user out for 15 minutes after 10 failed
// logins and hashes with DefaultArgon2Params.
func DefaultLoginPolicy() LoginPolicy {
	return LoginPolicy{LockoutAfter: 10, LockoutFor: 15 * time.Minute, Argon2: DefaultArgon2Params()}
}

// Validate checks p: 1 to 1000 failures, a lockout of 1 second to 30
// days, valid argon2id parameters.
func (p LoginPolicy) Validate() error {
	var errs []error
	if p.LockoutAfter < 1 || p.LockoutAfter > 1000 {
		errs = append(errs, fmt.Errorf("login policy: lockout after %d failures: want 1 to 1000", p.LockoutAfter))
	}
	if p.LockoutFor < time.Second || p.LockoutFor > 30*24*time.Hour {
		errs = append(errs, fmt.Errorf("login policy: lockout for %v: want 1s to 720h", p.LockoutFor))
	}
	if err := p.Argon2.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("login policy: %w", err))
	}
	return errors.Join(errs...)
}

// LoginPolicy returns the store's login policy.
func (db *DB) LoginPolicy(ctx context.Context) (LoginPolicy, error) {
	var (
		p       LoginPolicy
		lockout int64
		threads int
	)
	err := db.r.QueryRowContext(ctx, `SELECT lockout_after, lockout_ms, argon_memory, argon_time, argon_threads FROM login_policy WHERE id = 1`).
		Scan(&p.LockoutAfter, &lockout, &p.Argon2.Memory, &p.Argon2.Time, &threads)
	if err != nil {
		return LoginPolicy{}, db.wrap("read the login policy from", err)
	}
	p.LockoutFor, p.Argon2.Threads = time.Duration(lockout)*time.Millisecond, uint8(min(max(threads, 0), 255))
	if err := p.Validate(); err != nil {
		return LoginPolicy{}, fmt.Errorf("store %s: %w", db.path, err)
	}
	return p, nil
}

// SetLoginPolicy replaces the store's login policy.
func (db *DB) SetLoginPolicy(ctx context.Context, p LoginPolicy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	err := db.WriteTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE login_policy SET lockout_after = ?, lockout_ms = ?, argon_memory = ?, argon_time = ?, argon_threads = ? WHERE id = 1`,
			p.LockoutAfter, p.LockoutFor.Milliseconds(), p.Argon2.Memory, p.Argon2.Time, p.Argon2.Threads)
		if err != nil {
			return db.wrap("write the login policy to", err)
		}
		_, err = db.AuditTx(ctx, tx, audit.Entry{Action: actionLoginPolicy, Data: audit.Data("lockout_after", p.LockoutAfter,
			"lockout_for", p.LockoutFor.String(), "argon2", p.Argon2)})
		return err
	})
	if err != nil {
		return err
	}
	db.log.Info("login policy set", "lockout_after", p.LockoutAfter, "lockout_for", p.LockoutFor,
		"argon2_memory_kib", p.Argon2.Memory, "argon2_time", p.Argon2.Time, "argon2_threads", p.Argon2.Threads)
	return nil
}

// AuthenticateUser checks a user's name and password and returns the
// user's principal (Kind KindUser, the user's roles).
//
// An unknown name, a wrong password, a disabled or a locked-out user all
// get the same error, ErrLoginFailed (which wraps ErrUnauthenticated),
// and all cost one argon2id hash, so that names cannot be probed. A right
// one-time password gets ErrPasswordChange. A wrong password counts
// towards the lockout; a success resets the count, records the login
// and rehashes a hash weaker than the policy's parameters. Every other
// error is the store's own failure.
//
// Each failure is audited (login.failed, with the reason; the name is
// kept only when it is a user's, since a mistyped password may land in
// the name field), and so is a success (login), at most once a minute
// per user like last_login.
//
// Each call hashes (64 MiB and some 100 ms by default): callers that
// take passwords from the network should bound how many run at once.
func (db *DB) AuthenticateUser(ctx context.Context, name, password string) (Principal, error) {
	pol, err := db.LoginPolicy(ctx)
	if err != nil {
		return Principal{}, err
	}
	var (
		id    int64
		roles string
		hash  string
	)
	err = db.r.QueryRowContext(ctx, `SELECT id, name, roles, hash FROM users WHERE name = ?`, name).Scan(&id, &name, &roles, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		// As much work as for a user, with a hash of this policy.
		_, _ = hashPassword(password, pol.Argon2)
		if err := db.Audit(ctx, audit.Entry{Actor: anonymous, Action: audit.ActionLoginFailed, Data: audit.Data("reason", "unknown user")}); err != nil {
			return Principal{}, err
		}
		return Principal{}, ErrLoginFailed
	}
	if err != nil {
		return Principal{}, db.wrap("read user from", err)
	}
	ok, params, err := verifyPassword(password, hash)
	if err != nil {
		db.log.Error("login refused: unreadable password hash", "name", name, "error", err)
		return Principal{}, ErrLoginFailed
	}
	mustChange, err := db.recordLogin(ctx, id, name, hash, ok, pol)
	if err != nil {
		return Principal{}, err
	}
	if ok && params.weaker(pol.Argon2) {
		db.rehash(ctx, id, name, hash, password, pol.Argon2)
	}
	if mustChange {
		return Principal{}, ErrPasswordChange
	}
	return Principal{Name: name, Roles: splitStrings(roles), Kind: KindUser}, nil
}

// anonymous is the actor of a refused login.
const anonymous = "anonymous"

// lastLoginEvery limits last_login updates and login audit entries to one
// a minute per user (a script using HTTP Basic logs in on every request).
const lastLoginEvery = time.Minute

// recordLogin settles a login attempt whose password check gave ok, in
// one transaction with its audit entry: it returns the must-change flag
// when the login succeeds, ErrLoginFailed when it is refused.
func (db *DB) recordLogin(ctx context.Context, id int64, name, hash string, ok bool, pol LoginPolicy) (mustChange bool, err error) {
	var refused string // why the login is refused
	err = db.WriteTx(ctx, func(tx *sql.Tx) error {
		var (
			cur                           string
			disabled                      bool
			failed, lockedUntil, lastSeen int64
		)
		err := tx.QueryRowContext(ctx, `SELECT hash, disabled, must_change, failed_logins, coalesce(locked_until, 0), coalesce(last_login, 0) FROM users WHERE id = ?`, id).
			Scan(&cur, &disabled, &mustChange, &failed, &lockedUntil, &lastSeen)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			refused = "unknown user" // deleted meanwhile
		case err != nil:
			return db.wrap("read user from", err)
		case cur != hash:
			refused = "password changed meanwhile"
		case db.now().Before(fromMS(lockedUntil)):
			refused = "locked out"
		case disabled:
			refused = "disabled"
		case !ok:
			refused = "wrong password"
			return db.loginFailed(ctx, tx, id, name, failed+1, pol)
		case failed == 0 && lockedUntil == 0 && db.now().Sub(fromMS(lastSeen)) < lastLoginEvery:
			return nil // logged in a moment ago: nothing to record
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE users SET failed_logins = 0, locked_until = NULL, last_login = ? WHERE id = ?`, db.now().UnixMilli(), id); err != nil {
				return db.wrap("write user to", err)
			}
			_, err = db.AuditTx(ctx, tx, audit.Entry{Actor: name, Action: audit.ActionLogin, Object: "user:" + name,
				Data: audit.Data("ok", true, "must_change_password", mustChange)})
			return err
		}
		if refused != "unknown user" {
			db.log.Info("login refused", "name", name, "reason", refused)
		}
		_, err = db.AuditTx(ctx, tx, audit.Entry{Actor: anonymous, Action: audit.ActionLoginFailed, Object: "user:" + name, Data: audit.Data("reason", refused)})
		return err
	})
	switch {
	case err != nil:
		return false, err
	case refused != "":
		return false, ErrLoginFailed
	}
	return mustChange, nil
}

// loginFailed counts a wrong password (failed in a row, this one
// included), locks the user out when the policy says so, and audits it.
func (db *DB) loginFailed(ctx context.Context, tx *sql.Tx, id int64, name string, failed int64, pol LoginPolicy) error {
	lockedUntil := sql.NullInt64{}
	if failed >= int64(pol.LockoutAfter) {
		lockedUntil = sql.NullInt64{Int64: db.now().Add(pol.LockoutFor).UnixMilli(), Valid: true}
		db.log.Warn("user locked out after failed logins", "name", name, "failures", failed, "for", pol.LockoutFor)
	}
	stored := failed
	if lockedUntil.Valid {
		stored = 0 // the count starts over after the lockout
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?`, stored, lockedUntil, id); err != nil {
		return db.wrap("write user to", err)
	}
	_, err := db.AuditTx(ctx, tx, audit.Entry{Actor: anonymous, Action: audit.ActionLoginFailed, Object: "user:" + name,
		Data: audit.Data("reason", "wrong password", "failures", failed, "locked_out", lockedUntil.Valid)})
	return err
}

// rehash stores password's hash with p in place of old (unless the
// password changed meanwhile). A failure is logged: the login stands.
func (db *DB) rehash(ctx context.Context, id int64, name, old, password string, p Argon2Params) {
	hash, err := hashPassword(password, p)
	if err == nil {
		_, err = db.w.ExecContext(ctx, `UPDATE users SET hash = ? WHERE id = ? AND hash = ?`, hash, id, old)
	}
	if err != nil {
		db.log.Warn("unable to rehash a password with the policy's parameters", "name", name, "error", db.wrap("write", err))
		return
	}
	db.log.Info("password rehashed with the policy's parameters", "name", name)
}

func splitStrings(roles string) []string {
	rs := splitRoles(roles)
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}
