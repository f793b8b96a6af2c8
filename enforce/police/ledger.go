package police

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

// ledger remembers what was sent: one JSON file per item in dir, named
// by case, version and action index, written atomically after the
// package was written into the channel's directory.
type ledger struct{ dir string }

// entry is one ledger file.
type entry struct {
	Case     string `json:"case"`
	Version  int    `json:"version"`
	Action   int    `json:"action"`
	Channel  string `json:"channel"`
	File     string `json:"file"`
	SHA256   string `json:"sha256"` // of the package file
	HandedAt string `json:"handed_at"`
}

func (l ledger) name(caseID string, version, idx int) string {
	return fmt.Sprintf("police-%s-v%d-a%d.json", caseID, version, idx)
}

// has reports whether the item is in the ledger.
func (l ledger) has(caseID string, version, idx int) (bool, error) {
	_, err := os.Stat(filepath.Join(l.dir, l.name(caseID, version, idx)))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("unable to read the ledger: %w", err)
}

// record adds e to the ledger.
func (l ledger) record(e entry) error {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return fmt.Errorf("unable to encode the ledger entry: %w", err)
	}
	return writeAtomic(l.dir, l.name(e.Case, e.Version, e.Action), append(b, '\n'))
}

// writeAtomic writes data to dir/name through a temporary file renamed
// into place and synced, so that a reader (or a crash) sees either
// nothing or the whole file.
func writeAtomic(dir, name string, data []byte) (err error) {
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

// actionIndex returns the index of a in c.Actions (the first action
// equal to it), which names the item in the ledger.
func actionIndex(c cases.Case, a cases.Action) (int, error) {
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

// safeID reports whether a case id can name a file and a header safely
// (the characters cases allows in ids).
func safeID(id string) bool {
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
