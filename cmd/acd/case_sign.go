package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/cases/jcs"
	"github.com/acd-org/acd/store"
)

// runCaseSign is acd case approve|reject: fetch the payload, show it,
// sign it here, send the signed decision.
func runCaseSign(ctx context.Context, e *env, d cases.Decision, args []string) error {
	verb := string(d)
	fs := newFlagSet(e, "case "+verb, "--key FILE [--user NAME | --as NAME] [--reason TEXT] [--dry-run] [--json] ID", `
`+strings.ToUpper(verb[:1])+verb[1:]+` a requested case as a commissioner. The command fetches the exact
bytes to sign (the canonical payload of the case's current version),
checks that they are canonical JSON naming that case and version, prints
what they say (target, suspects, evidence hash, legal basis, each action
with its scope and window) on stderr, signs them on this machine with
your private key (--key, made by 'acd user keygen'; it never leaves this
machine) and sends only the signed decision. With --dry-run nothing is
signed or sent.

You sign in your own name: --user NAME, or --as NAME with a token (the
server refuses a decision in anyone else's name). The key id is the one
'acd user key add' registered (--key-id to override). A rejection needs
--reason. The requester of a case can never decide on it.

Examples:
  acd case approve c-7 --user carol --key ~/.acd/carol.key
  acd case reject c-7 --user carol --key ~/.acd/carol.key --reason "evidence too thin"
  ACD_TOKEN=acd_... acd case approve c-7 --as carol --key ~/.acd/carol.key --dry-run`)
	cf := addClientFlags(fs)
	keyFile := fs.String("key", "", "your private signing key `file` (PKCS #8 PEM from acd user keygen)")
	keyID := fs.String("key-id", "", "the key's `id` as the server knows it (default: its id as 'acd user key add' shows it)")
	as := fs.String("as", "", "sign as commissioner `NAME` (default: --user)")
	reason := fs.String("reason", "", "why (required to reject)")
	dryRun := fs.Bool("dry-run", false, "show what would be signed; sign and send nothing")
	asJSON := fs.Bool("json", false, "print the case after the decision as JSON")
	id, err := oneArg(fs, args, "case ID")
	if err != nil {
		return err
	}
	if *keyFile == "" {
		return fmt.Errorf("%w: --key FILE is required (your private signing key)", errUsage)
	}
	if d == cases.DecisionReject && strings.TrimSpace(*reason) == "" {
		return fmt.Errorf("%w: --reason is required to reject", errUsage)
	}
	key, err := readSigningKey(*keyFile)
	if err != nil {
		return err
	}
	c, err := newAPIClient(e, cf, true)
	if err != nil {
		return err
	}
	signer := *as
	if signer == "" {
		signer = c.name
	}
	if signer == "" {
		return fmt.Errorf("%w: who signs? give --user NAME, or --as NAME with a token", errUsage)
	}
	if c.name != "" && signer != c.name {
		return fmt.Errorf("%w: --as %s differs from --user %s: commissioners sign in their own name only", errUsage, signer, c.name)
	}
	pub := key.Public().(ed25519.PublicKey)
	kid := *keyID
	if kid == "" {
		kid = store.KeyID(pub)
	}
	payload, err := c.call(ctx, "GET", casePath(id, "payload"), nil, nil)
	if err != nil {
		return err
	}
	view, err := checkPayload(id, payload)
	if err != nil {
		return err
	}
	a := cases.Approval{Case: id, Version: view.Version, Commissioner: signer, KeyID: kid, Decision: d,
		Reason: *reason, SignedAt: time.Now().UTC().Truncate(time.Second)}
	printSummary(e.stderr, view, a)
	if *dryRun {
		fmt.Fprintln(e.stderr, "dry run: nothing signed or sent")
		return nil
	}
	signed, err := cases.Sign(payload, a, key)
	if err != nil {
		return err
	}
	if err := cases.Verify(payload, signed, pub); err != nil {
		return fmt.Errorf("the signature does not verify here: %w", err)
	}
	var out cases.Case
	if err := c.callJSON(ctx, "POST", casePath(id, "approvals"), nil, signed, &out); err != nil {
		return err
	}
	return printCaseResult(e, *asJSON, out, fmt.Sprintf("%s of version %d by %s recorded", verb, view.Version, signer))
}

