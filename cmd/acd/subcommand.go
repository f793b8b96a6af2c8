package main

import (
	"context"
	"fmt"
	"strings"
)

// subcommand is one verb of a command (token create, bouncer add, …).
type subcommand struct {
	name string
	run  func(ctx context.Context, e *env, args []string) error
}

// runSubcommands parses the command's own flags (--help), then runs the
// subcommand args name, with the arguments after it; a missing or
// unknown one is a usage error naming the choices.
func runSubcommands(ctx context.Context, e *env, command, help string, args []string, subs []subcommand) error {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	fs := newFlagSet(e, command, strings.Join(names, "|")+" [flags] [NAME]", help)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: expected %s or %s", errUsage, strings.Join(names[:len(names)-1], ", "), names[len(names)-1])
	}
	sub, rest := fs.Arg(0), fs.Args()[1:]
	for _, s := range subs {
		if s.name == sub {
			return s.run(ctx, e, rest)
		}
	}
	return fmt.Errorf("%w: unknown subcommand %q (%s)", errUsage, sub, strings.Join(names, ", "))
}
