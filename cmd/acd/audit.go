package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/store"
)

const auditHelp = `
Read, verify and export the tamper-evident audit log: every decision,
state change, data access, re-identification, action, share and login,
each entry hash-chained to the one before, with checkpoints signed by the
server's Ed25519 key (audit.key; its public half audit.key.pub).

  acd audit verify [-c FILE | --file EXPORT] [--pubkey FILE]
                                       check the chain and checkpoints
  acd audit export [-c FILE] [--from T] [--to T] [-o FILE]
                                       write JSON lines that verify offline
  acd audit list [-c FILE] [filters] [--json]
                                       show entries
  acd audit report --from T --to T [--json]
                                       the oversight report (= acd report oversight)
  acd audit checkpoint [-c FILE] [--key FILE]
                                       sign the latest entry now

Times T are RFC 3339 (2026-04-01T00:00:00Z) or dates (2026-04-01, UTC
midnight); a period is from <= time < to.

Examples:
  acd audit verify -c /etc/acd/acd.yaml
  acd audit export -c /etc/acd/acd.yaml -o audit-2026q1.jsonl
  acd audit verify --file audit-2026q1.jsonl --pubkey audit.key.pub
  acd audit list --action 'case.*' --limit 20
  acd audit report --from 2026-01-01 --to 2026-04-01 --json

Exit status: 0 done (verify: the log verified); 1 verify found a problem
(the first broken sequence number is printed) or the store failed; 2
usage error.`

func runAudit(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "audit", "verify|export|list|report|checkpoint [flags]", auditHelp)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: expected verify, export, list, report or checkpoint", errUsage)
	}
	sub, rest := fs.Arg(0), fs.Args()[1:]
	switch sub {
	case "verify":
		return runAuditVerify(ctx, e, rest)
	case "export":
		return runAuditExport(ctx, e, rest)
	case "list":
		return runAuditList(ctx, e, rest)
	case "report":
		return runAuditReport(ctx, e, "audit report", rest)
	case "checkpoint":
		return runAuditCheckpoint(ctx, e, rest)
	}
	return fmt.Errorf("%w: unknown subcommand %q (verify, export, list, report, checkpoint)", errUsage, sub)
}

// runReport is "acd report oversight".
func runReport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "report", "oversight --from T --to T [--json] [-c FILE]", `
Reports for oversight bodies. 'acd report oversight' counts, from the
audit log, what an oversight commission must report for a period:
approval requests, approvals and rejections per legal route, emergency
actions with their reviews and rollbacks, re-identifications and actions
by type. Same as 'acd audit report'; see 'acd audit report --help'.

Example:
  acd report oversight --from 2026-01-01 --to 2026-04-01`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 || fs.Arg(0) != "oversight" {
		return fmt.Errorf("%w: expected 'oversight'", errUsage)
	}
	return runAuditReport(ctx, e, "report oversight", fs.Args()[1:])
}

// auditConfig returns the audit section of the configuration.
// An empty audit.key means audit.key beside the store's database.
func auditConfig(lc *loadedConfig) audit.Config {
	return lc.Audit.ResolveKey(filepath.Dir(lc.Store.Path))
}

// auditCheckpointer loads (or creates, mode 0600) the audit signing key
// of the configuration, or keyPath when given. The key is never printed.
func auditCheckpointer(lc *loadedConfig, keyPath string) (*audit.Checkpointer, error) {
	ac := auditConfig(lc)
	if keyPath != "" {
		ac.Key = keyPath
	}
	key, _, err := audit.LoadOrCreateKey(ac.Key)
	if err != nil {
		return nil, err
	}
	return audit.NewCheckpointer(key, ac.CheckpointEvery, nil)
}

// openAuditStore loads the configuration and opens the store.
func openAuditStore(ctx context.Context, e *env, cfgPath string) (*loadedConfig, *store.DB, error) {
	lc, err := loadConfig(cfgPath, e.environ())
	if err != nil {
		return nil, nil, err
	}
	db, err := store.Open(ctx, lc.Store, newLogger(logConfig{Level: "warn", Format: "text"}, e.stderr))
	if err != nil {
		return nil, nil, err
	}
	return lc, db, nil
}

