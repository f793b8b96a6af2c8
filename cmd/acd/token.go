package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/acd-org/acd/store"
)

const tokenHelp = `
Manage the API tokens that machines and the CLI authenticate with
(Authorization: Bearer <token> on /api/v1/). A token has a name and one
role; its secret is printed once, at creation: the store keeps only its
SHA-256.

  acd token create --role ROLE NAME   create a token, print its secret
  acd token list [--json]             name, role, created, last used, revoked
  acd token revoke NAME               revoke a token for good

Roles: analyst, commissioner, operator, partner, reporting-operator,
auditor, admin. A revoked token's name can be given to a new token.

The tokens live in the store (store.path: acd.db in the working directory
by default): give the same -c FILE (or ACD_STORE_PATH) as acd serve. The
commands work while acd serve runs.

Examples:
  acd token create --role analyst -c /etc/acd/acd.yaml grafana
  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/v1/suspects
  acd token list --json
  acd token revoke grafana

Exit status: 0 done; 1 the store failed, the name is taken or unknown;
2 usage error.`

func runToken(ctx context.Context, e *env, args []string) error {
	return runSubcommands(ctx, e, "token", tokenHelp, args, []subcommand{
		{"create", runTokenCreate}, {"list", runTokenList}, {"revoke", runTokenRevoke}})
}

func runTokenCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "token create", "--role ROLE [-c FILE] NAME", `
Create an API token NAME with ROLE and print its secret on stdout, once:
it cannot be shown again (only its hash is stored).

Example:
  acd token create --role analyst grafana > grafana.token`)
	role := fs.String("role", "", "the token's `role`: analyst, commissioner, operator, partner, reporting-operator, auditor or admin")
	cfgPath := fs.String("c", "", "configuration `file` (for store.path)")
	name, err := oneArg(fs, args, "NAME")
	if err != nil {
		return err
	}
	if *role == "" {
		return fmt.Errorf("%w: --role is required", errUsage)
	}
	r, err := store.ParseRole(*role)
	if err != nil {
		return fmt.Errorf("%w: --role: %v", errUsage, err)
	}
	if err := store.ValidTokenName(name); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return withStore(ctx, e, *cfgPath, func(db *store.DB) error {
		secret, err := db.CreateToken(ctx, name, r)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, secret)
		fmt.Fprintf(e.stderr, "token %q (role %s) created in %s; its secret, printed above, will not be shown again\n", name, r, db.Path())
		return nil
	})
}

func runTokenList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "token list", "[--json] [-c FILE]", `
List the API tokens: name, role, created, last used (to the minute) and
revoked. Never the secrets.`)
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
		ts, err := db.ListTokens(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.stdout, nonNil(ts))
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tLAST USED\tREVOKED")
		for _, t := range ts {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, tokenTime(t.Created, "-"), tokenTime(t.LastUsed, "never"), tokenTime(t.RevokedAt, "-"))
		}
		return tw.Flush()
	})
}

func runTokenRevoke(ctx context.Context, e *env, args []string) error {
	return runEndByName(ctx, e, args, "token revoke", "token", "revoked", `
Revoke the API token NAME: requests with it are refused (401) from now on.
Revoking is final; create a new token to give access again.`, (*store.DB).RevokeToken)
}

// runEndByName is "acd KIND revoke|remove [-c FILE] NAME": end the named
// thing in the store with end, saying so, or that there is no such one.
func runEndByName(ctx context.Context, e *env, args []string, cmd, kind, done, help string,
	end func(*store.DB, context.Context, string) error) error {
	fs := newFlagSet(e, cmd, "[-c FILE] NAME", help)
	cfgPath := fs.String("c", "", "configuration `file` (for store.path)")
	name, err := oneArg(fs, args, "NAME")
	if err != nil {
		return err
	}
	return withStore(ctx, e, *cfgPath, func(db *store.DB) error {
		if err := end(db, ctx, name); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no %s named %q ('acd %s list' shows them)", kind, name, kind)
			}
			return err
		}
		fmt.Fprintf(e.stdout, "%s %q %s\n", kind, name, done)
		return nil
	})
}

func withStore(ctx context.Context, e *env, cfgPath string, fn func(*store.DB) error) error {
	lc, err := loadConfig(cfgPath, e.environ())
	if err != nil {
		return err
	}
	log := newLogger(logConfig{Level: "warn", Format: "text"}, e.stderr)
	db, err := store.Open(ctx, lc.Store, log)
	if err != nil {
		return err
	}
	// Writes are audited; the server's audit key signs checkpoints, the
	// last one when the command is done.
	cp, err := auditCheckpointer(lc, "")
	if err != nil {
		return errors.Join(err, db.Close())
	}
	db.SetAuditCheckpointer(cp)
	ferr := fn(db)
	_, _, cerr := db.AuditCheckpoint(ctx)
	return errors.Join(ferr, cerr, db.Close())
}

// parseInterspersed parses flags placed before, between or after the
// positional arguments, and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// oneArg parses args like parseInterspersed and returns the single
// positional argument, what it names.
func oneArg(fs *flag.FlagSet, args []string, what string) (string, error) {
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", fmt.Errorf("%w: expected one %s", errUsage, what)
	}
	return pos[0], nil
}

// tokenTime formats a token time in UTC to the minute, or none when zero.
func tokenTime(t time.Time, none string) string {
	if t.IsZero() {
		return none
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}
