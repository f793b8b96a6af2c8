package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/acd-org/acd/store"
)

const bouncerHelp = `
Manage the CrowdSec bouncers that pull acd's block decisions. acd serves
the CrowdSec Local API endpoints bouncers poll (enforce.crowdsec.listen),
so any CrowdSec bouncer — crowdsec-firewall-bouncer, cs-nginx-bouncer,
the Cloudflare bouncer… — enforces approved block actions. Each bouncer
authenticates with its own API key (X-Api-Key), printed once at creation:
the store keeps only its SHA-256.

  acd bouncer add NAME        create a bouncer key, print it
  acd bouncer list [--json]   name, created, last pull, revoked
  acd bouncer revoke NAME     refuse the bouncer from now on

Point the bouncer at acd (crowdsec-firewall-bouncer.yaml):
  api_url: http://ACD-HOST:8081/      # enforce.crowdsec.listen
  api_key: <the key printed by acd bouncer add>

The keys live in the store (store.path): give the same -c FILE (or
ACD_STORE_PATH) as acd serve. The commands work while acd serve runs.

Exit status: 0 done; 1 the store failed, the name is taken or unknown;
2 usage error.`

func runBouncer(ctx context.Context, e *env, args []string) error {
	return runSubcommands(ctx, e, "bouncer", bouncerHelp, args, []subcommand{
		{"add", runBouncerAdd}, {"list", runBouncerList}, {"revoke", runBouncerRevoke}})
}

func runBouncerAdd(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "bouncer add", "[-c FILE] NAME", `
Create an API key for the CrowdSec bouncer NAME and print it on stdout,
once: it cannot be shown again (only its hash is stored).

Example:
  acd bouncer add -c /etc/acd/acd.yaml edge-fw1 > edge-fw1.key`)
	cfgPath := fs.String("c", "", "configuration `file` (for store.path)")
	name, err := oneArg(fs, args, "NAME")
	if err != nil {
		return err
	}
	if err := store.ValidBouncerName(name); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return withStore(ctx, e, *cfgPath, func(db *store.DB) error {
		key, err := db.AddBouncer(ctx, name)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, key)
		fmt.Fprintf(e.stderr, "bouncer %q added in %s; its API key, printed above, will not be shown again\n", name, db.Path())
		return nil
	})
}

func runBouncerList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "bouncer list", "[--json] [-c FILE]", `
List the CrowdSec bouncers: name, created, last pull (to the minute) and
revoked. Never the keys.`)
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
		bs, err := db.ListBouncers(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.stdout, nonNil(bs))
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCREATED\tLAST PULL\tREVOKED")
		for _, b := range bs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", b.Name, tokenTime(b.Created, "-"), tokenTime(b.LastPull, "never"), tokenTime(b.RevokedAt, "-"))
		}
		return tw.Flush()
	})
}

func runBouncerRevoke(ctx context.Context, e *env, args []string) error {
	return runEndByName(ctx, e, args, "bouncer revoke", "bouncer", "revoked", `
Revoke the bouncer NAME's key: its pulls are refused (403) from now on.
The decisions it already installed stay until their durations end.`, (*store.DB).RevokeBouncer)
}
