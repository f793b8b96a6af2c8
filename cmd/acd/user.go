package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/acd-org/acd/store"
)

const userHelp = `
Manage the users: people who log in with a name and a password (HTTP
Basic on /api/v1/ for the CLI and scripts). A user has one or more roles;
passwords are hashed with argon2id and never shown again.

  acd user add NAME --role R[,R...] [--password-stdin]   create a user
  acd user list [--json]                 name, roles, created, last login, status
  acd user disable NAME                  refuse the user's logins
  acd user enable NAME                   accept them again (and lift a lockout)
  acd user roles NAME --role R[,R...]    replace the user's roles (audited)
  acd user passwd NAME [--password-stdin]  set a new password (lifts a lockout)
  acd user keygen --out FILE             make a commissioner's signing key pair
  acd user key add NAME --pubkey FILE|BASE64   register a commissioner's public key
  acd user key list [NAME] [--json]      signing keys, revoked ones included
  acd user key revoke NAME KEYID         revoke a signing key for good

Roles: analyst, commissioner, operator, partner, reporting-operator,
auditor, admin. Passwords have at least 12 characters and are not the
user name. Without --password-stdin, add and passwd generate a random
password and print it once on stdout. After 10 failed logins in a row a
user is locked out for 15 minutes (the store's login policy).

First start: when the store holds no user, acd serve creates "admin" with
a one-time password printed once on its stderr. It must be changed before
use: acd user passwd admin --password-stdin.

Signing keys: a commissioner signs approvals with an Ed25519 key whose
private half never reaches the server. The commissioner runs
'acd user keygen' on their own machine and gives the printed public key to
an admin, who registers it with 'acd user key add'. A revoked key stays
listed, so approvals signed before its revocation can still be verified.

The users live in the store (store.path: acd.db in the working directory
by default): give the same -c FILE (or ACD_STORE_PATH) as acd serve. The
commands work while acd serve runs.

Examples:
  acd user add carol --role commissioner
  printf '%s\n' "$PASSWORD" | acd user add ann --role analyst,auditor --password-stdin
  curl -u ann http://127.0.0.1:8080/api/v1/suspects
  acd user keygen --out ~/.acd/carol.key     (on carol's machine)
  acd user key add carol --pubkey 3q2+7w...=
  acd user key revoke carol 9f86d081884c7d65

Exit status: 0 done; 1 the store failed, the name is taken or unknown, the
password or key is refused; 2 usage error.`

func runUser(ctx context.Context, e *env, args []string) error {
	able := func(sub string) func(context.Context, *env, []string) error {
		return func(ctx context.Context, e *env, args []string) error { return runUserEnable(ctx, e, sub, args) }
	}
	return runSubcommands(ctx, e, "user", userHelp, args, []subcommand{
		{"add", runUserAdd}, {"list", runUserList}, {"disable", able("disable")}, {"enable", able("enable")},
		{"roles", runUserRoles}, {"passwd", runUserPasswd}, {"keygen", runUserKeygen}, {"key", runUserKey}})
}

func runUserAdd(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "user add", "--role R[,R...] [--password-stdin] [-c FILE] NAME", `
Create the user NAME with one or more roles. With --password-stdin the
password is the first line of stdin; without, a random password is
generated and printed once on stdout.

Examples:
  acd user add carol --role commissioner
  printf '%s\n' "$PASSWORD" | acd user add ann --role analyst,auditor --password-stdin`)
	role := fs.String("role", "", "the user's `roles`, comma-separated: analyst, commissioner, operator, partner, reporting-operator, auditor, admin")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	cfgPath := fs.String("c", "", "configuration `file` (for store.path)")
	name, err := oneArg(fs, args, "NAME")
	if err != nil {
		return err
	}
	if *role == "" {
		return fmt.Errorf("%w: --role is required", errUsage)
	}
	roles, err := store.ParseRoles(*role)
	if err != nil {
		return fmt.Errorf("%w: --role: %v", errUsage, err)
	}
	if err := store.ValidUserName(name); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	password, err := newUserPassword(e, name, *fromStdin)
	if err != nil {
		return err
	}
	return withStore(ctx, e, *cfgPath, func(db *store.DB) error {
		if err := db.AddUser(ctx, name, roles, password); err != nil {
			return err
		}
		return reportPassword(e, *fromStdin, password, fmt.Sprintf("user %q (roles %s) created in %s", name, joinRoleNames(roles), db.Path()))
	})
}

func runUserRoles(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "user roles", "--role R[,R...] [-c FILE] NAME", `
Replace the roles of the user NAME (audited as user.roles, with the roles
before and after). Requests already authorized keep their roles; every
later request sees the new ones. A commissioner's signing keys stay
registered: revoke them (acd user key revoke) if their approvals must no
longer count.

Example:
  acd user roles ann --role analyst,auditor`)
	role := fs.String("role", "", "the user's new `roles`, comma-separated")
	cfgPath := fs.String("c", "", "configuration `file` (for store.path)")
	name, err := oneArg(fs, args, "NAME")
	if err != nil {
		return err
	}
	if *role == "" {
		return fmt.Errorf("%w: --role is required", errUsage)
	}
	roles, err := store.ParseRoles(*role)
	if err != nil {
		return fmt.Errorf("%w: --role: %v", errUsage, err)
	}
	return withStore(ctx, e, *cfgPath, func(db *store.DB) error {
		if err := db.SetRoles(ctx, name, roles); err != nil {
			return noUser(err, name)
		}
		fmt.Fprintf(e.stdout, "user %q now has the roles %s\n", name, joinRoleNames(roles))
		return nil
	})
}

