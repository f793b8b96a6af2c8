package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/acd-org/acd/cases"
)

const caseHelp = `
Work with cases through the acd server's REST API (/api/v1/cases): a
request to act against an attack server, the commission's signed
decision on it, and the actions it authorizes.

  acd case create --target T --suspect ADDR --legal-basis TEXT --action TYPE=TARGET ...
  acd case list [--state S] [--target T] [--json]
  acd case show ID [--json]               the case, its actions, approvals, history
  acd case request ID                     put a draft before the commission
  acd case approve ID --key FILE          sign an approval on this machine and send it
  acd case reject ID --key FILE --reason TEXT
  acd case execute ID --action N          run an approved action (operator)
  acd case emergency ID --action N --reason TEXT   act before approval (urgent cases)
  acd case revoke ID --reason TEXT        stop the actions (commissioner, admin)
  acd case review ID                      record the review of an emergency
  acd case withdraw ID --reason TEXT      withdraw a case before it runs
  acd case close ID                       archive a finished case

Every command takes --server URL (default $ACD_SERVER, else
http://127.0.0.1:8080) and credentials: $ACD_TOKEN (an API token), or
--user NAME with the password in $ACD_PASSWORD or on the first line of
stdin. There is no password flag. The server authorizes by role: analysts
create, amend, request, withdraw and close; commissioners approve, reject,
revoke and review; operators execute.

approve and reject fetch the exact bytes to sign (GET .../payload), print
what they say (target, each action with its window), sign them with the
commissioner's private key (--key FILE, made by 'acd user keygen') on this
machine, and send only the signature: the private key never leaves it.

Examples:
  export ACD_SERVER=https://acd.example:8443 ACD_TOKEN=acd_...
  acd case create --target 198.51.100.7 --suspect 198.51.100.7 \
      --legal-basis "ACD Act art. 12(1)" --urgency high \
      --action 'block=198.51.100.7;protocol=tcp;ports=22' --for 24h
  acd case request c-7
  acd case approve c-7 --user carol --key ~/.acd/carol.key
  acd case execute c-7 --action 0
  acd case list --state requested --json

Exit status: 0 done; 1 the server refused (the message says why: 403
role or separation of duties, 404 no such case, 409 the state or the
gate refused) or could not be reached; 2 usage error.`

func runCase(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "case", "create|list|show|request|approve|reject|execute|emergency|revoke|review|withdraw|close [flags] [ID]", caseHelp)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	subs := "create, list, show, request, approve, reject, execute, emergency, revoke, review, withdraw, close"
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: expected %s", errUsage, subs)
	}
	sub, rest := fs.Arg(0), fs.Args()[1:]
	switch sub {
	case "create":
		return runCaseCreate(ctx, e, rest)
	case "list":
		return runCaseList(ctx, e, rest)
	case "show":
		return runCaseShow(ctx, e, rest)
	case "approve":
		return runCaseSign(ctx, e, cases.DecisionApprove, rest)
	case "reject":
		return runCaseSign(ctx, e, cases.DecisionReject, rest)
	case "execute", "emergency":
		return runCaseRun(ctx, e, sub, rest)
	case "request", "revoke", "review", "withdraw", "close":
		return runCaseChange(ctx, e, cases.Event(sub), rest)
	}
	return fmt.Errorf("%w: unknown subcommand %q (%s)", errUsage, sub, subs)
}

// casePath is the API path of case id (and a sub-resource).
func casePath(id string, sub ...string) string {
	return "/api/v1/cases/" + strings.Join(append([]string{url.PathEscape(id)}, sub...), "/")
}

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// nonNil returns s, or an empty slice for nil: a JSON list prints [],
// not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// printCaseResult prints a case after a change: JSON, or one line.
func printCaseResult(e *env, asJSON bool, c cases.Case, done string) error {
	if asJSON {
		return printJSON(e.stdout, c)
	}
	fmt.Fprintf(e.stdout, "case %s v%d: %s (now %s)\n", c.ID, c.Version, done, c.State)
	return nil
}

func runCaseList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "case list", "[--state S] [--target T] [--limit N] [--offset N] [--json]", `
List cases, newest first: id, version, state, route, urgency, target,
requester, actions and creation time (UTC).

Examples:
  acd case list --state requested
  acd case list --target 198.51.100.7 --json`)
	cf := addClientFlags(fs)
	state := fs.String("state", "", "only cases in this `state` (draft, requested, approved, active, ...)")
	target := fs.String("target", "", "only cases against this `target`")
	limit := fs.Int("limit", 100, "at most `N` cases (1 to 1000)")
	offset := fs.Int("offset", 0, "skip the first `N`")
	asJSON := fs.Bool("json", false, "print the server's JSON answer ({\"cases\": [...], \"total\": N})")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("%w: list takes no argument", errUsage)
	}
	if *state != "" {
		if _, err := cases.ParseState(*state); err != nil {
			return fmt.Errorf("%w: --state: %v", errUsage, err)
		}
	}
	c, err := newAPIClient(e, cf, true)
	if err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(*limit)}, "offset": {strconv.Itoa(*offset)}}
	if *state != "" {
		q.Set("state", *state)
	}
	if *target != "" {
		q.Set("target", *target)
	}
	var list struct {
		Cases []cases.Case `json:"cases"`
		Total int          `json:"total"`
	}
	if err := c.callJSON(ctx, "GET", "/api/v1/cases", q, nil, &list); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, list)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tVER\tSTATE\tROUTE\tURGENCY\tTARGET\tREQUESTER\tACTIONS\tCREATED")
	for _, k := range list.Cases {
		types := make([]string, 0, len(k.Actions))
		for _, a := range k.Actions {
			types = append(types, string(a.Type))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Version, k.State, k.Route, k.Urgency,
			k.Target, k.Requester, strings.Join(types, ","), tokenTime(k.Created, "-"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if shown := *offset + len(list.Cases); shown < list.Total {
		fmt.Fprintf(e.stderr, "%d of %d cases shown (--offset %d for more)\n", len(list.Cases), list.Total, shown)
	}
	return nil
}

func runCaseShow(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "case show", "[--json] ID", `
Show a case: what it asks for (target, suspects, evidence hash, legal
basis, each action with its scope and window), its state and flags, the
commission's decisions and the history.

Example:
  acd case show c-7`)
	cf := addClientFlags(fs)
	asJSON := fs.Bool("json", false, "print the case record as JSON (case, approvals, evidence, payload)")
	id, err := oneArg(fs, args, "case ID")
	if err != nil {
		return err
	}
	c, err := newAPIClient(e, cf, true)
	if err != nil {
		return err
	}
	var rec cases.Record
	if err := c.callJSON(ctx, "GET", casePath(id), nil, nil, &rec); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, rec)
	}
	return printRecord(e.stdout, rec)
}

