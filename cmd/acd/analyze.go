package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/acd-org/acd/collect/pcap"
	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/minimize"
)

const analyzeDescription = `
Meter flows from pcap and pcapng capture files, the way a NetFlow exporter
such as softflowd would, and run them through the pipeline: screening, then
detection (scans, brute force, DDoS, reflection, C2 beaconing). The output
is the suspects found, with their evidence, and a summary of what was read;
or the flows themselves.

Flows are unidirectional and keyed on the 5-tuple (source and destination
address and port, IP protocol; VLAN ids are not part of the key). A flow
ends when it has been idle for longer than --idle-timeout, when it has
lasted longer than --active-timeout (the next packet starts a new flow),
after a TCP packet with FIN or RST, when the flow table is full (the least
recently seen flow is evicted) and at the end of each file. Time is the
packets' capture time, so a file gives the same flows on every run. Bytes
are layer-3 bytes (the IP length), as NetFlow exporters count them.

Files are read in the order given. Flows are not merged across files: each
file starts with an empty flow table and all its flows are exported at its
end. Classic pcap (micro- or nanosecond timestamps), pcapng (any number of
interfaces and link types) and gzip-compressed captures are read; link
types Ethernet, raw IP, Linux cooked (SLL, SLL2) and BSD loopback.

Output (stdout):
  default         a summary: files, packets, flows, bytes, top protocols,
                  packets that could not be metered by reason; then the
                  suspects, highest score first, with the reason of each
                  role (--evidence: every piece of evidence)
  --flows         one line per flow, then the summary and suspects
  --json          one JSON document {"suspects":[{"address","roles",
                  "score","first_seen","last_seen","evidence"}...],
                  "summary":{...}}
  --flows --json  one JSON object per flow and line, with fields start and
                  end (RFC 3339, UTC, milliseconds), src, dst, sport, dport,
                  proto (number), packets, bytes, tcp_flags (number), then
                  the summary object on the last line; also class
                  (transit, inbound, outbound) and, when an endpoint is a
                  pseudonym, pseudo ("src" or "dst") and key_epoch;
                  the last line is the document of --json

Screening: every flow goes through the screening stage before it is
counted or printed (see 'acd config dump', section screen): flows between
two domestic addresses are dropped (only counted), the domestic endpoint of
the others is replaced by its pseudonym, fields outside screen.fields are
zeroed. -c FILE gives the domestic space and the key; without a key file,
pseudonyms are made with a random key that dies with the run.

Detection runs in event time (the packets' capture times), so a capture
gives the same suspects as the live feed it was recorded from. The
detectors' settings are the detect: section of -c FILE. Suspects inside
the domestic space are shown as their pseudonyms. --no-detect skips it.

A progress bar (bytes read, rate, time left) is drawn on stderr when stderr
is a terminal, unless --no-progress. Ctrl-C stops reading; the flows metered
so far are exported and the summary is printed.

Exit status: 0 when every file was read to its end; 1 when a file is
missing, not a capture, corrupt or truncated (the error names the file and
the offset; the flows read before it still count), or on Ctrl-C; 2 on bad
usage.

Examples:
  acd analyze capture.pcapng
  acd analyze --flows --json --idle-timeout 30s day1.pcap day2.pcap.gz > flows.jsonl
`

// analyzeOptions are the parsed flags of acd analyze.
type analyzeOptions struct {
	flows, json, noProgress bool
	noDetect, evidence      bool
	config                  string
	meter                   pcap.Config
	files                   []string
}

func parseAnalyze(e *env, args []string) (*analyzeOptions, error) {
	o := &analyzeOptions{meter: pcap.DefaultConfig()}
	fs := newFlagSet(e, "analyze", "[flags] FILE...", analyzeDescription)
	fs.BoolVar(&o.flows, "flows", false, "print every flow")
	fs.BoolVar(&o.json, "json", false, "print JSON (one object per line) instead of text")
	fs.BoolVar(&o.noProgress, "no-progress", false, "never draw the progress bar")
	fs.BoolVar(&o.noDetect, "no-detect", false, "skip detection (only meter, screen and count)")
	fs.BoolVar(&o.evidence, "evidence", false, "text output: print every piece of evidence of each suspect")
	fs.StringVar(&o.config, "c", "", "configuration `file` for the screening stage (screen: section); default: embedded defaults")
	fs.DurationVar(&o.meter.ActiveTimeout, "active-timeout", o.meter.ActiveTimeout, "export and restart flows that last longer than this")
	fs.DurationVar(&o.meter.IdleTimeout, "idle-timeout", o.meter.IdleTimeout, "end flows idle for longer than this")
	fs.IntVar(&o.meter.MaxFlows, "max-flows", o.meter.MaxFlows, "most flows tracked at once (about 200 bytes each); beyond, the least recently seen is evicted")
	// Flags may follow file names: parse again after each name.
	for len(args) > 0 {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			o.files = append(o.files, rest...)
			break
		}
		o.files = append(o.files, rest[0])
		args = rest[1:]
	}
	if len(o.files) == 0 {
		return nil, fmt.Errorf("%w: no capture file given", errUsage)
	}
	if err := o.meter.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return o, nil
}

