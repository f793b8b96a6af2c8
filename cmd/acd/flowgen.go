package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/flowgen"
)

const flowgenHelp = `
Send generated NetFlow v5, NetFlow v9, IPFIX or sFlow v5 export datagrams to
a UDP address, or write them to a pcap file. The records are a seeded,
reproducible mix of TCP, UDP and ICMP flows between --sources and
--destinations addresses. Templates (v9, IPFIX) go out at start and then
every 256 datagrams or second; sFlow adds an interface counter sample every
16 datagrams.

At high rates (--rate 0 or at least 100000) a ring of --ring pre-encoded
datagrams is replayed with fresh sequence numbers and timestamps, so one core
sends millions of records per second; the records then repeat every ring.

Only loopback destinations are allowed unless --allow-remote is given.
Ctrl-C stops cleanly and prints the summary.

Examples:
  acd flowgen --format v9 --rate 100000 --duration 30s
  acd flowgen --format ipfix --to 127.0.0.1:4739 --count 1000000
  acd flowgen --format sflow --sampling 512 --ipv6 0.3 --rate 20000
  acd flowgen --format v5 --count 10000 --pcap v5.pcap
  acd flowgen --format v9 --rate 0 --duration 10s --quiet   # as fast as possible
  acd flowgen --scenario demo --format ipfix --to 127.0.0.1:4739   # attacks with ground truth, live

With --scenario, the records come from a scenario with ground truth
(flowgen/scenario: background traffic plus scans, brute force, floods,
reflection, C2 beacons) that starts now; each record is sent when it
happens, so detection sees a live network. Its domestic space is
198.18.0.0/15 and 2001:db8:100::/48 (declare it in screen.domestic).
--rate, --ring and the mix flags do not apply.

With --obey URL --obey-key KEY, flowgen also acts as a CrowdSec bouncer of
acd's Local API (enforce.crowdsec.listen; the key from 'acd bouncer add'):
it pulls /v1/decisions/stream every second and drops every record whose
source or destination is banned, as a firewall running the bouncer
upstream of the exporter would. An approved and executed block then
stops the attack's flows, and the verify stage sees it.

  acd flowgen --scenario demo --format ipfix --to 127.0.0.1:4739 \
      --obey http://127.0.0.1:8090/ --obey-key "$(cat flowgen.key)"
`

// flowgenOpts are the parsed flags of acd flowgen.
type flowgenOpts struct {
	format                flow.Format
	to, pcap              string
	rate                  float64
	duration              time.Duration
	count                 uint64
	ring                  int
	quiet, allowRemote    bool
	enc                   flowgen.EncoderConfig
	mix                   flowgen.MixConfig
	formatName, mixString string
	scenario              string
	obey, obeyKey         string
}

