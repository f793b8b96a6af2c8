package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/acd-org/acd/cases"
)

func runCaseCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "case create", "--target T --suspect ADDR... --legal-basis TEXT --action SPEC... [flags] | --file FILE", `
Create a draft case, requested by you (analyst, admin). It rests on
suspects known to detection (--suspect, repeatable: their evidence is
frozen and hashed) and asks for one or more actions (--action,
repeatable), each with a window: from --from (default now) for --for
(default 24h), unless the action says otherwise.

An action is TYPE=TARGET, then ;KEY=VALUE settings:
  protocol=tcp|udp|sctp|icmp|N   ports=22,8000-8080   rate_bps=N
  destination=PREFIX   subdomains   recipient=TEXT   param.NAME=VALUE
  from=RFC3339   for=DURATION
Types: block, flowspec, rtbh, sinkhole, abuse-report, reidentify,
police-request (cases/README.md says which settings each takes). For
anything more (reidentify's pseudonyms), give the whole request as JSON
with --file FILE ("-" for stdin), as POST /api/v1/cases takes it.

The case is a draft: 'acd case request ID' puts it before the commission.

Examples:
  acd case create --target 198.51.100.7 --suspect 198.51.100.7 \
      --legal-basis "ACD Act art. 12(1)" --route urgent --urgency critical \
      --action 'block=198.51.100.7;protocol=tcp;ports=22' \
      --action 'abuse-report=198.51.100.7;for=72h'
  acd case create --file case.json --json`)
	cf := addClientFlags(fs)
	target := fs.String("target", "", "the attack server: an address, prefix or domain")
	var suspects, actions stringList
	fs.Var(&suspects, "suspect", "a suspect's `address` the case rests on (repeatable; comma-separated works too)")
	fs.Var(&actions, "action", "an action `SPEC`: TYPE=TARGET[;KEY=VALUE...] (repeatable)")
	legal := fs.String("legal-basis", "", "the legal provision the measures rely on")
	route := fs.String("route", "ordinary", "ordinary, or urgent (an operator with the emergency right may act first)")
	urgency := fs.String("urgency", "normal", "low, normal, high or critical")
	from := fs.String("from", "", "the actions' start, RFC 3339 (default now)")
	dur := fs.Duration("for", 24*time.Hour, "the actions' window length")
	file := fs.String("file", "", "the whole request as JSON from `FILE` (\"-\" for stdin) instead of the flags above")
	asJSON := fs.Bool("json", false, "print the created case as JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("%w: create takes no argument (flags only)", errUsage)
	}
	var body any
	if *file != "" {
		if *target != "" || len(suspects) != 0 || len(actions) != 0 || *legal != "" {
			return fmt.Errorf("%w: --file gives the whole case: no --target, --suspect, --action or --legal-basis with it", errUsage)
		}
		data, err := readInput(e, *file)
		if err != nil {
			return err
		}
		var raw json.RawMessage
		if err := json.Unmarshal(data, &raw); err != nil {
			return fmt.Errorf("--file %s: not JSON: %w", *file, err)
		}
		body = raw
	} else {
		body, err = caseRequest(*target, suspects, actions, *legal, *route, *urgency, *from, *dur, time.Now())
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	c, err := newAPIClient(e, cf, *file != "-")
	if err != nil {
		return err
	}
	var out cases.Case
	if err := c.callJSON(ctx, "POST", "/api/v1/cases", nil, body, &out); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "case %s created (draft, version %d, evidence %s)\n", out.ID, out.Version, out.EvidenceHash)
	fmt.Fprintf(e.stderr, "review it with 'acd case show %s', then 'acd case request %s'\n", out.ID, out.ID)
	return nil
}

// caseRequest builds POST /api/v1/cases's body from create's flags.
func caseRequest(target string, suspects, actions []string, legal, route, urgency, from string, dur time.Duration, now time.Time) (map[string]any, error) {
	switch {
	case target == "":
		return nil, fmt.Errorf("--target is required")
	case len(suspects) == 0:
		return nil, fmt.Errorf("--suspect is required (the suspects the case rests on)")
	case strings.TrimSpace(legal) == "":
		return nil, fmt.Errorf("--legal-basis is required")
	case len(actions) == 0:
		return nil, fmt.Errorf("--action is required (what the case asks for)")
	}
	if _, err := cases.ParseTarget(target); err != nil {
		return nil, fmt.Errorf("--target: %v", err)
	}
	start := now.UTC().Truncate(time.Second)
	if from != "" {
		t, err := time.Parse(time.RFC3339, from)
		if err != nil {
			return nil, fmt.Errorf("--from %q: not an RFC 3339 time (2006-01-02T15:04:05Z)", from)
		}
		start = t.UTC()
	}
	if dur <= 0 {
		return nil, fmt.Errorf("--for %s: a window is longer than zero", dur)
	}
	var addrs []string
	for _, s := range suspects {
		for _, a := range strings.Split(s, ",") {
			if a = strings.TrimSpace(a); a != "" {
				addrs = append(addrs, a)
			}
		}
	}
	as := make([]cases.Action, 0, len(actions))
	for i, spec := range actions {
		a, err := parseActionSpec(spec, start, dur)
		if err != nil {
			return nil, fmt.Errorf("--action #%d %q: %v", i+1, spec, err)
		}
		as = append(as, a)
	}
	return map[string]any{"target": target, "suspects": addrs, "legal_basis": legal, "route": route,
		"urgency": urgency, "actions": as}, nil
}

