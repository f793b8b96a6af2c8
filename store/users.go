package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/acd-org/acd/audit"
)

// User describes a person who logs in (never the password or its hash).
type User struct {
	Name  string `json:"name"`
	Roles []Role `json:"roles"`
	// Disabled users cannot log in.
	Disabled bool `json:"disabled"`
	// MustChange is set on a one-time password (the first-start admin's)
	// until it is changed: logins are refused with ErrPasswordChange.
	MustChange bool      `json:"must_change_password"`
	Created    time.Time `json:"created"`
	LastLogin  time.Time `json:"last_login,omitzero"`
	// FailedLogins counts the failed logins since the last success or
	// lockout.
	FailedLogins int `json:"failed_logins"`
	// LockedUntil is when a lockout ends (zero: never locked; a past time:
	// no longer locked).
	LockedUntil time.Time `json:"locked_until,omitzero"`
}

// HasRole reports whether u holds one of roles.
func (u User) HasRole(roles ...Role) bool {
	for _, r := range roles {
		if slices.Contains(u.Roles, r) {
			return true
		}
	}
	return false
}

// Locked reports whether u is locked out at now.
func (u User) Locked(now time.Time) bool { return now.Before(u.LockedUntil) }

// Errors of user logins. Both wrap ErrUnauthenticated.
var (
	// ErrLoginFailed is the one answer to a refused login, whatever the
	// reason (unknown name, wrong password, disabled, locked out), so
	// that names cannot be probed.
	ErrLoginFailed error = &authError{"store: invalid user name or password"}
	// ErrPasswordChange: the password is right but a one-time password
	// that must be changed first (acd user passwd NAME).
	ErrPasswordChange error = &authError{"store: the password must be changed first ('acd user passwd NAME')"}
)

// authError is an authentication error that is also ErrUnauthenticated.
type authError struct{ msg string }

func (e *authError) Error() string        { return e.msg }
func (e *authError) Is(target error) bool { return target == ErrUnauthenticated }

// AdminName is the user EnsureAdmin creates.
const AdminName = "admin"

// ValidUserName checks a user name: 1 to 64 letters, digits, '.', '_',
// '@' or '-', starting with a letter or digit. Names are unique without
// regard to case.
func ValidUserName(name string) error { return validName("user", name) }

