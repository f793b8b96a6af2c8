package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/acd-org/acd/collect/pcap"
	"github.com/acd-org/acd/conf"
	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/detect/all"
	"github.com/acd-org/acd/detect/eval"
	"github.com/acd-org/acd/flowgen/scenario"
)

const evalDescription = `
Measure the detectors against ground truth. Each scenario of the suite is
generated (background traffic of many clients and servers with periodic
benign jobs, plus injected attacks with known attackers), streamed through
the real screening stage and the detection engine with the configured
detectors, and the suspects are compared with the scenario's labels.
Labelled captures (recorded from real tools: nmap, hping3, a beaconing
client; see testdata/labeled) are metered like acd analyze does and scored
the same way.

For each role (and the detector that finds it) the table gives true
positives, false positives and misses, precision, recall and F1; the time
to detect in event time (from an attacker's first record to its first
finding: median and maximum) and in wall time (from the batch that made
the finding to the finding: maximum); and, per detector, the peak of
tracked keys and the memory per tracked key. The goals of the suite are
recall >= 0.95 and precision >= 0.99 per role.

By default the whole default suite runs (scenarios background, scans,
bruteforce, ddos, beacons: about 12 million records). Scenarios run in
parallel (-j). -c FILE takes the detectors' settings from the detect:
section of a configuration.

Exit status: 0 when the evaluation ran (with --check: and every role met
the goals); 1 on an error, or with --check when a goal was missed; 2 on bad
usage.

Examples:
  acd eval
  acd eval --scenario scans,ddos --misses
  acd eval --captures testdata/labeled --json > eval.json
  acd eval --suite my-scenarios.yaml -c acd.yaml --check
`

type evalOptions struct {
	config, suite   string
	scenarios       []string
	captures        []string
	json, misses    bool
	check, noSuite  bool
	jobs            int
	minRecall, minP float64
}

func parseEval(e *env, args []string) (*evalOptions, error) {
	o := &evalOptions{jobs: min(runtime.NumCPU(), 4), minRecall: 0.95, minP: 0.99}
	fs := newFlagSet(e, "eval", "[flags]", evalDescription)
	fs.StringVar(&o.config, "c", "", "configuration `file` (its detect: section); default: embedded defaults")
	fs.StringVar(&o.suite, "suite", "", "YAML `file` with scenarios: [...] (flowgen/scenario format) instead of the default suite")
	fs.Func("scenario", "run only these scenarios of the suite (comma-separated `names`)", func(s string) error {
		for _, n := range strings.Split(s, ",") {
			if n = strings.TrimSpace(n); n != "" {
				o.scenarios = append(o.scenarios, n)
			}
		}
		return nil
	})
	fs.Func("captures", "also evaluate labelled captures: a `path` to a NAME.yaml description or a directory of them (repeatable)", func(s string) error {
		o.captures = append(o.captures, s)
		return nil
	})
	fs.BoolVar(&o.noSuite, "no-suite", false, "run no scenario (only --captures)")
	fs.BoolVar(&o.json, "json", false, "print one JSON document")
	fs.BoolVar(&o.misses, "misses", false, "list every missed label and false positive")
	fs.BoolVar(&o.check, "check", false, "exit 1 when a role misses the goals (--min-recall, --min-precision)")
	fs.Float64Var(&o.minRecall, "min-recall", o.minRecall, "recall goal per role")
	fs.Float64Var(&o.minP, "min-precision", o.minP, "precision goal per role")
	fs.IntVar(&o.jobs, "j", o.jobs, "scenarios evaluated in parallel")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q (scenarios are chosen with --scenario)", errUsage, fs.Arg(0))
	}
	if o.jobs < 1 {
		return nil, fmt.Errorf("%w: -j must be at least 1", errUsage)
	}
	return o, nil
}

// evalReport is acd eval's JSON document.
type evalReport struct {
	Runs    []*eval.Result       `json:"runs"`
	Roles   []roleScore          `json:"roles"`
	Total   eval.Score           `json:"total"`
	Memory  map[string]memoryUse `json:"memory"`
	Goals   map[string]float64   `json:"goals"`
	Missed  []string             `json:"goals_missed"`
	Records uint64               `json:"records"`
	Wall    time.Duration        `json:"wall_ns"`
}

type roleScore struct {
	Detector string `json:"detector"`
	eval.Score
}

type memoryUse struct {
	PeakKeys    int     `json:"peak_keys"`
	BytesPerKey float64 `json:"bytes_per_key"` // state bytes over keys, summed over the runs (taken before the final flush)
	Evictions   uint64  `json:"evictions"`
	Late        uint64  `json:"late"`
	keys, bytes int64
}

