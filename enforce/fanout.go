package enforce

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/acd-org/acd/cases"
)

// Fanout carries one action type out on several adapters at once (a
// block through the CrowdSec bouncers and the local nftables): Apply
// succeeds only when every adapter applied it — on a failure the ones
// that did are withdrawn again —, Withdraw withdraws everywhere, and
// Sync syncs every Syncer among them, adding their drift.
type Fanout []Adapter

// Name joins the adapters' names with "+".
func (f Fanout) Name() string {
	names := make([]string, len(f))
	for i, a := range f {
		names[i] = a.Name()
	}
	return strings.Join(names, "+")
}

// Apply applies a on every adapter, in order; if one fails, those
// before it are withdrawn and the error is returned.
func (f Fanout) Apply(ctx context.Context, c cases.Case, a cases.Action) error {
	for i, ad := range f {
		if err := ad.Apply(ctx, c, a); err != nil {
			errs := []error{fmt.Errorf("%s: %w", ad.Name(), err)}
			for j := i - 1; j >= 0; j-- {
				if werr := f[j].Withdraw(ctx, c, a); werr != nil {
					errs = append(errs, fmt.Errorf("undo on %s: %w", f[j].Name(), werr))
				}
			}
			return errors.Join(errs...)
		}
	}
	return nil
}

// Withdraw withdraws a on every adapter, even when one fails.
func (f Fanout) Withdraw(ctx context.Context, c cases.Case, a cases.Action) error {
	var errs []error
	for _, ad := range f {
		if err := ad.Withdraw(ctx, c, a); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ad.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// Sync syncs every Syncer with desired and adds up their drift (details
// prefixed with the adapter's name).
func (f Fanout) Sync(ctx context.Context, desired []Item) (Drift, error) {
	var (
		total Drift
		errs  []error
	)
	for _, ad := range f {
		s, ok := ad.(Syncer)
		if !ok {
			continue
		}
		d, err := s.Sync(ctx, desired)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ad.Name(), err))
		}
		total.Missing += d.Missing
		total.Extra += d.Extra
		total.Changed += d.Changed
		for _, det := range d.Details {
			total.Details = append(total.Details, ad.Name()+": "+det)
		}
	}
	total.Desired = len(desired)
	return total, errors.Join(errs...)
}

var _ Syncer = Fanout(nil)