// ParseRoles parses a comma-separated role list ("analyst,auditor"):
// at least one known role; duplicates are dropped and the result is in
// the order of Roles().
func ParseRoles(s string) ([]Role, error) {
	var rs []Role
	for f := range strings.SplitSeq(s, ",") {
		r, err := ParseRole(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return normRoles(rs)
}

// normRoles checks roles and returns them deduplicated in Roles() order.
func normRoles(roles []Role) ([]Role, error) {
	if len(roles) == 0 {
		return nil, errors.New("a user needs at least one role")
	}
	for _, r := range roles {
		if _, err := ParseRole(string(r)); err != nil {
			return nil, err
		}
	}
	var out []Role
	for _, r := range Roles() {
		if slices.Contains(roles, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

func joinRoles(rs []Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

func splitRoles(s string) []Role {
	var rs []Role
	for f := range strings.SplitSeq(s, ",") {
		if f != "" {
			rs = append(rs, Role(f))
		}
	}
	return rs
}

// AddUser creates user name with roles and password (checked by
// CheckPassword, hashed with argon2id under the login policy's
// parameters). ErrExists when the name is taken (in any case).
func (db *DB) AddUser(ctx context.Context, name string, roles []Role, password string) error {
	return db.addUser(ctx, name, roles, password, false)
}

// AddUserOneTime is AddUser with a one-time password: the user must
// change it (acd user passwd) before the API accepts it.
func (db *DB) AddUserOneTime(ctx context.Context, name string, roles []Role, password string) error {
	return db.addUser(ctx, name, roles, password, true)
}

func (db *DB) addUser(ctx context.Context, name string, roles []Role, password string, oneTime bool) error {
	if err := ValidUserName(name); err != nil {
		return err
	}
	roles, err := normRoles(roles)
	if err != nil {
		return fmt.Errorf("user %q: %w", name, err)
	}
	if err := CheckPassword(name, password); err != nil {
		return fmt.Errorf("user %q: %w", name, err)
	}
	hash, err := db.newHash(ctx, password)
	if err != nil {
		return err
	}
	err = db.WriteTx(ctx, func(tx *sql.Tx) error {
		added, err := db.execTx(ctx, tx, "user", `INSERT INTO users (name, roles, hash, must_change, created) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (name) DO NOTHING`, name, joinRoles(roles), hash, oneTime, db.now().UnixMilli())
		if err != nil {
			return err
		}
		if !added {
			return fmt.Errorf("user %q: %w", name, ErrExists)
		}
		data := audit.Data("roles", roles)
		if oneTime {
			data = audit.Data("roles", roles, "one_time_password", true)
		}
		_, err = db.AuditTx(ctx, tx, audit.Entry{Action: audit.ActionUserAdd, Object: "user:" + name, Data: data})
		return err
	})
	if err != nil {
		return err
	}
	db.log.Info("user created", "name", name, "roles", joinRoles(roles))
	return nil
}

// newHash hashes password with the login policy's parameters.
func (db *DB) newHash(ctx context.Context, password string) (string, error) {
	pol, err := db.LoginPolicy(ctx)
	if err != nil {
		return "", err
	}
	return hashPassword(password, pol.Argon2)
}

// SetPassword replaces a user's password (checked by CheckPassword),
// clears the must-change flag and any lockout. ErrNotFound when there is
// no such user.
func (db *DB) SetPassword(ctx context.Context, name, password string) error {
	if err := CheckPassword(name, password); err != nil {
		return fmt.Errorf("user %q: %w", name, err)
	}
	hash, err := db.newHash(ctx, password)
	if err != nil {
		return err
	}
	if err := db.updateUser(ctx, name, actionUserPasswd, `hash = ?, must_change = 0, failed_logins = 0, locked_until = NULL`, hash); err != nil {
		return err
	}
	db.log.Info("user password changed", "name", name)
	return nil
}

// DisableUser stops a user from logging in (ErrNotFound when there is no
// such user; disabling twice is no error). The user's signing keys are
// left as they are: revoke them if they must no longer count.
func (db *DB) DisableUser(ctx context.Context, name string) error {
	if err := db.updateUser(ctx, name, audit.ActionUserDisable, `disabled = 1`); err != nil {
		return err
	}
	db.log.Info("user disabled", "name", name)
	return nil
}

// EnableUser lets a disabled user log in again, and lifts a lockout.
func (db *DB) EnableUser(ctx context.Context, name string) error {
	if err := db.updateUser(ctx, name, actionUserEnable, `disabled = 0, failed_logins = 0, locked_until = NULL`); err != nil {
		return err
	}
	db.log.Info("user enabled", "name", name)
	return nil
}

// SetRoles replaces the roles of user name (ErrNotFound when there is no
// such user), audited as user.roles with the roles before and after. A
// session or request in flight keeps the roles it was authorized with;
// every later request sees the new ones.
func (db *DB) SetRoles(ctx context.Context, name string, roles []Role) error {
	roles, err := normRoles(roles)
	if err != nil {
		return fmt.Errorf("user %q: %w", name, err)
	}
	err = db.WriteTx(ctx, func(tx *sql.Tx) error {
		var before string
		switch err := tx.QueryRowContext(ctx, `SELECT roles FROM users WHERE name = ?`, name).Scan(&before); {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("user %q: %w", name, ErrNotFound)
		case err != nil:
			return db.wrap("write user to", err)
		}
		if _, err := db.execTx(ctx, tx, "user", `UPDATE users SET roles = ? WHERE name = ?`, joinRoles(roles), name); err != nil {
			return err
		}
		_, err := db.AuditTx(ctx, tx, audit.Entry{Action: actionUserRoles, Object: "user:" + name,
			Data: audit.Data("before", splitRoles(before), "after", roles)})
		return err
	})
	if err != nil {
		return err
	}
	db.log.Info("user roles changed", "name", name, "roles", joinRoles(roles))
	return nil
}

// Audit actions of user changes that package audit does not name.
const (
	actionUserRoles   = "user.roles"   // a user's roles were replaced
	actionUserPasswd  = "user.passwd"  // a user's password was set
	actionUserEnable  = "user.enable"  // a disabled user was enabled
	actionLoginPolicy = "login.policy" // the login policy was set
)

// updateUser runs UPDATE users SET set WHERE name = name and audits it
// as action, in one transaction.
func (db *DB) updateUser(ctx context.Context, name, action, set string, args ...any) error {
	return db.WriteTx(ctx, func(tx *sql.Tx) error {
		found, err := db.execTx(ctx, tx, "user", `UPDATE users SET `+set+` WHERE name = ?`, append(args, name)...)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("user %q: %w", name, ErrNotFound)
		}
		_, err = db.AuditTx(ctx, tx, audit.Entry{Action: action, Object: "user:" + name})
		return err
	})
}

const userColumns = `name, roles, disabled, must_change, created, coalesce(last_login, 0), failed_logins, coalesce(locked_until, 0)`

// scanUser reads a row of userColumns.
func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var (
		u                        User
		roles                    string
		created, last, lockedTil int64
	)
	if err := row.Scan(&u.Name, &roles, &u.Disabled, &u.MustChange, &created, &last, &u.FailedLogins, &lockedTil); err != nil {
		return User{}, err
	}
	u.Roles = splitRoles(roles)
	u.Created, u.LastLogin, u.LockedUntil = fromMS(created), fromMS(last), fromMS(lockedTil)
	return u, nil
}

// User returns the user name (ErrNotFound when there is none).
func (db *DB) User(ctx context.Context, name string) (User, error) {
	u, err := scanUser(db.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	return u, db.wrap("read user from", err)
}

// ListUsers returns every user, by name.
func (db *DB) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, db.wrap("read users from", err)
	}
	defer func() { _ = rows.Close() }()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, db.wrap("read users from", err)
		}
		out = append(out, u)
	}
	return out, db.wrap("read users from", rows.Err())
}

// EnsureAdmin makes sure a first start can be administered: when the
// store holds no user at all, it creates AdminName with the admin role
// and a random one-time password, and returns them with created true.
// The caller prints the password once (on stderr, never to a log); it
// must be changed before the account can be used ('acd user passwd
// admin'). Otherwise it does nothing and returns created false.
func (db *DB) EnsureAdmin(ctx context.Context) (name, password string, created bool, err error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return "", "", false, db.wrap("read users from", err)
	}
	if n > 0 {
		return "", "", false, nil
	}
	password = NewPassword()
	hash, err := db.newHash(ctx, password)
	if err != nil {
		return "", "", false, err
	}
	// Another process may have added a user meanwhile: insert only into
	// an empty table.
	err = db.WriteTx(ctx, func(tx *sql.Tx) error {
		var err error
		created, err = db.execTx(ctx, tx, "user", `INSERT INTO users (name, roles, hash, must_change, created)
			SELECT ?, ?, ?, 1, ? WHERE NOT EXISTS (SELECT 1 FROM users)`, AdminName, string(RoleAdmin), hash, db.now().UnixMilli())
		if err != nil {
			return err
		}
		if !created {
			return nil // another process added a user meanwhile
		}
		_, err = db.AuditTx(ctx, tx, audit.Entry{Actor: "system", Action: audit.ActionUserAdd, Object: "user:" + AdminName,
			Data: audit.Data("roles", []Role{RoleAdmin}, "one_time_password", true)})
		return err
	})
	if err != nil || !created {
		return "", "", false, err
	}
	db.log.Info("first start: user created with a one-time password", "name", AdminName, "roles", RoleAdmin)
	return AdminName, password, true, nil
}