func runCaseChange(ctx context.Context, e *env, ev cases.Event, args []string) error {
	needsReason := ev == cases.EventWithdraw || ev == cases.EventRevoke
	desc := map[cases.Event]string{
		cases.EventRequest:  "Put a draft case before the commission: its evidence is frozen and it waits\nfor the quorum of approvals.",
		cases.EventRevoke:   "Stop an approved or running case's actions before their windows end\n(commissioner, admin). A reason is required.",
		cases.EventReview:   "Record the commission's review of an emergency activation (commissioner,\nadmin); without it in time the actions are rolled back.",
		cases.EventWithdraw: "Withdraw a draft, requested or approved case before it runs (analyst,\nadmin). A reason is required.",
		cases.EventClose:    "Archive a rejected, withdrawn, expired or revoked case (analyst, admin).",
	}[ev]
	synopsis := "[--reason TEXT] [--json] ID"
	if needsReason {
		synopsis = "--reason TEXT [--json] ID"
	}
	fs := newFlagSet(e, "case "+string(ev), synopsis, desc+"\n\nExample:\n  acd case "+string(ev)+" c-7"+map[bool]string{true: ` --reason "..."`}[needsReason])
	cf := addClientFlags(fs)
	reason := fs.String("reason", "", "why (recorded in the case's history and the audit log)")
	asJSON := fs.Bool("json", false, "print the case as JSON")
	id, err := oneArg(fs, args, "case ID")
	if err != nil {
		return err
	}
	if needsReason && strings.TrimSpace(*reason) == "" {
		return fmt.Errorf("%w: --reason is required for %s", errUsage, ev)
	}
	c, err := newAPIClient(e, cf, true)
	if err != nil {
		return err
	}
	var body any
	if *reason != "" {
		body = map[string]string{"reason": *reason}
	}
	var out cases.Case
	if err := c.callJSON(ctx, "POST", casePath(id, string(ev)), nil, body, &out); err != nil {
		return err
	}
	return printCaseResult(e, *asJSON, out, string(ev)+" done")
}

func runCaseRun(ctx context.Context, e *env, sub string, args []string) error {
	emergency := sub == "emergency"
	desc := `
Run action N (from 0, as 'acd case show' numbers them) of an approved
case, by you, through the enforcement side, which checks the approvals,
window and scope itself. An approver or the requester cannot execute.

Example:
  acd case execute c-7 --action 0`
	synopsis := "--action N [--json] ID"
	if emergency {
		desc = `
Run action N of an urgent, requested case before the commission approves
it: operators with the emergency right only, for the action types the
policy allows. The commission is notified and must review it before the
policy's deadline, else the action is rolled back and the case flagged.

Example:
  acd case emergency c-7 --action 0 --reason "DDoS on the hospital uplink"`
		synopsis = "--action N --reason TEXT [--json] ID"
	}
	fs := newFlagSet(e, "case "+sub, synopsis, desc)
	cf := addClientFlags(fs)
	action := fs.Int("action", -1, "the action's index `N` in the case, from 0")
	reason := fs.String("reason", "", "why the emergency (emergency only)")
	asJSON := fs.Bool("json", false, "print the case as JSON")
	id, err := oneArg(fs, args, "case ID")
	if err != nil {
		return err
	}
	switch {
	case *action < 0:
		return fmt.Errorf("%w: --action N is required (the action's index, from 0)", errUsage)
	case emergency && strings.TrimSpace(*reason) == "":
		return fmt.Errorf("%w: --reason is required for an emergency", errUsage)
	case !emergency && *reason != "":
		return fmt.Errorf("%w: --reason is for emergency only", errUsage)
	}
	c, err := newAPIClient(e, cf, true)
	if err != nil {
		return err
	}
	body := map[string]any{"action": *action}
	if emergency {
		body["reason"] = *reason
	}
	var out cases.Case
	if err := c.callJSON(ctx, "POST", casePath(id, sub), nil, body, &out); err != nil {
		return err
	}
	return printCaseResult(e, *asJSON, out, fmt.Sprintf("action %d %s", *action, map[bool]string{false: "executed", true: "run as an emergency"}[emergency]))
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, " ") }

// Set adds a value.
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

var _ flag.Value = (*stringList)(nil)

// readInput reads a file, or stdin for "-".
func readInput(e *env, path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(io.LimitReader(e.stdin, 1<<20))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--file: %w", err)
	}
	defer func() { _ = f.Close() }()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}