func runEval(ctx context.Context, e *env, args []string) error {
	o, err := parseEval(e, args)
	if err != nil {
		return err
	}
	lc, err := loadConfig(o.config, e.environ())
	if err != nil {
		return err
	}
	suite := scenario.DefaultSuite()
	if o.suite != "" {
		data, err := os.ReadFile(o.suite)
		if err != nil {
			return fmt.Errorf("unable to read suite: %w", err)
		}
		var file struct {
			Scenarios []scenario.Config `yaml:"scenarios"`
		}
		if err := conf.Load(data, &file); err != nil {
			return fmt.Errorf("%s: %w", o.suite, err)
		}
		if len(file.Scenarios) == 0 {
			return fmt.Errorf("%s: scenarios: none listed", o.suite)
		}
		suite = file.Scenarios
	}
	if len(o.scenarios) > 0 {
		var chosen []scenario.Config
		for _, n := range o.scenarios {
			i := slices.IndexFunc(suite, func(c scenario.Config) bool { return c.Name == n })
			if i < 0 {
				var names []string
				for _, c := range suite {
					names = append(names, c.Name)
				}
				return fmt.Errorf("%w: no scenario %q in the suite (scenarios: %s)", errUsage, n, strings.Join(names, ", "))
			}
			chosen = append(chosen, suite[i])
		}
		suite = chosen
	}
	if o.noSuite {
		suite = nil
	}
	var captures []string
	for _, p := range o.captures {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("unable to read captures: %w", err)
		}
		if !st.IsDir() {
			captures = append(captures, p)
			continue
		}
		m, _ := filepath.Glob(filepath.Join(p, "*.yaml"))
		if len(m) == 0 {
			return fmt.Errorf("no capture description (*.yaml) in %s", p)
		}
		captures = append(captures, m...)
	}
	if len(suite)+len(captures) == 0 {
		return fmt.Errorf("%w: nothing to evaluate", errUsage)
	}
	dcfg := lc.Detect
	build := dcfg.Build
	opt := eval.Options{Engine: dcfg.Config}

	type job struct {
		name string
		run  func(opt eval.Options) (*eval.Result, error)
	}
	var jobs []job
	for _, sc := range suite {
		jobs = append(jobs, job{sc.Name, func(opt eval.Options) (*eval.Result, error) { return eval.Run(ctx, sc, build, opt) }})
	}
	for _, path := range captures {
		c, err := eval.LoadCapture(path)
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		jobs = append(jobs, job{name, func(opt eval.Options) (*eval.Result, error) {
			return eval.RunCapture(ctx, name, c, pcap.DefaultConfig(), build, opt)
		}})
	}

	prog := newEvalProgress(e.stderr, len(jobs), isTerminal(e.stderr))
	results := make([]*eval.Result, len(jobs))
	errs := make([]error, len(jobs))
	start := time.Now()
	sem := make(chan struct{}, o.jobs)
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			jo := opt
			jo.Progress = func(done float64) { prog.update(i, done) }
			results[i], errs[i] = j.run(jo)
			prog.done(i)
		}()
	}
	wg.Wait()
	prog.finish()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("%s: %w", jobs[i].name, err)
		}
	}
	rep := summarize(results, o)
	rep.Wall = time.Since(start)
	if o.json {
		if err := printJSON(e.stdout, rep); err != nil {
			return err
		}
	} else {
		printEval(e.stdout, rep, o)
	}
	if o.check && len(rep.Missed) > 0 {
		return fmt.Errorf("goals missed: %s", strings.Join(rep.Missed, "; "))
	}
	return nil
}

func summarize(results []*eval.Result, o *evalOptions) *evalReport {
	rep := &evalReport{Runs: results, Memory: map[string]memoryUse{}, Goals: map[string]float64{"recall": o.minRecall, "precision": o.minP}}
	byRole := map[detect.Role][]eval.Score{}
	for _, r := range results {
		rep.Records += r.Records
		for _, s := range r.Scores {
			byRole[s.Role] = append(byRole[s.Role], s)
		}
		for name, st := range r.Stats {
			m := rep.Memory[name]
			m.PeakKeys = max(m.PeakKeys, st.PeakKeys)
			m.keys += int64(st.Keys)
			m.bytes += st.StateBytes
			if m.keys > 0 {
				m.BytesPerKey = float64(m.bytes) / float64(m.keys)
			}
			m.Evictions += st.Evictions
			m.Late += st.Late
			rep.Memory[name] = m
		}
	}
	var scores []eval.Score
	for _, role := range detect.Roles() {
		ss, ok := byRole[role]
		if !ok {
			continue
		}
		t := eval.Total(ss...)
		t.Role = role
		rep.Roles = append(rep.Roles, roleScore{Detector: all.DetectorOf(role), Score: t})
		scores = append(scores, ss...)
		if t.Recall < o.minRecall {
			rep.Missed = append(rep.Missed, fmt.Sprintf("%s recall %.4f < %.2f", role, t.Recall, o.minRecall))
		}
		if t.Precision < o.minP {
			rep.Missed = append(rep.Missed, fmt.Sprintf("%s precision %.4f < %.2f", role, t.Precision, o.minP))
		}
	}
	rep.Total = eval.Total(scores...)
	return rep
}