// protocols are the protocol names an action spec takes.
var protocols = map[string]uint8{"icmp": 1, "tcp": 6, "udp": 17, "sctp": 132, "icmpv6": 58}

// parseActionSpec reads TYPE=TARGET[;KEY=VALUE...] (see case create
// --help) with the window [start, start+dur) unless it says otherwise.
func parseActionSpec(spec string, start time.Time, dur time.Duration) (cases.Action, error) {
	parts := strings.Split(spec, ";")
	head, tgt, ok := strings.Cut(parts[0], "=")
	if !ok {
		return cases.Action{}, fmt.Errorf("want TYPE=TARGET first")
	}
	t, err := cases.ParseActionType(strings.TrimSpace(head))
	if err != nil {
		return cases.Action{}, err
	}
	a := cases.Action{Type: t}
	if a.Target, err = cases.ParseTarget(tgt); err != nil {
		return cases.Action{}, err
	}
	for _, p := range parts[1:] {
		k, v, hasValue := strings.Cut(strings.TrimSpace(p), "=")
		if err := setActionField(&a, &start, &dur, k, v, hasValue); err != nil {
			return cases.Action{}, fmt.Errorf("%s: %v", k, err)
		}
	}
	if dur <= 0 {
		return cases.Action{}, fmt.Errorf("for: a window is longer than zero")
	}
	a.NotBefore, a.NotAfter = start, start.Add(dur)
	return a, nil
}

// setActionField applies one KEY=VALUE of an action spec.
func setActionField(a *cases.Action, start *time.Time, dur *time.Duration, k, v string, hasValue bool) error {
	if name, ok := strings.CutPrefix(k, "param."); ok {
		if name == "" {
			return fmt.Errorf("empty parameter name")
		}
		if a.Params == nil {
			a.Params = map[string]string{}
		}
		a.Params[name] = v
		return nil
	}
	if k == "subdomains" {
		b := true
		if hasValue {
			var err error
			if b, err = strconv.ParseBool(v); err != nil {
				return fmt.Errorf("%q is not true or false", v)
			}
		}
		a.Scope.Subdomains = b
		return nil
	}
	if !hasValue || v == "" {
		return fmt.Errorf("needs a value (%s=...)", k)
	}
	var err error
	switch k {
	case "protocol":
		p, known := protocols[strings.ToLower(v)]
		if !known {
			n, perr := strconv.ParseUint(v, 10, 8)
			if perr != nil || n == 0 {
				return fmt.Errorf("%q is not tcp, udp, sctp, icmp or a protocol number 1 to 255", v)
			}
			p = uint8(n)
		}
		a.Scope.Protocol = p
	case "ports":
		a.Scope.Ports, err = parsePorts(v)
	case "rate_bps":
		a.Scope.RateBps, err = strconv.ParseUint(v, 10, 64)
		if err != nil {
			err = fmt.Errorf("%q is not a number of bytes per second", v)
		}
	case "destination":
		a.Scope.Destination, err = cases.ParseTarget(v)
	case "recipient":
		a.Scope.Recipient = v
	case "from":
		t, perr := time.Parse(time.RFC3339, v)
		if perr != nil {
			return fmt.Errorf("%q is not an RFC 3339 time", v)
		}
		*start = t.UTC()
	case "for":
		*dur, err = time.ParseDuration(v)
	default:
		return fmt.Errorf("unknown setting (protocol, ports, rate_bps, destination, subdomains, recipient, param.NAME, from, for; use --file for more)")
	}
	return err
}

// parsePorts reads "22,80,8000-8080".
func parsePorts(v string) ([]cases.PortRange, error) {
	var out []cases.PortRange
	for _, r := range strings.Split(v, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(r), "-")
		if !isRange {
			hi = lo
		}
		from, err1 := strconv.ParseUint(lo, 10, 16)
		to, err2 := strconv.ParseUint(hi, 10, 16)
		if err1 != nil || err2 != nil || from == 0 || to < from {
			return nil, fmt.Errorf("%q is not a port or a range of ports (1-65535, low-high)", r)
		}
		out = append(out, cases.PortRange{From: uint16(from), To: uint16(to)})
	}
	return out, nil
}

// compactJSON returns data without insignificant space (for display).
func compactJSON(data []byte) string {
	var b bytes.Buffer
	if err := json.Compact(&b, data); err != nil {
		return string(data)
	}
	return b.String()
}
