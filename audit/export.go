package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// ExportFormat names the export's header.
const ExportFormat = "acd-audit-export"

// maxLine bounds an export line (an entry is at most ~70 KiB).
const maxLine = 1 << 20

// Header is the first line of an export. It is informative: it is not
// signed, and Verify does not trust it.
type Header struct {
	Format   string    `json:"format"`
	Version  int       `json:"version"`
	Exported time.Time `json:"exported"`
	// FromSeq and ToSeq are the range exported; a range not starting at
	// 1 is verified with Options.Partial.
	FromSeq int64 `json:"from_seq"`
	ToSeq   int64 `json:"to_seq"`
	// Partial is true when the export does not start at seq 1.
	Partial bool `json:"partial,omitempty"`
}

// line is one line of an export: exactly one field is set.
type line struct {
	Header     *Header     `json:"header,omitempty"`
	Entry      *Entry      `json:"entry,omitempty"`
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`
}

// ExportOptions select what Export writes.
type ExportOptions struct {
	// From and To bound the entries' time (From <= Time < To; zero: no
	// bound). The range exported is contiguous in seq, from the first
	// entry at or after From to the last before To, and is extended to
	// the next checkpoint so that its end is signed.
	From, To time.Time
	// Now stamps the header (nil: time.Now).
	Now func() time.Time
}

// Export writes the log in q as JSON lines (see the package comment) and
// returns the header. For a consistent view of a live database, q should
// be a read transaction.
func Export(ctx context.Context, q Querier, w io.Writer, opts ExportOptions) (Header, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	from, to, err := exportRange(ctx, q, opts)
	if err != nil {
		return Header{}, err
	}
	h := Header{Format: ExportFormat, Version: 1, Exported: opts.Now().UTC(), FromSeq: from, ToSeq: to, Partial: from > 1}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(line{Header: &h}); err != nil {
		return h, err
	}
	if to < from { // nothing in range
		return h, bw.Flush()
	}
	cps, err := checkpoints(ctx, q, from, to)
	if err != nil {
		return h, err
	}
	err = eachEntry(ctx, q, from, to, func(e Entry) error {
		for len(cps) > 0 && cps[0].Seq < e.Seq { // signs a missing entry
			if err := enc.Encode(line{Checkpoint: &cps[0]}); err != nil {
				return err
			}
			cps = cps[1:]
		}
		if err := enc.Encode(line{Entry: &e}); err != nil {
			return err
		}
		for len(cps) > 0 && cps[0].Seq == e.Seq {
			if err := enc.Encode(line{Checkpoint: &cps[0]}); err != nil {
				return err
			}
			cps = cps[1:]
		}
		return nil
	})
	if err != nil {
		return h, err
	}
	for i := range cps {
		if err := enc.Encode(line{Checkpoint: &cps[i]}); err != nil {
			return h, err
		}
	}
	return h, bw.Flush()
}

// exportRange returns the seqs to export; to < from when none.
func exportRange(ctx context.Context, q Querier, opts ExportOptions) (from, to int64, err error) {
	read := func(query string, args ...any) (int64, error) {
		var v sql.NullInt64
		if err := q.QueryRowContext(ctx, query, args...).Scan(&v); err != nil {
			return 0, fmt.Errorf("audit: unable to read the export range: %w", err)
		}
		return v.Int64, nil
	}
	if from, err = read(`SELECT coalesce(min(seq), 1) FROM audit_entries`); err != nil {
		return
	}
	if to, err = read(`SELECT coalesce(max(seq), 0) FROM audit_entries`); err != nil {
		return
	}
	if !opts.From.IsZero() {
		if from, err = read(`SELECT coalesce(min(seq), ?) FROM audit_entries WHERE time >= ?`, to+1, opts.From.UnixNano()); err != nil {
			return
		}
	}
	if !opts.To.IsZero() {
		if to, err = read(`SELECT coalesce(max(seq), 0) FROM audit_entries WHERE time < ?`, opts.To.UnixNano()); err != nil {
			return
		}
		if to >= from {
			var next int64
			if next, err = read(`SELECT coalesce(min(seq), 0) FROM audit_checkpoints WHERE seq >= ?`, to); err != nil {
				return
			}
			if next > 0 {
				to = next
			}
		}
	}
	return from, to, nil
}

// VerifyExport verifies an export read from r. The error is for failing
// to read r; what is wrong with the log, including unreadable lines, is
// in the Report.
func VerifyExport(r io.Reader, pub ed25519.PublicKey, opts Options) (Report, error) {
	v := NewVerifier(pub, opts)
	err := readExport(r, func(n int, l line, err error) {
		switch {
		case err != nil:
			v.Malformed(fmt.Sprintf("line %d", n), err)
		case l.Entry != nil:
			v.Entry(*l.Entry)
		case l.Checkpoint != nil:
			v.Checkpoint(*l.Checkpoint)
		}
	})
	if err != nil {
		return Report{}, err
	}
	return v.Report(), nil
}

// readExport calls fn for each line of an export (numbered from 1), with
// the line's error when it is not a valid record. Blank lines are
// skipped. It returns an error only when r fails or a line exceeds 1 MiB.
func readExport(r io.Reader, fn func(n int, l line, err error)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	n := 0
	for sc.Scan() {
		n++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		l, err := parseLine(b)
		fn(n, l, err)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("export line %d: longer than %d bytes", n+1, maxLine)
		}
		return fmt.Errorf("unable to read export: %w", err)
	}
	return nil
}

// parseLine decodes one export line.
func parseLine(b []byte) (line, error) {
	var l line
	if err := json.Unmarshal(b, &l); err != nil {
		return l, err
	}
	set := 0
	for _, p := range []bool{l.Header != nil, l.Entry != nil, l.Checkpoint != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		return l, errors.New(`want exactly one of "header", "entry" or "checkpoint"`)
	}
	if h := l.Header; h != nil && (h.Format != ExportFormat || h.Version != 1) {
		return l, fmt.Errorf("header: format %q version %d, want %q version 1", h.Format, h.Version, ExportFormat)
	}
	return l, nil
}
