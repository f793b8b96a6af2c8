package pcap

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/acd-org/acd/collect/packet"
	"github.com/acd-org/acd/flow"
)

// FileError is a capture that could not be read to its end: not a
// capture, or corrupt or truncated at Offset.
type FileError struct {
	Name    string // file name as given
	Offset  int64  // offset of the bad record (decompressed stream for gzip files); 0 for header errors
	Packets uint64 // packet records read before the error
	Header  bool   // the file header could not be read: nothing was metered
	Err     error
}

func (e *FileError) Error() string {
	if e.Header {
		return fmt.Sprintf("unable to read %s: %v", e.Name, e.Err)
	}
	return fmt.Sprintf("unable to read %s: corrupt or truncated at offset %d (after %d packets): %v",
		e.Name, e.Offset, e.Packets, e.Err)
}

// Unwrap returns the underlying error.
func (e *FileError) Unwrap() error { return e.Err }

// ctxCheckEvery is how many packets pass between context checks.
const ctxCheckEvery = 1024

// ReadFile meters every packet of the pcap or pcapng file at path (see
// Read).
func (m *Meter) ReadFile(ctx context.Context, path string, progress func(n int64)) error {
	f, err := os.Open(path)
	if err != nil {
		m.stats.FileErrors++
		return fmt.Errorf("unable to open capture: %w", err)
	}
	defer f.Close()
	return m.Read(ctx, path, f, progress)
}

// Read meters every packet of the capture in r, then exports every flow
// (flows do not continue from one capture to the next). name names the
// capture in errors. progress, if not nil, is called with the bytes taken
// from r so far after every read.
//
// A capture that is corrupt or truncated gives a *FileError naming the
// offset; the flows metered up to there are exported all the same. When
// ctx is cancelled Read stops, exports the flows metered so far and
// returns the context's error. Packets that cannot be parsed are counted
// in Stats.Errors by reason and skipped.
func (m *Meter) Read(ctx context.Context, name string, r io.Reader, progress func(n int64)) (err error) {
	rd, err := NewReader(r, progress)
	if err != nil {
		m.stats.FileErrors++
		return &FileError{Name: name, Header: true, Err: err}
	}
	m.stats.Files++
	defer func() {
		m.Flush()
		m.stats.FileBytes += uint64(rd.BytesRead())
	}()
	var h packet.Header
	for n := uint(0); ; n++ {
		if n%ctxCheckEvery == 0 && ctx.Err() != nil {
			return fmt.Errorf("unable to finish %s: %w", name, context.Cause(ctx))
		}
		off := rd.Offset()
		p, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			m.stats.FileErrors++
			return &FileError{Name: name, Offset: off, Packets: rd.Packets(), Err: err}
		}
		m.stats.Packets++
		if err := packet.ParseLink(p.Link, p.Data, &h); err != nil {
			m.countError(err)
			continue
		}
		if h.IPLen == 0 && p.Length > int(h.L3Offset) {
			// IPv4 total length 0: TCP segmentation offload on the
			// capturing host. The wire length is what was sent.
			h.IPLen = uint32(p.Length - int(h.L3Offset))
		}
		m.Add(p.Time, &h)
	}
}

// countError counts a packet that was not metered.
func (m *Meter) countError(err error) {
	reason := "other"
	if de, ok := err.(*flow.DecodeError); ok {
		reason = de.Reason
	}
	m.stats.Errors[reason]++
}
