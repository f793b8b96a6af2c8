package main

import (
	"context"
	"flag"
	"fmt"

	"go.yaml.in/yaml/v3"
)

func runCheck(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "check", "[-c FILE | FILE]", `
Validate a configuration file: YAML syntax, unknown keys (all of them are
listed with their line), value ranges, and the ACD_* environment overrides
currently set. Exits 0 and prints "ok" when the configuration is valid.
Without a file, checks the embedded defaults plus the environment.

Example:
  acd check /etc/acd/acd.yaml`)
	lc, err := configFromFlags(e, fs, args)
	if err != nil {
		return err
	}
	for _, o := range lc.overrides {
		fmt.Fprintf(e.stdout, "override: %s from %s\n", o.Path, o.Env)
	}
	for _, v := range lc.ignored {
		fmt.Fprintf(e.stdout, "warning: %s names no configuration key (ignored)\n", v)
	}
	if lc.Screen.Key.File == "" {
		fmt.Fprintln(e.stdout, "warning: screen.key.file is not set: acd serve will refuse to start (create one with 'acd keygen FILE')")
	}
	fmt.Fprintln(e.stdout, "ok")
	return nil
}

// configFromFlags adds the -c flag to fs, parses args, and loads the
// configuration named by -c or the one argument (defaults when none).
func configFromFlags(e *env, fs *flag.FlagSet, args []string) (*loadedConfig, error) {
	path := fs.String("c", "", "configuration `file` (or give it as the argument; default: embedded defaults)")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	p, err := configArg(*path, fs.Args())
	if err != nil {
		return nil, err
	}
	return loadConfig(p, e.environ())
}

// configArg picks the configuration path from -c or one argument.
func configArg(flagPath string, rest []string) (string, error) {
	switch {
	case len(rest) > 1:
		return "", fmt.Errorf("%w: one configuration file at most, got %d", errUsage, len(rest))
	case len(rest) == 1 && flagPath != "":
		return "", fmt.Errorf("%w: give the file with -c or as argument, not both", errUsage)
	case len(rest) == 1:
		return rest[0], nil
	}
	return flagPath, nil
}

func runConfig(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "config", "dump [-c FILE]", `
Configuration tools.

  acd config dump            print the embedded defaults as YAML
  acd config dump -c FILE    print FILE merged over the defaults, with the
                             ACD_* environment overrides applied

The output is a complete, valid configuration file: a good start for your
own.`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 || fs.Arg(0) != "dump" {
		return fmt.Errorf("%w: expected 'dump'", errUsage)
	}
	dfs := newFlagSet(e, "config dump", "[-c FILE]", "Print the effective configuration as YAML.")
	lc, err := configFromFlags(e, dfs, fs.Args()[1:])
	if err != nil {
		return err
	}
	enc := yaml.NewEncoder(e.stdout)
	enc.SetIndent(2)
	if err := enc.Encode(lc.config); err != nil {
		return fmt.Errorf("unable to encode configuration: %w", err)
	}
	return enc.Close()
}