func runAnalyze(ctx context.Context, e *env, args []string) error {
	o, err := parseAnalyze(e, args)
	if err != nil {
		return err
	}
	sizes, err := statCaptures(o.files)
	if err != nil {
		return err
	}
	lc, err := loadConfig(o.config, e.environ())
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(e.stdout, 64<<10)
	tally := &protoTally{}
	if o.flows {
		tally.next = &flowPrinter{w: out, json: o.json}
	}
	// The pipeline: meter → screening → (detection, later) → tally and
	// printer. Nothing after the screening stage sees unscreened records.
	det, err := newAnalyzeDetection(lc, tally, o.noDetect)
	if err != nil {
		return err
	}
	screen, err := minimize.New(lc.Screen, minimize.Deps{
		Logger: newLogger(lc.Log, e.stderr), Next: det.sink(),
		// Without a key file the pseudonyms of this run are made with a
		// random key that dies with the process.
		EphemeralKey: true,
	})
	if err != nil {
		return err
	}
	if err := screen.Start(ctx); err != nil {
		return err
	}
	defer screen.Stop()
	meter, err := pcap.NewMeter(o.meter, flow.NewBatchPool(0), screen)
	if err != nil {
		return err
	}
	var total int64
	for _, s := range sizes {
		total += s
	}
	bar := newProgressBar(e.stderr, total, !o.noProgress && isTerminal(e.stderr) && (!o.flows || !isTerminal(e.stdout)))
	var done int64
	var fileErrs []error
	interrupted := false
	for i, f := range o.files {
		err := meter.ReadFile(ctx, f, func(n int64) { bar.update(done + n) })
		done += sizes[i]
		if ctx.Err() != nil {
			interrupted = true
			break
		}
		if err != nil {
			fileErrs = append(fileErrs, err)
		}
	}
	bar.finish()
	sum := newAnalyzeSummary(meter.Stats(), tally, fileErrs, interrupted)
	sum.Screen = newScreenSummary(screen.Stats())
	suspects := det.finish(sum)
	if o.json {
		err = sum.writeJSON(out, suspects)
	} else {
		sum.writeText(out)
		writeSuspectsText(out, suspects, det.enabled(), o.evidence)
	}
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("unable to write output: %w", err)
	}
	if interrupted {
		fileErrs = append(fileErrs, fmt.Errorf("interrupted: the summary covers what was read before"))
	}
	return errors.Join(fileErrs...)
}

// statCaptures checks that every file can be opened and is a regular
// file, and returns their sizes; the error names every bad file.
func statCaptures(files []string) ([]int64, error) {
	sizes := make([]int64, len(files))
	var errs []error
	for i, name := range files {
		f, err := os.Open(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("unable to open capture: %w", err))
			continue
		}
		st, err := f.Stat()
		f.Close()
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("unable to open capture: %w", err))
		case st.IsDir():
			errs = append(errs, fmt.Errorf("unable to open capture %s: is a directory", name))
		case st.Mode().IsRegular():
			sizes[i] = st.Size()
		}
	}
	return sizes, errors.Join(errs...)
}