func runAuditVerify(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "audit verify", "[-c FILE | --file EXPORT] [--pubkey FILE] [--partial] [--strict] [--json]", `
Verify the audit log: every entry's hash, the chain of hashes, the
sequence numbers and every checkpoint's signature and hash. Only the
public key is needed. Without --file the live store (store.path) is
checked; with --file, an export made by 'acd audit export' (offline).

Every problem is printed with its sequence number, the first broken one
first. Entries after the last checkpoint are chained but not yet signed:
they are reported as an unverified tail (an error with --strict).

Examples:
  acd audit verify -c /etc/acd/acd.yaml
  acd audit verify --file audit.jsonl --pubkey audit.key.pub
  acd audit verify --file audit-march.jsonl --partial --pubkey audit.key.pub

Exit status: 0 verified; 1 a problem was found (or the store or file
could not be read); 2 usage error.`)
	cfgPath := fs.String("c", "", "configuration `file` (store.path, audit.key)")
	file := fs.String("file", "", "verify this export `file` instead of the store ('-': stdin)")
	pubPath := fs.String("pubkey", "", "public key `file` (default: audit.key + \".pub\" of the configuration)")
	partial := fs.Bool("partial", false, "the export is a range (--from/--to): accept a chain not starting at seq 1")
	strict := fs.Bool("strict", false, "fail when entries after the last checkpoint are unsigned")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: verify takes no argument (give an export with --file)", errUsage)
	}
	var r audit.Report
	if *file != "" {
		pub, err := loadAuditPub(e, *cfgPath, *pubPath)
		if err != nil {
			return err
		}
		var in io.Reader = e.stdin
		if *file != "-" {
			f, err := os.Open(*file)
			if err != nil {
				return err
			}
			defer f.Close()
			in = f
		}
		if r, err = audit.VerifyExport(in, pub, audit.Options{Partial: *partial}); err != nil {
			return fmt.Errorf("%s: %w", *file, err)
		}
	} else {
		if *partial {
			return fmt.Errorf("%w: --partial is for an export (--file)", errUsage)
		}
		pub, err := loadAuditPub(e, *cfgPath, *pubPath)
		if err != nil {
			return err
		}
		_, db, err := openAuditStore(ctx, e, *cfgPath)
		if err != nil {
			return err
		}
		r, err = db.VerifyAudit(ctx, pub)
		if err = errors.Join(err, db.Close()); err != nil {
			return err
		}
	}
	if *asJSON {
		if err := printJSON(e.stdout, r); err != nil {
			return err
		}
	} else {
		for _, p := range r.Problems {
			fmt.Fprintf(e.stdout, "BROKEN %s\n", p)
		}
		fmt.Fprintln(e.stdout, r.Summary())
	}
	if err := r.Err(); err != nil {
		return err
	}
	if *strict && r.Tail > 0 {
		return fmt.Errorf("unverified tail: %d entries after seq %d are not signed (--strict)", r.Tail, r.SignedThrough)
	}
	if !*asJSON {
		fmt.Fprintln(e.stdout, "verified")
	}
	return nil
}

// loadAuditPub reads the public key: pubPath, else the configuration's
// audit.key + ".pub".
func loadAuditPub(e *env, cfgPath, pubPath string) (ed25519.PublicKey, error) {
	if pubPath == "" {
		lc, err := loadConfig(cfgPath, e.environ())
		if err != nil {
			return nil, err
		}
		pubPath = auditConfig(lc).PublicKeyPath()
	}
	pub, err := audit.LoadPublicKey(pubPath)
	if err != nil {
		return nil, fmt.Errorf("%w (give the server's public key with --pubkey)", err)
	}
	return pub, nil
}

func runAuditExport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "audit export", "[-c FILE] [--from T] [--to T] [-o FILE]", `
Export the audit log as JSON lines: a header line, then each entry
({"entry":{...}}) in sequence order, each checkpoint ({"checkpoint":{...}})
right after the entry it signs. 'acd audit verify --file' checks it
offline with the public key alone.

--from/--to select a contiguous range of entries (from <= time < to),
extended to the next checkpoint so that its end is signed; verify such a
range with --partial.

Examples:
  acd audit export -c /etc/acd/acd.yaml > audit.jsonl
  acd audit export --from 2026-03-01 --to 2026-04-01 -o march.jsonl`)
	cfgPath := fs.String("c", "", "configuration `file` (for store.path)")
	from := fs.String("from", "", "first `time` (RFC 3339 or YYYY-MM-DD)")
	to := fs.String("to", "", "end `time`, exclusive")
	out := fs.String("o", "", "write to `file` (mode 0600) instead of stdout")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: export takes no argument", errUsage)
	}
	var opts audit.ExportOptions
	if opts.From, err = parseAuditTime("--from", *from); err != nil {
		return err
	}
	if opts.To, err = parseAuditTime("--to", *to); err != nil {
		return err
	}
	_, db, err := openAuditStore(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	w := e.stdout
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	h, err := db.ExportAudit(ctx, w, opts)
	if err != nil {
		return err
	}
	if h.ToSeq < h.FromSeq {
		fmt.Fprintln(e.stderr, "no audit entries in range")
	} else {
		note := ""
		if h.Partial {
			note = " (a range: verify it with --partial)"
		}
		fmt.Fprintf(e.stderr, "exported entries %d..%d%s\n", h.FromSeq, h.ToSeq, note)
	}
	return nil
}

