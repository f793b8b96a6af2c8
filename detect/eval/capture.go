package eval

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/acd-org/acd/collect/pcap"
	"github.com/acd-org/acd/conf"
	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/flowgen/scenario"
)

// Capture describes a labelled capture file (testdata/labeled/NAME.yaml):
// the capture, the domestic space to screen it with, and the addresses a
// perfect detector reports, with their roles.
type Capture struct {
	Capture     string         `yaml:"capture"` // relative to the description's directory
	Description string         `yaml:"description"`
	Domestic    []string       `yaml:"domestic"`
	Labels      []CaptureLabel `yaml:"labels"`
}

// CaptureLabel is one expected suspect (role c2-client marks an infected
// internal host: evidence of its C2, not scored).
type CaptureLabel struct {
	Address string `yaml:"address"`
	Role    string `yaml:"role"`
}

// LoadCapture reads and checks a capture description.
func LoadCapture(path string) (*Capture, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("unable to read capture description: %w", err)
	}
	var c Capture
	if err := conf.Load(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.Capture == "" {
		return nil, fmt.Errorf("%s: capture: missing", path)
	}
	if !filepath.IsAbs(c.Capture) {
		c.Capture = filepath.Join(filepath.Dir(path), c.Capture)
	}
	for i, p := range c.Domestic {
		if _, err := netip.ParsePrefix(p); err != nil {
			return nil, fmt.Errorf("%s: domestic[%d]: %v", path, i, err)
		}
	}
	for i, l := range c.Labels {
		if _, err := netip.ParseAddr(l.Address); err != nil {
			return nil, fmt.Errorf("%s: labels[%d].address: %v", path, i, err)
		}
		if l.Role == scenario.RoleC2Client {
			continue // the infected hosts: evidence of the C2, not scored
		}
		if _, err := detect.ParseRole(l.Role); err != nil {
			return nil, fmt.Errorf("%s: labels[%d].role: %v (or c2-client)", path, i, err)
		}
	}
	return &c, nil
}

// RunCapture meters a labelled capture the way acd analyze does (meter
// configuration meter), screens it with its domestic space, runs the
// detectors and scores the suspects against its labels. A label's first
// time is the first record its address appears in.
func RunCapture(ctx context.Context, name string, c *Capture, meter pcap.Config, build func() ([]detect.Detector, error), opt Options) (*Result, error) {
	var domestic []netip.Prefix
	for _, p := range c.Domestic {
		domestic = append(domestic, netip.MustParsePrefix(p).Masked())
	}
	labels := make([]scenario.Label, len(c.Labels))
	index := map[flow.Addr][]int{}
	for i, l := range c.Labels {
		a := flow.AddrFromNetip(netip.MustParseAddr(l.Address).Unmap())
		labels[i] = scenario.Label{Addr: a, Role: l.Role, Attack: 0, Kind: name}
		index[a] = append(index[a], i)
	}
	// Meter once to learn when each labelled address first appears (for
	// the latency and for the pseudonym's key epoch), then run for real.
	firstSeen := make([]int64, len(labels))
	for i := range firstSeen {
		firstSeen[i] = math.MaxInt64
	}
	pass := flow.SinkFunc(func(b *flow.Batch) {
		for i := range b.Records {
			r := &b.Records[i]
			for _, a := range [2]flow.Addr{r.SrcAddr, r.DstAddr} {
				for _, j := range index[a] {
					firstSeen[j] = min(firstSeen[j], r.Start)
				}
			}
		}
		b.Release()
	})
	m, err := pcap.NewMeter(meter, flow.NewBatchPool(0), pass)
	if err != nil {
		return nil, err
	}
	if err := m.ReadFile(ctx, c.Capture, nil); err != nil {
		return nil, err
	}
	for i := range labels {
		if firstSeen[i] == math.MaxInt64 {
			return nil, fmt.Errorf("%s: label %s (%s) never appears in %s", name, c.Labels[i].Address, c.Labels[i].Role, c.Capture)
		}
		labels[i].First = time.UnixMilli(firstSeen[i]).UTC()
		labels[i].Last = labels[i].First
	}
	src := func(ctx context.Context, sink flow.Sink) error {
		m, err := pcap.NewMeter(meter, flow.NewBatchPool(0), sink)
		if err != nil {
			return err
		}
		return m.ReadFile(ctx, c.Capture, nil)
	}
	return run(ctx, name, src, labels, domestic, build, opt)
}