// payloadView is what the summary shows of a payload.
type payloadView struct {
	Case         string   `json:"case"`
	Version      int      `json:"version"`
	Target       string   `json:"target"`
	Suspects     []string `json:"suspects"`
	EvidenceHash string   `json:"evidence_hash"`
	LegalBasis   string   `json:"legal_basis"`
	Route        string   `json:"route"`
	Urgency      string   `json:"urgency"`
	Requester    string   `json:"requester"`
	Actions      []struct {
		Type      string            `json:"type"`
		Target    string            `json:"target"`
		Scope     json.RawMessage   `json:"scope"`
		NotBefore string            `json:"not_before"`
		NotAfter  string            `json:"not_after"`
		Params    map[string]string `json:"params"`
	} `json:"actions"`
}

// checkPayload checks that the bytes to sign are canonical JSON of case
// id's payload and returns what they say.
func checkPayload(id string, payload []byte) (payloadView, error) {
	var v payloadView
	canon, err := jcs.Canonicalize(payload)
	if err != nil || !bytes.Equal(canon, payload) {
		return v, fmt.Errorf("the server's payload of case %s is not canonical JSON: refusing to sign it", id)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, fmt.Errorf("the server's payload of case %s is not a case payload this acd knows (%v): refusing to sign it", id, err)
	}
	if v.Case != id || v.Version < 1 {
		return v, fmt.Errorf("the server's payload names case %q version %d, not case %s: refusing to sign it", v.Case, v.Version, id)
	}
	return v, nil
}

// printSummary writes what a signature will cover, readably.
func printSummary(w io.Writer, v payloadView, a cases.Approval) {
	fmt.Fprintf(w, "You are about to sign: %s case %s, version %d\n", strings.ToUpper(string(a.Decision)), v.Case, v.Version)
	if a.Reason != "" {
		fmt.Fprintf(w, "  reason        %s\n", a.Reason)
	}
	fmt.Fprintf(w, "  target        %s\n", v.Target)
	fmt.Fprintf(w, "  suspects      %s\n", strings.Join(v.Suspects, ", "))
	fmt.Fprintf(w, "  evidence      sha256:%s\n", v.EvidenceHash)
	fmt.Fprintf(w, "  legal basis   %s\n", v.LegalBasis)
	fmt.Fprintf(w, "  route         %s (urgency %s)\n", v.Route, v.Urgency)
	fmt.Fprintf(w, "  requested by  %s\n", v.Requester)
	fmt.Fprintf(w, "  actions       %d\n", len(v.Actions))
	for i, act := range v.Actions {
		fmt.Fprintf(w, "    [%d] %s %s\n", i, act.Type, act.Target)
		if s := compactJSON(act.Scope); s != "{}" && s != "" {
			fmt.Fprintf(w, "        scope   %s\n", s)
		}
		if len(act.Params) > 0 {
			p, _ := json.Marshal(act.Params)
			fmt.Fprintf(w, "        params  %s\n", p)
		}
		fmt.Fprintf(w, "        window  %s to %s%s\n", act.NotBefore, act.NotAfter, windowLength(act.NotBefore, act.NotAfter))
	}
	fmt.Fprintf(w, "as %s with key %s at %s\n", a.Commissioner, a.KeyID, a.SignedAt.Format(time.RFC3339))
}

// windowLength returns " (LENGTH)" for two RFC 3339 times.
func windowLength(from, to string) string {
	f, err1 := time.Parse(time.RFC3339, from)
	t, err2 := time.Parse(time.RFC3339, to)
	if err1 != nil || err2 != nil {
		return ""
	}
	return " (" + t.Sub(f).String() + ")"
}