func runUserPasswd(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "user passwd", "[--password-stdin] [-c FILE] NAME", `
Set a new password for the user NAME; this clears a one-time password's
must-change mark and lifts a lockout. With --password-stdin the password
is the first line of stdin; without, a random password is generated and
printed once on stdout.

Examples:
  read -rs PASSWORD; printf '%s\n' "$PASSWORD" | acd user passwd admin --password-stdin
  acd user passwd ann > ann.password`)
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	cfgPath := fs.String("c", "", "configuration `file` (for store.path)")
	name, err := oneArg(fs, args, "NAME")
	if err != nil {
		return err
	}
	password, err := newUserPassword(e, name, *fromStdin)
	if err != nil {
		return err
	}
	return withStore(ctx, e, *cfgPath, func(db *store.DB) error {
		if err := db.SetPassword(ctx, name, password); err != nil {
			return noUser(err, name)
		}
		return reportPassword(e, *fromStdin, password, fmt.Sprintf("password of user %q changed", name))
	})
}

// newUserPassword reads the password from stdin (checked against the
// policy before the store is opened) or generates one.
func newUserPassword(e *env, name string, fromStdin bool) (string, error) {
	if !fromStdin {
		return store.NewPassword(), nil
	}
	password, err := readPassword(e.stdin)
	if err != nil {
		return "", err
	}
	if err := store.CheckPassword(name, password); err != nil {
		return "", fmt.Errorf("--password-stdin: %w", err)
	}
	return password, nil
}

// readPassword reads the first line of r, without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, store.MaxPasswordBytes+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("--password-stdin: unable to read stdin: %w", err)
	}
	if len(line) > store.MaxPasswordBytes && !strings.HasSuffix(line, "\n") {
		return "", fmt.Errorf("--password-stdin: password too long: want at most %d bytes", store.MaxPasswordBytes)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("--password-stdin: stdin holds no password (the first line is empty)")
	}
	return line, nil
}

// reportPassword prints a generated password alone on stdout and what
// was done on stderr; a password from stdin is not echoed.
func reportPassword(e *env, fromStdin bool, password, done string) error {
	if fromStdin {
		fmt.Fprintln(e.stdout, done)
		return nil
	}
	fmt.Fprintln(e.stdout, password)
	fmt.Fprintf(e.stderr, "%s; its generated password, printed above, will not be shown again\n", done)
	return nil
}

func runUserList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "user list", "[--json] [-c FILE]", `
List the users: name, roles, created, last login (UTC, to the minute) and
status (active, disabled, locked until a time, or must change password).
Never a password or its hash.`)
	asJSON := fs.Bool("json", false, "print a JSON array")
	cfgPath := fs.String("c", "", "configuration `file` (for store.path)")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: list takes no argument", errUsage)
	}
	return withStore(ctx, e, *cfgPath, func(db *store.DB) error {
		us, err := db.ListUsers(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.stdout, nonNil(us))
		}
		now := time.Now()
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLES\tCREATED\tLAST LOGIN\tSTATUS")
		for _, u := range us {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Name, joinRoleNames(u.Roles), tokenTime(u.Created, "-"), tokenTime(u.LastLogin, "never"), userStatus(u, now))
		}
		return tw.Flush()
	})
}

// userStatus sums up whether u can log in at now.
func userStatus(u store.User, now time.Time) string {
	switch {
	case u.Disabled:
		return "disabled"
	case u.Locked(now):
		return "locked until " + tokenTime(u.LockedUntil, "")
	case u.MustChange:
		return "must change password"
	}
	return "active"
}

func runUserEnable(ctx context.Context, e *env, sub string, args []string) error {
	desc := `
Disable the user NAME: every login of theirs is refused (401) from now on.
Their signing keys stay valid until revoked (acd user key revoke).`
	if sub == "enable" {
		desc = `
Enable the user NAME again after acd user disable, and lift a lockout.`
	}
	fs := newFlagSet(e, "user "+sub, "[-c FILE] NAME", desc)
	cfgPath := fs.String("c", "", "configuration `file` (for store.path)")
	name, err := oneArg(fs, args, "NAME")
	if err != nil {
		return err
	}
	return withStore(ctx, e, *cfgPath, func(db *store.DB) error {
		do := db.DisableUser
		if sub == "enable" {
			do = db.EnableUser
		}
		if err := do(ctx, name); err != nil {
			return noUser(err, name)
		}
		fmt.Fprintf(e.stdout, "user %q %sd\n", name, sub)
		return nil
	})
}

// noUser rewords ErrNotFound for a user name.
func noUser(err error, name string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user named %q ('acd user list' shows them)", name)
	}
	return err
}

func joinRoleNames(rs []store.Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}