func printEval(w io.Writer, rep *evalReport, o *evalOptions) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\trecords\twall\trole\ttp\tfp\tfn\tprecision\trecall\tf1\tttd median\tttd max\t")
	for _, r := range rep.Runs {
		if len(r.Scores) == 0 {
			fmt.Fprintf(tw, "%s\t%d\t%s\t-\t0\t0\t0\t-\t-\t-\t-\t-\t\n", r.Scenario, r.Records, r.Wall.Round(time.Millisecond))
		}
		for i, s := range r.Scores {
			name, recs, wall := "", "", ""
			if i == 0 {
				name, recs, wall = r.Scenario, fmt.Sprint(r.Records), r.Wall.Round(time.Millisecond).String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%.4f\t%.4f\t%.4f\t%s\t%s\t\n", name, recs, wall, s.Role, s.TP, s.FP, s.FN,
				s.Precision, s.Recall, s.F1, dur(s.EventMedian), dur(s.EventMax))
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tattack\tkind\trole\tfound\tttd median\tttd max\t")
	for _, r := range rep.Runs {
		for _, a := range r.Attacks {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d/%d\t%s\t%s\t\n", r.Scenario, a.Attack, a.Kind, a.Role, a.Found, a.Labels, dur(a.EventMedian), dur(a.EventMax))
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "role\tdetector\ttp\tfp\tfn\tprecision\trecall\tf1\tttd median\tttd max\twall max\tgoal\t")
	for _, s := range rep.Roles {
		goal := "met"
		if s.Recall < o.minRecall || s.Precision < o.minP {
			goal = "MISSED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.4f\t%.4f\t%.4f\t%s\t%s\t%s\t%s\t\n", s.Role, s.Detector, s.TP, s.FP, s.FN,
			s.Precision, s.Recall, s.F1, dur(s.EventMedian), dur(s.EventMax), dur(s.WallMax), goal)
	}
	t := rep.Total
	fmt.Fprintf(tw, "all\t\t%d\t%d\t%d\t%.4f\t%.4f\t%.4f\t%s\t%s\t%s\t\t\n", t.TP, t.FP, t.FN, t.Precision, t.Recall, t.F1, dur(t.EventMedian), dur(t.EventMax), dur(t.WallMax))
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "detector\tpeak keys\tbytes/key\tevictions\tlate records\t")
	names := make([]string, 0, len(rep.Memory))
	for n := range rep.Memory {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		m := rep.Memory[n]
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%d\t%d\t\n", n, m.PeakKeys, m.BytesPerKey, m.Evictions, m.Late)
	}
	tw.Flush()
	secs := rep.Wall.Seconds()
	fmt.Fprintf(w, "\n%d records in %s (%.2f M records/s through screening and detection, %d runs in parallel at most)\n",
		rep.Records, rep.Wall.Round(time.Millisecond), float64(rep.Records)/max(secs, 1e-9)/1e6, o.jobs)
	if len(rep.Missed) > 0 {
		fmt.Fprintf(w, "goals missed: %s\n", strings.Join(rep.Missed, "; "))
	} else {
		fmt.Fprintf(w, "every role met the goals (recall >= %.2f, precision >= %.2f)\n", o.minRecall, o.minP)
	}
	if o.misses {
		for _, r := range rep.Runs {
			for _, m := range r.Misses {
				fmt.Fprintf(w, "miss   %-12s %-14s %-40s attack %d (%s)\n", r.Scenario, m.Role, m.Address, m.Attack, m.Kind)
			}
			for _, f := range r.False {
				fmt.Fprintf(w, "false  %-12s %-14s %-40s score %.3f\n", r.Scenario, f.Role, f.Address, f.Score)
			}
		}
	}
}

func dur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Second:
		return d.Round(time.Microsecond * 100).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

// evalProgress draws one line on a terminal: runs done and the event time
// reached by the runs in flight.
type evalProgress struct {
	mu      sync.Mutex
	w       io.Writer
	enabled bool
	total   int
	doneN   int
	start   time.Time
	frac    map[int]float64
	last    time.Time
}

func newEvalProgress(w io.Writer, total int, enabled bool) *evalProgress {
	return &evalProgress{w: w, enabled: enabled, total: total, frac: map[int]float64{}, start: time.Now()}
}

func (p *evalProgress) update(i int, done float64) {
	if !p.enabled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frac[i] = done
	p.draw()
}

func (p *evalProgress) done(i int) {
	if !p.enabled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.frac, i)
	p.doneN++
	p.last = time.Time{}
	p.draw()
}

func (p *evalProgress) draw() {
	now := time.Now()
	if now.Sub(p.last) < progressEvery {
		return
	}
	p.last = now
	sum := float64(p.doneN)
	for _, f := range p.frac {
		sum += min(max(f, 0), 1)
	}
	fmt.Fprintf(p.w, "\reval: %3.0f%%  %d/%d runs done, %d running  %s\x1b[K", 100*sum/float64(max(p.total, 1)), p.doneN, p.total, len(p.frac),
		time.Since(p.start).Round(time.Second))
}

func (p *evalProgress) finish() {
	if p.enabled {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
