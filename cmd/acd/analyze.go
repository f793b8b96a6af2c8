package main

import (
	"context"
	"errors"
)

// runAnalyze is being written by the pcap work (collect/pcap).
func runAnalyze(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "analyze", "[flags] FILE...", "Meter flows from pcap/pcapng files.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return errors.New("not implemented yet")
}
