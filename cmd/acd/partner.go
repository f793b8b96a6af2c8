package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/acd-org/acd/conf"
	"github.com/acd-org/acd/intel/share"
	"github.com/acd-org/acd/store"
)

const partnerHelp = `
Manage the allied partners acd shares intelligence with over TAXII 2.1.
Each partner has a sharing agreement (a YAML file: which of acd's TAXII
collections it reads, the highest TLP that may leave — never RED or
AMBER+STRICT —, object types, minimum confidence, delay, whether anything
derived from domestic data may leave; and which of its collections acd
polls, with what trust). See intel/share/README.md for the format.

  acd partner add NAME --agreement FILE [--url URL --api-root NAME --remote-key-file FILE --push-collection ID]
                                    add a partner; print the API key it presents to acd's TAXII server
  acd partner update NAME [--url URL --api-root NAME] [--remote-key-file FILE] [--push-collection ID]
                                    change how acd reaches NAME (e.g. once NAME handed over its key)
  acd partner list [--json]         the partners, their terms and last sync
  acd partner remove NAME           stop sharing with NAME (its key is refused from now on)
  acd partner sync NAME             poll NAME's collections and publish to it now (through the API)

--url is the partner's TAXII server (https://taxii.partner.example/),
--api-root the API root acd polls there, and --remote-key-file a file
holding the API key acd presents to it (kept in the store: protect the
store file); --push-collection the partner's collection acd POSTs to (what
it may receive, as for pulls). Without --url, the partner only reads acd's
collections.

The partners live in the store (store.path): give the same -c FILE (or
ACD_STORE_PATH) as acd serve; acd serve picks changes up at its next
sync. sync needs a running server (--server, a token or --user with the
operator or admin role).

Exit status: 0 done; 1 the store or server failed, the name is taken or
unknown, the agreement is refused; 2 usage error.`

func runPartner(ctx context.Context, e *env, args []string) error {
	return runSubcommands(ctx, e, "partner", partnerHelp, args, []subcommand{
		{"add", runPartnerAdd}, {"update", runPartnerUpdate}, {"list", runPartnerList}, {"remove", runPartnerRemove}, {"sync", runPartnerSync}})
}

// remoteFlags are the flags that say how acd reaches a partner (add and
// update).
type remoteFlags struct{ url, apiRoot, keyFile, push *string }

func addRemoteFlags(fs *flag.FlagSet, omitted string) remoteFlags {
	return remoteFlags{
		url:     fs.String("url", "", "the partner's TAXII server `URL` ("+omitted+": it only reads acd's collections)"),
		apiRoot: fs.String("api-root", "", "the partner's API root `name` acd polls and pushes to"),
		keyFile: fs.String("remote-key-file", "", "`file` holding the API key acd presents to the partner"),
		push:    fs.String("push-collection", "", "the partner's collection `id` acd POSTs its objects to ("+omitted+": the partner pulls)"),
	}
}

// readRemoteKey reads the key acd presents to a partner from file.
func readRemoteKey(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("unable to read the remote key: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", fmt.Errorf("the remote key file %s is empty", file)
	}
	return key, nil
}

func runPartnerAdd(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "partner add", "--agreement FILE [--url URL --api-root NAME --remote-key-file FILE] [-c FILE] NAME", `
Add the partner NAME under the sharing agreement in FILE (its "partner:"
must be NAME or absent) and print on stdout, once, the API key the
partner presents to acd's TAXII server (X-API-Key or Authorization:
Bearer); only its hash is stored.

Example:
  acd partner add us --agreement us.yaml --url https://taxii.us.example/ \
      --api-root acd --remote-key-file us.key > us-reads-acd.key`)
	agreement := fs.String("agreement", "", "the sharing agreement `file` (YAML)")
	rf := addRemoteFlags(fs, "omit")
	urlFlag, apiRoot, keyFile, push := rf.url, rf.apiRoot, rf.keyFile, rf.push
	cfgPath := fs.String("c", "", "configuration `file` (for store.path)")
	name, err := oneArg(fs, args, "NAME")
	if err != nil {
		return err
	}
	if err := store.ValidPartnerName(name); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *agreement == "" {
		return fmt.Errorf("%w: --agreement is required", errUsage)
	}
	if (*urlFlag == "") != (*apiRoot == "") {
		return fmt.Errorf("%w: --url and --api-root go together", errUsage)
	}
	data, err := os.ReadFile(*agreement)
	if err != nil {
		return fmt.Errorf("unable to read the agreement: %w", err)
	}
	a := share.DefaultAgreement()
	if err := conf.Load(data, &a); err != nil {
		return fmt.Errorf("unable to load the sharing agreement %s: %w", *agreement, err)
	}
	if a.Partner == "" {
		a.Partner = name
	}
	if err := a.Validate(); err != nil {
		return err
	}
	remoteKey := ""
	if *keyFile != "" {
		if remoteKey, err = readRemoteKey(*keyFile); err != nil {
			return err
		}
	}
	return withStore(ctx, e, *cfgPath, func(db *store.DB) error {
		key, err := db.AddPartner(ctx, store.Partner{Name: name, Agreement: a, URL: *urlFlag, APIRoot: *apiRoot, RemoteKey: remoteKey,
			PushCollection: *push})
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, key)
		fmt.Fprintf(e.stderr, "partner %q added (outgoing up to TLP:%s); the key it presents to acd's TAXII server, printed above, will not be shown again\n",
			name, strings.ToUpper(a.Outgoing.MaxTLP.String()))
		return nil
	})
}

