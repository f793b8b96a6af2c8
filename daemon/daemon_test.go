package daemon

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type fake struct {
	name string
	fail bool
	log  *[]string
}

func (f *fake) Start(context.Context) error {
	if f.fail {
		*f.log = append(*f.log, "fail "+f.name)
		return errors.New("boom")
	}
	*f.log = append(*f.log, "start "+f.name)
	return nil
}

func (f *fake) Stop() { *f.log = append(*f.log, "stop "+f.name) }

func TestGroup(t *testing.T) {
	tests := []struct {
		name    string
		failAt  int // -1: none
		want    []string
		wantErr bool
	}{
		{"all start, stop reversed", -1, []string{"start a", "start b", "start c", "stop c", "stop b", "stop a"}, false},
		{"third fails, first two stopped", 2, []string{"start a", "start b", "fail c", "stop b", "stop a"}, true},
		{"first fails, nothing stopped", 0, []string{"fail a"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log []string
			var parts []Named
			for i, n := range []string{"a", "b", "c"} {
				parts = append(parts, Named{n, &fake{name: n, fail: i == tt.failAt, log: &log}})
			}
			g := NewGroup(slog.New(slog.DiscardHandler), parts...)
			err := g.Start(context.Background())
			if (err != nil) != tt.wantErr {
				t.Fatalf("Start() error = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil {
				g.Stop()
			}
			g.Stop() // idempotent
			if diff := cmp.Diff(log, tt.want); diff != "" {
				t.Errorf("calls (-got, +want):\n%s", diff)
			}
		})
	}
}
