package main

import (
	"context"
	"fmt"

	"github.com/acd-org/acd/minimize"
)

func runKeygen(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "keygen", "FILE", `
Create the screening master key in FILE (mode 0600). acd serve refuses to
run without one (set screen.key.file, or ACD_SCREEN_KEY_FILE): it never
runs unscreened. Every key epoch's pseudonymization key derives from it.

Keep the file secret and backed up: without it, no pseudonym made with it
can ever be re-identified. keygen never overwrites an existing file.

Example:
  acd keygen /etc/acd/screen.key`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: expected one FILE", errUsage)
	}
	if err := minimize.GenerateKeyFile(fs.Arg(0)); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "screening key written to %s\n", fs.Arg(0))
	return nil
}