func runPartnerUpdate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "partner update", "[--url URL --api-root NAME] [--remote-key-file FILE] [--push-collection ID] [-c FILE] NAME", `
Change how acd reaches the partner NAME: its TAXII server (--url with
--api-root; --url '' makes it a partner that only reads acd's
collections), the key acd presents there (--remote-key-file), the
collection acd pushes to (--push-collection, '' to stop pushing). Only
the flags given change; the agreement and the key NAME presents to acd
stay (to change the terms, remove and add the partner).

Two allies set up an exchange both ways so: each adds the other (and
hands over the key 'acd partner add' printed), then each updates the
other with the key it received:
  acd partner add us --agreement us.yaml > for-us.key         # send for-us.key to us
  acd partner update us --url https://taxii.us.example/ --api-root acd --remote-key-file from-us.key`)
	rf := addRemoteFlags(fs, "''")
	urlFlag, apiRoot, keyFile, push := rf.url, rf.apiRoot, rf.keyFile, rf.push
	cfgPath := fs.String("c", "", "configuration `file` (for store.path)")
	name, err := oneArg(fs, args, "NAME")
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["url"] && !set["api-root"] && !set["remote-key-file"] && !set["push-collection"] {
		return fmt.Errorf("%w: nothing to change: give --url/--api-root, --remote-key-file or --push-collection", errUsage)
	}
	if set["url"] != set["api-root"] && !(set["url"] && *urlFlag == "") {
		return fmt.Errorf("%w: --url and --api-root go together", errUsage)
	}
	remoteKey := ""
	if set["remote-key-file"] {
		if remoteKey, err = readRemoteKey(*keyFile); err != nil {
			return err
		}
	}
	return withStore(ctx, e, *cfgPath, func(db *store.DB) error {
		ps, err := db.Partners(ctx, false)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(ps, func(p store.Partner) bool { return p.Name == name })
		if i < 0 {
			return fmt.Errorf("no partner named %q ('acd partner list' shows them)", name)
		}
		r := store.PartnerRemote{URL: ps[i].URL, APIRoot: ps[i].APIRoot, PushCollection: ps[i].PushCollection, RemoteKey: ps[i].RemoteKey}
		if set["url"] {
			r.URL, r.APIRoot = *urlFlag, *apiRoot
			if r.URL == "" { // read-only from now on: nothing to reach
				r.APIRoot, r.PushCollection, r.RemoteKey = "", "", ""
			}
		}
		if set["remote-key-file"] {
			r.RemoteKey = remoteKey
		}
		if set["push-collection"] {
			r.PushCollection = *push
		}
		if err := db.UpdatePartnerRemote(ctx, name, r); err != nil {
			return err
		}
		server := r.URL
		if server == "" {
			server = "none: it only reads acd's collections"
		}
		fmt.Fprintf(e.stdout, "partner %q updated (server %s, key %v, push %q); acd serve picks it up within seconds\n",
			name, server, r.RemoteKey != "", r.PushCollection)
		return nil
	})
}

func runPartnerList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "partner list", "[--json] [--all] [-c FILE]", `
List the partners: name, highest TLP out, collections each way, their
TAXII server, last sync and its error. Never a key.`)
	asJSON := fs.Bool("json", false, "print a JSON array")
	all := fs.Bool("all", false, "include removed partners")
	cfgPath := fs.String("c", "", "configuration `file` (for store.path)")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: list takes no argument", errUsage)
	}
	return withStore(ctx, e, *cfgPath, func(db *store.DB) error {
		ps, err := db.Partners(ctx, *all)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.stdout, nonNil(ps))
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tTLP OUT\tOUT\tIN\tSERVER\tLAST SYNC\tERROR")
		for _, p := range ps {
			server := p.URL
			if server == "" {
				server = "(reads ours only)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", p.Name, p.Agreement.Outgoing.MaxTLP, len(p.Agreement.Outgoing.Collections),
				len(p.Agreement.Incoming.Collections), server, tokenTime(p.LastSync, "never"), p.LastError)
		}
		return tw.Flush()
	})
}

func runPartnerRemove(ctx context.Context, e *env, args []string) error {
	return runEndByName(ctx, e, args, "partner remove", "partner", "removed", `
Stop sharing with the partner NAME: its key is refused by acd's TAXII
server from now on and nothing more is published for it or polled from
it. What it already received stays with it.`, (*store.DB).RemovePartner)
}

func runPartnerSync(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "partner sync", "[--server URL] [--user NAME] NAME", `
Have the running acd poll the partner NAME's collections and publish to
it now, and print what happened (objects received, accepted, refused by
reason; suspects added and withdrawn; objects published).`)
	cf := addClientFlags(fs)
	name, err := oneArg(fs, args, "NAME")
	if err != nil {
		return err
	}
	c, err := newAPIClient(e, cf, true)
	if err != nil {
		return err
	}
	var out map[string]any
	if err := c.callJSON(ctx, http.MethodPost, "/api/v1/partners/"+name+"/sync", nil, nil, &out); err != nil {
		return err
	}
	return printJSON(e.stdout, out)
}