// protoStats is what the summary counts per IP protocol.
type protoStats struct {
	Proto   uint8  `json:"proto"`
	Name    string `json:"name"`
	Flows   uint64 `json:"flows"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// protoTally is a flow.Sink that counts flows, packets and bytes per
// protocol and passes the batch on to next (or releases it).
type protoTally struct {
	mu    sync.Mutex
	proto [256]protoStats // guarded by mu
	next  flow.Sink
}

func (t *protoTally) Consume(b *flow.Batch) {
	t.mu.Lock()
	for i := range b.Records {
		r := &b.Records[i]
		p := &t.proto[r.Proto]
		p.Flows++
		p.Packets += r.Packets
		p.Bytes += r.Bytes
	}
	t.mu.Unlock()
	if t.next != nil {
		t.next.Consume(b)
		return
	}
	b.Release()
}

// top returns the protocols seen, most bytes first.
func (t *protoTally) top() []protoStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ps []protoStats
	for i, p := range t.proto {
		if p.Flows > 0 {
			p.Proto, p.Name = uint8(i), protoName(uint8(i))
			ps = append(ps, p)
		}
	}
	slices.SortStableFunc(ps, func(a, b protoStats) int { return cmp.Compare(b.Bytes, a.Bytes) })
	return ps
}

func protoName(p uint8) string {
	switch p {
	case 1:
		return "icmp"
	case 2:
		return "igmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 41:
		return "ipv6"
	case 47:
		return "gre"
	case 50:
		return "esp"
	case 51:
		return "ah"
	case 58:
		return "icmpv6"
	case 89:
		return "ospf"
	case 103:
		return "pim"
	case 112:
		return "vrrp"
	case 132:
		return "sctp"
	}
	return strconv.Itoa(int(p))
}

// flowPrinter is a flow.Sink that writes each record as a text or JSON
// line, then releases the batch.
type flowPrinter struct {
	mu     sync.Mutex
	w      *bufio.Writer // guarded by mu
	json   bool
	buf    []byte // guarded by mu
	header bool   // text header written; guarded by mu
}

func (p *flowPrinter) Consume(b *flow.Batch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range b.Records {
		if p.json {
			p.buf = appendFlowJSON(p.buf[:0], &b.Records[i])
		} else {
			if !p.header {
				p.w.WriteString("start                    end                      proto  src                      dst                          packets       bytes  flags\n")
				p.header = true
			}
			p.buf = appendFlowText(p.buf[:0], &b.Records[i])
		}
		p.w.Write(p.buf)
	}
	b.Release()
}

// timeLayout is RFC 3339 with milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// appendFlowJSON appends r as a JSON object and a newline.
func appendFlowJSON(b []byte, r *flow.Record) []byte {
	b = append(b, `{"start":"`...)
	b = r.StartTime().AppendFormat(b, timeLayout)
	b = append(b, `","end":"`...)
	b = r.EndTime().AppendFormat(b, timeLayout)
	b = append(b, `","src":"`...)
	b = r.SrcAddr.Netip().AppendTo(b)
	b = append(b, `","dst":"`...)
	b = r.DstAddr.Netip().AppendTo(b)
	b = append(b, `","sport":`...)
	b = strconv.AppendUint(b, uint64(r.SrcPort), 10)
	b = append(b, `,"dport":`...)
	b = strconv.AppendUint(b, uint64(r.DstPort), 10)
	b = append(b, `,"proto":`...)
	b = strconv.AppendUint(b, uint64(r.Proto), 10)
	b = append(b, `,"packets":`...)
	b = strconv.AppendUint(b, r.Packets, 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendUint(b, r.Bytes, 10)
	b = append(b, `,"tcp_flags":`...)
	b = strconv.AppendUint(b, uint64(r.TCPFlags), 10)
	b = append(b, `,"class":"`...)
	b = append(b, r.Class.String()...)
	b = append(b, '"')
	if r.Pseudo != 0 {
		b = append(b, `,"pseudo":"`...)
		b = append(b, pseudoName(r.Pseudo)...)
		b = append(b, `","key_epoch":`...)
		b = strconv.AppendUint(b, uint64(r.KeyEpoch), 10)
	}
	return append(b, "}\n"...)
}

// pseudoName says which endpoint is a pseudonym.
func pseudoName(p flow.Pseudo) string {
	switch p {
	case flow.PseudoSrc:
		return "src"
	case flow.PseudoDst:
		return "dst"
	case flow.PseudoSrc | flow.PseudoDst:
		return "src,dst"
	}
	return ""
}

// appendFlowText appends r as an aligned text line.
func appendFlowText(b []byte, r *flow.Record) []byte {
	pad := func(b []byte, from, width int) []byte {
		for len(b)-from < width {
			b = append(b, ' ')
		}
		return append(b, ' ')
	}
	from := len(b)
	b = r.StartTime().AppendFormat(b, timeLayout)
	b = pad(b, from, 24)
	from = len(b)
	b = r.EndTime().AppendFormat(b, timeLayout)
	b = pad(b, from, 24)
	from = len(b)
	b = append(b, protoName(r.Proto)...)
	b = pad(b, from, 6)
	for _, ep := range []struct {
		a    flow.Addr
		port uint16
	}{{r.SrcAddr, r.SrcPort}, {r.DstAddr, r.DstPort}} {
		from = len(b)
		if ep.a.Is4() {
			b = ep.a.Netip().AppendTo(b)
		} else {
			b = append(b, '[')
			b = ep.a.Netip().AppendTo(b)
			b = append(b, ']')
		}
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(ep.port), 10)
		b = pad(b, from, 24)
	}
	for _, v := range []uint64{r.Packets, r.Bytes} {
		s := strconv.FormatUint(v, 10)
		b = append(b, strings.Repeat(" ", max(0, 11-len(s)))...)
		b = append(b, s...)
		b = append(b, ' ')
	}
	if r.Proto == 6 {
		b = append(b, ' ')
		b = append(b, tcpFlagString(r.TCPFlags)...)
	}
	return append(b, '\n')
}

// tcpFlagString returns flags as nfdump does: CEUAPRSF, '.' where unset.
func tcpFlagString(f uint8) string {
	const names = "CEUAPRSF"
	var s [8]byte
	for i := range s {
		s[i] = '.'
		if f&(0x80>>i) != 0 {
			s[i] = names[i]
		}
	}
	return string(s[:])
}

// analyzeSummary is the summary printed at the end; its JSON form is the
// {"summary":{...}} object.
type analyzeSummary struct {
	Files       uint64            `json:"files"`
	FilesFailed uint64            `json:"files_failed"`
	FileBytes   uint64            `json:"file_bytes"`
	Packets     uint64            `json:"packets"`
	Metered     uint64            `json:"metered"`
	Flows       uint64            `json:"flows"`
	Bytes       uint64            `json:"bytes"`
	Errors      map[string]uint64 `json:"errors"`
	Fragments   uint64            `json:"fragments"`
	Truncated   uint64            `json:"truncated"`
	Exports     map[string]uint64 `json:"exports"`
	Protocols   []protoStats      `json:"protocols"`
	FileErrors  []string          `json:"file_errors"`
	Interrupted bool              `json:"interrupted"`
	Screen      screenSummary     `json:"screen"`
	Detect      *detectSummary    `json:"detect,omitempty"`
}

// screenSummary counts the screening stage's records by class.
type screenSummary map[string]screenCounts

type screenCounts struct {
	In      uint64 `json:"in"`
	Kept    uint64 `json:"kept"`
	Dropped uint64 `json:"dropped"`
}

func newScreenSummary(st minimize.Stats) screenSummary {
	s := screenSummary{}
	for c := flow.ClassTransit; c <= flow.ClassDomestic; c++ {
		s[c.String()] = screenCounts{In: st.In[c], Kept: st.Kept[c], Dropped: st.Dropped[c]}
	}
	return s
}

func newAnalyzeSummary(st pcap.Stats, t *protoTally, fileErrs []error, interrupted bool) *analyzeSummary {
	s := &analyzeSummary{
		Files: st.Files, FilesFailed: st.FileErrors, FileBytes: st.FileBytes, Packets: st.Packets,
		Metered: st.Metered, Flows: st.Flows, Bytes: st.Bytes, Errors: st.Errors, Fragments: st.Fragments,
		Truncated: st.Truncated, Exports: map[string]uint64{}, Protocols: t.top(),
		FileErrors: []string{}, Interrupted: interrupted,
	}
	for r := range pcap.NumExportReasons {
		s.Exports[pcap.ExportReason(r).String()] = st.Exports[r]
	}
	if s.Protocols == nil {
		s.Protocols = []protoStats{}
	}
	for _, err := range fileErrs {
		s.FileErrors = append(s.FileErrors, err.Error())
	}
	return s
}

func (s *analyzeSummary) writeJSON(w io.Writer, suspects []detect.Suspect) error {
	if suspects == nil {
		suspects = []detect.Suspect{}
	}
	b, err := json.Marshal(struct {
		Suspects []detect.Suspect `json:"suspects"`
		Summary  *analyzeSummary  `json:"summary"`
	}{suspects, s})
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func (s *analyzeSummary) writeText(w io.Writer) {
	fmt.Fprintf(w, "files      %d read", s.Files)
	if s.FilesFailed > 0 {
		fmt.Fprintf(w, ", %d with errors", s.FilesFailed)
	}
	fmt.Fprintf(w, " (%s)\n", humanBytes(float64(s.FileBytes)))
	fmt.Fprintf(w, "packets    %d read, %d metered into flows, %d not metered\n", s.Packets, s.Metered, s.Packets-s.Metered)
	fmt.Fprintf(w, "flows      %d (idle %d, active timeout %d, tcp fin/rst %d, evicted %d, end of file %d)\n",
		s.Flows, s.Exports["idle"], s.Exports["active"], s.Exports["tcp_end"], s.Exports["evicted"], s.Exports["end"])
	fmt.Fprintf(w, "bytes      %d (layer 3, %s)\n", s.Bytes, humanBytes(float64(s.Bytes)))
	for i, p := range s.Protocols {
		if i == 5 {
			fmt.Fprintf(w, "           ... %d more\n", len(s.Protocols)-5)
			break
		}
		label := "protocols"
		if i > 0 {
			label = ""
		}
		fmt.Fprintf(w, "%-10s %-7s %10d flows %12d packets %15d bytes (%.1f%%)\n", label, p.Name, p.Flows, p.Packets, p.Bytes,
			100*float64(p.Bytes)/max(float64(s.Bytes), 1))
	}
	fmt.Fprintf(w, "screened  ")
	for c := flow.ClassTransit; c <= flow.ClassDomestic; c++ {
		sc := s.Screen[c.String()]
		fmt.Fprintf(w, " %s %d (kept %d, dropped %d)", c, sc.In, sc.Kept, sc.Dropped)
	}
	fmt.Fprintln(w)
	if s.Fragments > 0 || s.Truncated > 0 {
		fmt.Fprintf(w, "notes      %d non-first fragments (ports 0), %d packets cut by the snap length\n", s.Fragments, s.Truncated)
	}
	reasons := slices.Sorted(maps.Keys(s.Errors))
	for i, r := range reasons {
		label := "errors"
		if i > 0 {
			label = ""
		}
		fmt.Fprintf(w, "%-10s %s %d\n", label, r, s.Errors[r])
	}
	if s.Interrupted {
		fmt.Fprintln(w, "interrupted: the totals cover what was read before")
	}
}

// humanBytes formats n bytes with a binary unit.
func humanBytes(n float64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return fmt.Sprintf("%.0f B", n)
	}
	i := -1
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %ciB", n, units[i])
}

// progressBar draws bytes read out of total on a terminal, at most every
// progressEvery. A disabled bar does nothing.
type progressBar struct {
	w       io.Writer
	total   int64
	enabled bool
	start   time.Time
	last    time.Time
	drawn   bool
}

const progressEvery = 150 * time.Millisecond

func newProgressBar(w io.Writer, total int64, enabled bool) *progressBar {
	now := time.Now()
	return &progressBar{w: w, total: total, enabled: enabled, start: now, last: now}
}

func (p *progressBar) update(done int64) {
	if !p.enabled {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < progressEvery {
		return
	}
	p.last = now
	width := 80
	if f, ok := p.w.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			width = w
		}
	}
	fmt.Fprint(p.w, "\r"+renderProgress(done, p.total, now.Sub(p.start), width)+"\x1b[K")
	p.drawn = true
}

// finish erases the bar.
func (p *progressBar) finish() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// renderProgress returns the bar's text for done of total bytes after
// elapsed, fitted to width columns.
func renderProgress(done, total int64, elapsed time.Duration, width int) string {
	done = min(max(done, 0), max(total, 0))
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	rate := float64(done) / max(elapsed.Seconds(), 1e-3)
	eta := "--:--"
	if rate > 0 && done > 0 {
		left := time.Duration(float64(total-done) / rate * float64(time.Second))
		eta = fmt.Sprintf("%d:%02d", int(left.Minutes()), int(left.Seconds())%60)
	}
	info := fmt.Sprintf(" %3.0f%% %s / %s  %s/s  ETA %s", frac*100, humanBytes(float64(done)), humanBytes(float64(total)),
		humanBytes(rate), eta)
	barWidth := min(40, width-len(info)-3)
	if barWidth < 5 {
		info = strings.TrimSpace(info)
		return strings.TrimSpace(info[:min(len(info), max(width-1, 0))])
	}
	fill := int(frac * float64(barWidth))
	return "[" + strings.Repeat("=", fill) + strings.Repeat(" ", barWidth-fill) + "]" + info
}