func runFlowgen(ctx context.Context, e *env, args []string) error {
	o, err := parseFlowgen(e, args)
	if err != nil {
		return err
	}
	enc, err := flowgen.NewEncoder(o.format, o.enc)
	if err != nil {
		return err
	}
	mix, err := flowgen.NewMix(o.mix)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	dst, err := resolveDestination(o.to, o.allowRemote || o.pcap != "")
	if err != nil {
		return err
	}
	cfg := flowgen.SendConfig{Rate: o.rate, Duration: o.duration, Count: o.count, Ring: o.ring}
	if !o.quiet && isTerminal(e.stderr) {
		cfg.Progress = func(s flowgen.Stats) {
			fmt.Fprintf(e.stderr, "\r%12d records %10d datagrams %12.0f records/s   ", s.Records, s.Packets, s.RecordRate())
		}
	}
	var st flowgen.Stats
	var where string
	if o.scenario != "" {
		if o.pcap != "" {
			return fmt.Errorf("%w: --scenario streams live; it does not write --pcap", errUsage)
		}
		st, err = flowgenScenario(ctx, e.stderr, o, enc, dst)
		where = dst.String()
	} else if o.pcap != "" {
		st, err = flowgenPcap(ctx, o, cfg, enc, mix, dst)
		where = o.pcap
	} else {
		st, err = flowgenUDP(ctx, cfg, enc, mix, dst)
		where = dst.String()
	}
	if cfg.Progress != nil {
		fmt.Fprintln(e.stderr)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if !o.quiet {
		printFlowgenSummary(e.stdout, o, st, where)
	}
	return nil
}

func parseFlowgen(e *env, args []string) (*flowgenOpts, error) {
	o := &flowgenOpts{}
	fs := newFlagSet(e, "flowgen", "[flags]", flowgenHelp)
	fs.StringVar(&o.formatName, "format", "v9", "export format: v5, v9, ipfix or sflow")
	fs.StringVar(&o.to, "to", "", "destination `host:port` (default 127.0.0.1:2055; 127.0.0.1:6343 for sflow)")
	fs.StringVar(&o.pcap, "pcap", "", "write the datagrams to this pcap `file` instead of sending them")
	fs.Float64Var(&o.rate, "rate", 0, "records per second (0: as fast as possible)")
	fs.DurationVar(&o.duration, "duration", 0, "stop after this long (0: no limit)")
	fs.Uint64Var(&o.count, "count", 0, "stop after this many records (0: no limit)")
	fs.IntVar(&o.enc.MaxRecords, "records-per-packet", 0, "records per datagram at most (0: as many as fit in 1472 bytes; v5: 30)")
	fs.IntVar(&o.mix.Sources, "sources", 1000, "distinct source addresses per address family")
	fs.IntVar(&o.mix.Destinations, "destinations", 100, "distinct destination addresses per address family")
	fs.IntVar(&o.mix.Ports, "ports", 0, "distinct service ports per protocol (0: common services, weighted)")
	fs.StringVar(&o.mixString, "mix", "tcp=70,udp=25,icmp=5", "protocol weights")
	fs.Float64Var(&o.mix.IPv6, "ipv6", 0, "share of IPv6 records, 0 to 1 (not with v5)")
	sampling := fs.Uint64("sampling", 0, "packet sampling rate 1:N, announced to the collector (0: unsampled; sflow: 1000)")
	fs.Uint64Var(&o.mix.Seed, "seed", 1, "random seed: the same seed gives the same records")
	exporterID := fs.Uint64("exporter-id", 0, "v9 source id, IPFIX observation domain, sFlow sub-agent id, v5 engine id")
	fs.IntVar(&o.ring, "ring", -1, "pre-encoded datagrams to replay (0: encode each datagram from fresh records; -1: 1024 when --rate is 0 or >= 100000, else 0)")
	fs.BoolVar(&o.enc.VarLen, "ipfix-varlen", false, "add a variable-length field (interfaceName) to IPFIX records")
	fs.BoolVar(&o.quiet, "quiet", false, "print neither the live line nor the summary")
	fs.BoolVar(&o.allowRemote, "allow-remote", false, "allow a destination that is not a loopback address")
	fs.StringVar(&o.scenario, "scenario", "", "stream a scenario with ground truth live instead of the mix: demo, a default-suite `name` (scans, ddos, ...) or a YAML file; records are sent when they happen")
	fs.StringVar(&o.obey, "obey", "", "act as a CrowdSec bouncer of acd's Local API at this `URL` (enforce.crowdsec.listen): drop the records of banned addresses (--scenario only)")
	fs.StringVar(&o.obeyKey, "obey-key", "", "the bouncer `key` for --obey ('acd bouncer add'; a file holding it works too)")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if (o.obey != "" || o.obeyKey != "") && o.scenario == "" {
		return nil, fmt.Errorf("%w: --obey filters a live --scenario stream", errUsage)
	}
	if err := o.check(*sampling, *exporterID); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return o, nil
}

// check validates and completes the options.
func (o *flowgenOpts) check(sampling, exporterID uint64) error {
	var err error
	if o.format, err = flowgen.ParseFormat(o.formatName); err != nil {
		return err
	}
	if err := o.mix.ParseProtocols(o.mixString); err != nil {
		return err
	}
	if !(o.rate >= 0) || math.IsInf(o.rate, 0) || o.duration < 0 || o.enc.MaxRecords < 0 || o.mix.Sources <= 0 || o.mix.Destinations <= 0 || o.mix.Ports < 0 {
		return errors.New("--rate, --duration, --records-per-packet, --sources, --destinations and --ports must not be negative (sources and destinations at least 1)")
	}
	if sampling > math.MaxUint32 || exporterID > math.MaxUint32 {
		return errors.New("--sampling and --exporter-id must fit in 32 bits")
	}
	o.enc.Sampling, o.enc.ExporterID = uint32(sampling), uint32(exporterID)
	if o.format == flow.FormatNetFlowV5 {
		switch {
		case o.mix.IPv6 > 0:
			return errors.New("NetFlow v5 carries IPv4 only: --ipv6 must be 0")
		case sampling > 0x3fff:
			return errors.New("NetFlow v5 carries a sampling interval of at most 16383")
		case exporterID > 0xff:
			return errors.New("NetFlow v5 carries an engine id of at most 255")
		}
	}
	if o.to == "" {
		o.to = "127.0.0.1:2055"
		if o.format == flow.FormatSFlow {
			o.to = "127.0.0.1:6343"
		}
	}
	if o.ring < 0 {
		o.ring = 0
		if o.rate == 0 || o.rate >= 100_000 {
			o.ring = 1024
		}
	}
	return nil
}

// resolveDestination resolves host:port; unless allowRemote it must be a
// loopback address (this tool must not send traffic elsewhere by mistake).
func resolveDestination(to string, allowRemote bool) (netip.AddrPort, error) {
	ua, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: unable to resolve --to %q: %v", errUsage, to, err)
	}
	ap := ua.AddrPort()
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if !allowRemote && !ap.Addr().IsLoopback() {
		return ap, fmt.Errorf("%w: refusing to send to %v: not a loopback address (give --allow-remote to override)", errUsage, ap)
	}
	if ap.Port() == 0 {
		return ap, fmt.Errorf("%w: --to %q has no port", errUsage, to)
	}
	return ap, nil
}

