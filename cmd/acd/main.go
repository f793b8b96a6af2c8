// Command acd is the active cyber defense daemon and its tools: it collects
// flow metadata, and (as later stages land) screens, detects, decides,
// enforces, verifies and shares. Only this package wires the others
// together.
//
// Usage:
//
//	acd <command> [flags] [args]
//
// Run "acd help" for the list of commands and "acd <command> --help" for
// the flags of one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one acd subcommand.
type command struct {
	name    string
	summary string
	// run executes the command with the arguments after its name. It
	// returns errUsage (possibly wrapped) for bad usage.
	run func(ctx context.Context, env *env, args []string) error
}

// env is what a command gets from main: its streams and the process
// environment, so tests can run commands in-process.
type env struct {
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	environ func() []string // os.Environ in production
}

// errUsage marks a usage error: main prints it with a hint and exits 2.
var errUsage = errors.New("usage error")

// flagErrHelp is returned when --help was asked: exit 0.
var errHelp = flag.ErrHelp

func commands() []command {
	return []command{
		{"serve", "run the acd daemon: collectors, pipeline, HTTP (/metrics)", runServe},
		{"analyze", "meter flows from pcap/pcapng files and run them through the pipeline", runAnalyze},
		{"eval", "measure the detectors against ground truth (generated scenarios, labelled captures)", runEval},
		{"flowgen", "send generated NetFlow v5/v9, IPFIX or sFlow to a UDP address, or write a pcap", runFlowgen},
		{"demo", "run acd, an allied partner, demo users and live attack traffic on loopback: the whole loop", runDemo},
		{"check", "validate a configuration file", runCheck},
		{"config", "configuration tools (config dump)", runConfig},
		{"keygen", "create the screening master key (serve needs one)", runKeygen},
		{"token", "manage API tokens (token create|list|revoke)", runToken},
		{"bouncer", "manage CrowdSec bouncer keys (bouncer add|list|revoke)", runBouncer},
		{"partner", "sharing partners over TAXII (partner add|list|remove|sync)", runPartner},
		{"case", "cases through the API: create, request, approve, execute, revoke (case --help)", runCase},
		{"audit", "verify, export and list the audit log; oversight report", runAudit},
		{"report", "reports for oversight bodies (report oversight)", runReport},
		{"user", "manage users and commissioners' signing keys (user add|list|disable|roles|passwd|key)", runUser},
		{"version", "print the version", runVersion},
		{"help", "show help for acd or a command", runHelp},
	}
}

func main() {
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, environ: os.Environ}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, e, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches args to a command and returns the exit code.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return 2
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "-help" {
		usage(e.stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, e, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, errHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(e.stderr, "acd %s: %v\nRun 'acd %s --help' for usage.\n", name, err, name)
			return 2
		default:
			fmt.Fprintf(e.stderr, "acd %s: %v\n", name, err)
			return 1
		}
	}
	fmt.Fprintf(e.stderr, "acd: unknown command %q\n", name)
	if s := suggest(name); s != "" {
		fmt.Fprintf(e.stderr, "Did you mean 'acd %s'?\n", s)
	}
	fmt.Fprintln(e.stderr, "Run 'acd help' for the list of commands.")
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `acd is an active cyber defense platform: it collects flow metadata (NetFlow
v5/v9, IPFIX, sFlow, pcap), screens it, finds attack servers and acts on them
under independent approval.

Usage:
  acd <command> [flags] [args]

Commands:
`)
	cmds := commands()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run 'acd <command> --help' for the flags of a command.
The configuration is YAML; 'acd config dump' prints the defaults.
`)
}

func runHelp(_ context.Context, e *env, args []string) error {
	if len(args) == 0 {
		usage(e.stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] && c.name != "help" {
			return c.run(context.Background(), &env{stdin: e.stdin, stdout: e.stdout, stderr: e.stdout, environ: e.environ}, []string{"--help"})
		}
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

// suggest returns the command name closest to s, if any is close.
func suggest(s string) string {
	for _, c := range commands() {
		if strings.HasPrefix(c.name, s) || strings.HasPrefix(s, c.name) || levenshtein(s, c.name) <= 2 {
			return c.name
		}
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// newFlagSet returns a flag set for a command whose --help prints the
// synopsis, description and flags to the command's stderr (stdout for
// "acd help CMD").
func newFlagSet(e *env, name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet("acd "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: acd %s %s\n\n%s\n", name, synopsis, strings.TrimSpace(description))
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprint(w, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args, turning flag errors into errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}
