package minimize

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/acd-org/acd/flow"
)

// TestReloadKeepsOldSpaceOnError reloads the domestic space from a
// delegated file: a good file takes effect, a corrupt one is refused with
// an error naming file and line while the previous space stays in force.
func TestReloadKeepsOldSpaceOnError(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "delegated.txt")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const header = "2|apnic|20261126|2|19830613|20261125|+1000\n"
	write(header + "apnic|JP|ipv4|198.51.100.0|256|20100101|allocated\napnic|KR|ipv4|203.0.113.0|256|20100101|allocated\n")
	s, next := testScreen(t, func(c *Config, _ *Deps) {
		c.Domestic.Add = nil
		c.Domestic.Countries = []string{"JP"}
		c.Domestic.Delegated = []string{file}
	})
	jp, kr := addr("198.51.100.9"), addr("203.0.113.9")
	classOf := func(dst flow.Addr) flow.Class {
		t.Helper()
		next.recs = nil
		s.Consume(batch(flow.Record{SrcAddr: addr("192.0.2.1"), DstAddr: dst, Start: t0.UnixMilli()}))
		if len(next.recs) != 1 {
			t.Fatalf("kept %d records", len(next.recs))
		}
		return next.recs[0].Class
	}
	if c := classOf(jp); c != flow.ClassInbound {
		t.Fatalf("JP address class %v, want inbound", c)
	}
	if c := classOf(kr); c != flow.ClassTransit {
		t.Fatalf("KR address class %v, want transit", c)
	}

	write(header + "apnic|JP|ipv4|198.51.100.0|256|20100101|allocated\napnic|JP|ipv4|203.0.113.0|many|20100101|allocated\n")
	err := s.Reload()
	if err == nil || !strings.Contains(err.Error(), "delegated.txt:3") || !strings.Contains(err.Error(), "previous one stays in force") {
		t.Fatalf("Reload() of a corrupt file = %v, want an error naming file and line", err)
	}
	if c := classOf(jp); c != flow.ClassInbound {
		t.Errorf("after a failed reload the JP address is %v: the old space must stay in force", c)
	}

	write(header + "apnic|JP|ipv4|198.51.100.0|256|20100101|allocated\napnic|JP|ipv4|203.0.113.0|256|20100101|allocated\n")
	if err := s.Reload(); err != nil {
		t.Fatalf("Reload() = %v", err)
	}
	if c := classOf(kr); c != flow.ClassInbound {
		t.Errorf("after a good reload 203.0.113.9 is %v, want inbound", c)
	}
	if s.reloads.Load() != 1 || s.reloadErrs.Load() != 1 {
		t.Errorf("reloads %d, errors %d; want 1 and 1", s.reloads.Load(), s.reloadErrs.Load())
	}
}

// TestReloadWhileScreening reloads the space while several goroutines
// screen batches: no record is lost or screened twice.
func TestReloadWhileScreening(t *testing.T) {
	var mu sync.Mutex
	passed := 0
	s, _ := testScreen(t, func(_ *Config, d *Deps) {
		d.Next = flow.SinkFunc(func(b *flow.Batch) {
			mu.Lock()
			passed += len(b.Records)
			mu.Unlock()
			b.Release()
		})
	})
	const workers, batches, per = 4, 50, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range batches {
				b := flow.NewBatchPool(per).Get()
				for j := range per {
					dst := foreign
					if (w+i+j)%3 == 0 {
						dst = addr("198.51.100.5")
					}
					b.Records = append(b.Records, flow.Record{SrcAddr: foreign, DstAddr: dst, Start: t0.UnixMilli()})
				}
				s.Consume(b)
			}
		}()
	}
	for range 20 {
		if err := s.Reload(); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
	st := s.Stats()
	var in, kept uint64
	for c := range st.In {
		in += st.In[c]
		kept += st.Kept[c]
	}
	if in != workers*batches*per || kept != uint64(passed) || kept != in {
		t.Errorf("in %d, kept %d, passed %d; want all %d", in, kept, passed, workers*batches*per)
	}
}