func flowgenUDP(ctx context.Context, cfg flowgen.SendConfig, enc flowgen.Encoder, src flowgen.Source, dst netip.AddrPort) (flowgen.Stats, error) {
	w, err := flowgen.DialUDP(dst.String(), 0)
	if err != nil {
		return flowgen.Stats{}, err
	}
	defer w.Close()
	return flowgen.Send(ctx, cfg, enc, src, w)
}

func flowgenPcap(ctx context.Context, o *flowgenOpts, cfg flowgen.SendConfig, enc flowgen.Encoder, src flowgen.Source, dst netip.AddrPort) (flowgen.Stats, error) {
	if o.count == 0 && o.duration == 0 {
		return flowgen.Stats{}, fmt.Errorf("%w: --pcap needs --count or --duration", errUsage)
	}
	f, err := os.Create(o.pcap)
	if err != nil {
		return flowgen.Stats{}, fmt.Errorf("unable to create pcap file: %w", err)
	}
	pw, err := flowgen.NewPcapWriter(f, netip.AddrPort{}, dst)
	if err != nil {
		f.Close()
		return flowgen.Stats{}, err
	}
	cfg.Virtual = true
	st, err := flowgen.Send(ctx, cfg, enc, src, pw)
	if ferr := pw.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("unable to close pcap file: %w", cerr)
	}
	return st, err
}

func printFlowgenSummary(w io.Writer, o *flowgenOpts, st flowgen.Stats, where string) {
	secs := st.Elapsed.Seconds()
	pps := 0.0
	if secs > 0 {
		pps = float64(st.Packets) / secs
	}
	verb := "sent"
	if o.pcap != "" {
		verb = "wrote"
	}
	fmt.Fprintf(w, "%s %d %s records in %d datagrams (%d template), %d bytes, to %s\n",
		verb, st.Records, o.format, st.Packets, st.Templates, st.Bytes, where)
	fmt.Fprintf(w, "%.3fs, %.0f records/s, %.0f datagrams/s, %.1f Mbit/s", secs, st.RecordRate(), pps, float64(st.Bytes)*8/1e6/max(secs, 1e-9))
	if o.pcap != "" {
		fmt.Fprint(w, " (capture time)")
	}
	fmt.Fprintln(w)
	if st.Dropped > 0 {
		fmt.Fprintf(w, "%d datagrams refused by the kernel (is anything listening on %s?)\n", st.Dropped, where)
	}
}
