// Package ledger remembers which one-shot actions (an abuse report sent,
// an evidence package handed over) were carried out, so that an action
// applied again after a crash — between the delivery and the caller's
// commit — is not delivered twice: one JSON file per item (case, version,
// action index) in a state directory, written atomically after the
// delivery succeeded. It also holds the small helpers those adapters
// share: atomic file writes, the index of an action in its case, safe
// case ids for file names.
package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/acd-org/acd/cases"
)

// Ledger is the ledger of one adapter: files Prefix-<case>-v<version>-a<index>.json in Dir.
type Ledger struct {
	Dir    string
	Prefix string
}

func (l Ledger) name(caseID string, version, idx int) string {
	return fmt.Sprintf("%s-%s-v%d-a%d.json", l.Prefix, caseID, version, idx)
}

// Has reports whether the item is in the ledger.
func (l Ledger) Has(caseID string, version, idx int) (bool, error) {
	_, err := os.Stat(filepath.Join(l.Dir, l.name(caseID, version, idx)))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("unable to read the ledger: %w", err)
}

// Record adds the item with entry (any JSON value: what was delivered,
// where, when) to the ledger.
func (l Ledger) Record(caseID string, version, idx int, entry any) error {
	b, err := json.MarshalIndent(entry, "", "  ")
	if err != nil {
		return fmt.Errorf("unable to encode the ledger entry: %w", err)
	}
	return WriteAtomic(l.Dir, l.name(caseID, version, idx), append(b, '\n'))
}

// WriteAtomic writes data to dir/name through a temporary file renamed
// into place and synced, so that a reader (or a crash) sees either
// nothing or the whole file.
func WriteAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("unable to write %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("unable to write %s: %w", name, err)
	}
	if err = os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("unable to write %s: %w", name, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// ActionIndex returns the index of a in c.Actions (the first action
// equal to it), which names the item.
func ActionIndex(c cases.Case, a cases.Action) (int, error) {
	want, err := json.Marshal(a)
	if err != nil {
		return 0, fmt.Errorf("unable to encode the action: %w", err)
	}
	for i, x := range c.Actions {
		got, err := json.Marshal(x)
		if err == nil && bytes.Equal(got, want) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("the %s action on %s is not one of case %s v%d's actions", a.Type, a.Target, c.ID, c.Version)
}

// SafeID reports whether a case id can name a file and a header safely
// (the characters cases allows in ids).
func SafeID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
