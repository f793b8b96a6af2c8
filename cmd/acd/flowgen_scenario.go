package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/acd-org/acd/conf"
	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/flowgen"
	"github.com/acd-org/acd/flowgen/scenario"
)

// lookupScenario finds a scenario by name ("demo", a default-suite
// scenario) or reads it from a YAML file.
func lookupScenario(name string) (scenario.Config, error) {
	if name == "demo" {
		return scenario.Demo(), nil
	}
	suite := scenario.DefaultSuite()
	if i := slices.IndexFunc(suite, func(c scenario.Config) bool { return c.Name == name }); i >= 0 {
		return suite[i], nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		var names []string
		for _, c := range suite {
			names = append(names, c.Name)
		}
		return scenario.Config{}, fmt.Errorf("%w: --scenario %q is neither a file nor a scenario (demo, %s)", errUsage, name, strings.Join(names, ", "))
	}
	var c scenario.Config
	if err := conf.Load(data, &c); err != nil {
		return c, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// flowgenScenario streams a scenario live: it starts now, and each record
// is sent when it happens (its start time), so event time is wall time
// and the collector sees what an exporter watching that network would
// send. Stops at the scenario's end, after --count records or --duration,
// or on Ctrl-C.
func flowgenScenario(ctx context.Context, stderr io.Writer, o *flowgenOpts, enc flowgen.Encoder, dst netip.AddrPort) (flowgen.Stats, error) {
	cfg, err := lookupScenario(o.scenario)
	if err != nil {
		return flowgen.Stats{}, err
	}
	cfg.Start = time.Now().UTC().Truncate(time.Millisecond)
	if o.duration > 0 && o.duration < cfg.Duration {
		cfg.Duration = o.duration
	}
	gen, err := scenario.New(cfg)
	if err != nil {
		return flowgen.Stats{}, fmt.Errorf("%w: %v", errUsage, err)
	}
	w, err := flowgen.DialUDP(dst.String(), 0)
	if err != nil {
		return flowgen.Stats{}, err
	}
	defer w.Close()
	keep, stop, err := o.obeyFilter(ctx, stderr)
	if err != nil {
		return flowgen.Stats{}, err
	}
	defer stop()
	if !o.quiet {
		fmt.Fprintf(stderr, "flowgen: streaming scenario %q live to %s for %v (%d attacks, ground truth: %d labelled addresses)\n",
			cfg.Name, dst, cfg.Duration, len(cfg.Attacks), len(gen.Labels()))
	}
	return streamLive(ctx, gen, enc, w, keep, o.count)
}

// streamLive sends gen's records, each when it happens, through enc to
// w, until the scenario ends, after count records (0: no limit) or when
// ctx ends. keep (nil: all) sees each batch of due records before it is
// sent and returns those to send (it may filter in place).
func streamLive(ctx context.Context, gen *scenario.Generator, enc flowgen.Encoder, w *flowgen.UDPWriter,
	keep func([]flow.Record, time.Time) []flow.Record, count uint64) (flowgen.Stats, error) {
	var st flowgen.Stats
	start := time.Now()
	recs := make([]flow.Record, 256)
	var pkts [][]byte
	var buf []byte
	for {
		n := gen.Next(recs, time.Time{})
		if n == 0 {
			break
		}
		// Send each record when it has happened: the records due now,
		// then wait for the next one (a slow source — a beacon every few
		// seconds — must not wait for a whole batch to fill up).
		for rest := recs[:n]; len(rest) > 0; {
			due := 0
			now := time.Now()
			for due < len(rest) && !time.UnixMilli(rest[due].Start).After(now) {
				due++
			}
			if due == 0 {
				select {
				case <-ctx.Done():
					st.Elapsed = time.Since(start)
					return st, ctx.Err()
				case <-time.After(time.Until(time.UnixMilli(rest[0].Start))):
				}
				continue
			}
			send := rest[:due]
			if keep != nil {
				send = keep(send, now)
			}
			if len(send) > 0 {
				if err := sendDue(enc, w, send, now, &st, &pkts, &buf); err != nil {
					return st, err
				}
			}
			rest = rest[due:]
		}
		if count > 0 && st.Records >= count {
			break
		}
	}
	st.Elapsed = time.Since(start)
	if ctx.Err() != nil {
		return st, ctx.Err()
	}
	return st, nil
}

// sendDue encodes recs, exported at now, and sends them (templates first
// when due), counting into st; pkts and buf are reused between calls.
func sendDue(enc flowgen.Encoder, w *flowgen.UDPWriter, recs []flow.Record, now time.Time, st *flowgen.Stats, pkts *[][]byte, buf *[]byte) error {
	*pkts, *buf = (*pkts)[:0], (*buf)[:0]
	if enc.TemplatesDue(now) {
		*buf = enc.AppendTemplates(*buf, now)
		*pkts = append(*pkts, *buf)
		st.Templates++
	}
	for rest := recs; len(rest) > 0; {
		mark := len(*buf)
		var used, written int
		*buf, used, written = enc.Append(*buf, rest, now)
		rest = rest[used:]
		*pkts = append(*pkts, (*buf)[mark:])
		st.Records += uint64(written)
	}
	// pkts alias buf: rebuild the views now that buf stopped growing.
	*pkts = splitViews(*pkts, *buf)
	dropped, err := w.WriteBatch(*pkts, now)
	if err != nil {
		return err
	}
	st.Packets += uint64(len(*pkts))
	st.Dropped += uint64(dropped)
	for _, p := range *pkts {
		st.Bytes += uint64(len(p))
	}
	return nil
}

// splitViews re-slices each packet view onto the final buffer (append may
// have moved it while the views were taken).
func splitViews(pkts [][]byte, buf []byte) [][]byte {
	off := 0
	for i, p := range pkts {
		pkts[i] = buf[off : off+len(p)]
		off += len(p)
	}
	return pkts
}
