package main

import (
	"context"
	"errors"
)

// runFlowgen is being written by the flowgen work.
func runFlowgen(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "flowgen", "[flags]", "Send generated flows.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return errors.New("not implemented yet")
}