func runAuditList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "audit list", "[-c FILE] [--from T] [--to T] [--actor A] [--action X] [--object O] [--limit N] [--json]", `
List audit entries, oldest first. --action accepts a prefix as "case.*".

Examples:
  acd audit list --limit 20
  acd audit list --action 'case.*' --object case:42 --json`)
	cfgPath := fs.String("c", "", "configuration `file` (for store.path)")
	from := fs.String("from", "", "first `time` (RFC 3339 or YYYY-MM-DD)")
	to := fs.String("to", "", "end `time`, exclusive")
	var f audit.Filter
	fs.StringVar(&f.Actor, "actor", "", "only entries by this `actor`")
	fs.StringVar(&f.Action, "action", "", "only this `action` (or prefix.*)")
	fs.StringVar(&f.Object, "object", "", "only entries about this `object` (kind:id)")
	fs.IntVar(&f.Limit, "limit", 100, "show the newest `N` (0: all)")
	asJSON := fs.Bool("json", false, "print JSON lines, one entry per line")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: list takes no argument", errUsage)
	}
	if f.Limit < 0 {
		return fmt.Errorf("%w: --limit %d is negative", errUsage, f.Limit)
	}
	if f.From, err = parseAuditTime("--from", *from); err != nil {
		return err
	}
	if f.To, err = parseAuditTime("--to", *to); err != nil {
		return err
	}
	_, db, err := openAuditStore(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	es, err := db.ListAudit(ctx, f)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		for _, en := range es {
			if err := enc.Encode(en); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tACTION\tOBJECT\tDATA")
	for _, en := range es {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", en.Seq, en.Time.Format("2006-01-02 15:04:05Z"), en.Actor, en.Action, dash(en.Object), dash(string(en.Data)))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runAuditReport(ctx context.Context, e *env, name string, args []string) error {
	fs := newFlagSet(e, name, "--from T --to T [--json] [-c FILE]", `
Count, from the audit log, what an oversight commission reports for the
period from <= time < to: approval requests, approvals, rejections and
withdrawals; emergency actions, their reviews and rollbacks;
re-identifications; actions executed and revoked; refusals at the gate;
shares. Decisions are broken down by legal route and actions by type.

Examples:
  acd `+name+` --from 2026-01-01 --to 2026-04-01
  acd `+name+` --from 2026-01-01T00:00:00+09:00 --to 2026-04-01T00:00:00+09:00 --json`)
	cfgPath := fs.String("c", "", "configuration `file` (for store.path)")
	from := fs.String("from", "", "start of the period (RFC 3339 or YYYY-MM-DD; required)")
	to := fs.String("to", "", "end of the period, exclusive (required)")
	asJSON := fs.Bool("json", false, "print JSON")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, rest[0])
	}
	if *from == "" || *to == "" {
		return fmt.Errorf("%w: --from and --to are required", errUsage)
	}
	f, err := parseAuditTime("--from", *from)
	if err != nil {
		return err
	}
	t, err := parseAuditTime("--to", *to)
	if err != nil {
		return err
	}
	if !f.Before(t) {
		return fmt.Errorf("%w: --from %s is not before --to %s", errUsage, *from, *to)
	}
	_, db, err := openAuditStore(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	o, err := db.AuditOversight(ctx, f, t)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, o)
	}
	return o.WriteTable(e.stdout)
}

func runAuditCheckpoint(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "audit checkpoint", "[-c FILE] [--key FILE]", `
Sign the latest audit entry now with the server's key (audit.key, created
with mode 0600 when missing; its public half is written beside it as
.pub), so that no entry stays in the unverified tail. acd serve does this
at shutdown and every audit.checkpoint_every entries.

Example:
  acd audit checkpoint -c /etc/acd/acd.yaml`)
	cfgPath := fs.String("c", "", "configuration `file` (store.path, audit.key)")
	keyPath := fs.String("key", "", "private key `file` (default: audit.key of the configuration)")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: checkpoint takes no argument", errUsage)
	}
	lc, db, err := openAuditStore(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	cp, err := auditCheckpointer(lc, *keyPath)
	if err != nil {
		return err
	}
	db.SetAuditCheckpointer(cp)
	c, ok, err := db.AuditCheckpoint(ctx)
	switch {
	case err != nil:
		return err
	case !ok:
		fmt.Fprintln(e.stdout, "nothing to sign: the latest entry is signed already (or the log is empty)")
	default:
		fmt.Fprintf(e.stdout, "checkpoint at seq %d signed with key %s\n", c.Seq, c.Key)
	}
	return nil
}

// parseAuditTime parses an RFC 3339 time or a date (UTC midnight); ""
// is the zero time.
func parseAuditTime(flagName, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%w: %s %q: want RFC 3339 (2026-04-01T00:00:00Z) or a date (2026-04-01)", errUsage, flagName, strings.TrimSpace(s))
}
