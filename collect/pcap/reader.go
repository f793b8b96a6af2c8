package pcap

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Errors of NewReader, wrapped in a *FileError by Meter.Read.
var (
	// ErrEmpty: the file has no byte at all.
	ErrEmpty = errors.New("pcap: empty file")
	// ErrNotCapture: the file starts with neither a pcap nor a pcapng magic
	// number (nor gzip around one of them).
	ErrNotCapture = errors.New("pcap: not a pcap or pcapng file")
)

// File formats, as Reader.Format returns them.
const (
	FormatPcap   = "pcap"
	FormatPcapNG = "pcapng"
)

// readBufferSize is the read-ahead buffer under the pcap parsers.
const readBufferSize = 64 << 10

// Packet is one packet record of a capture. Data is owned by the Reader
// and valid until the next call to Next.
type Packet struct {
	Data   []byte // captured bytes (at most the snap length)
	Time   int64  // capture time, ns since the Unix epoch
	Length int    // length on the wire
	Link   uint32 // pcap link type (LINKTYPE_*)
}

// Reader reads the packet records of a classic pcap (micro- or nanosecond
// magic, either byte order) or pcapng (several sections and interfaces,
// each interface with its own link type) stream, optionally
// gzip-compressed. It is a thin layer over gopacket's pcapgo that adds
// format detection, byte offsets for error messages and progress.
type Reader struct {
	file   *countingReader // bytes taken from the underlying reader
	pos    *countingReader // bytes taken from the (decompressed) stream
	br     *bufio.Reader   // read-ahead buffer over pos
	pcap   *pcapgo.Reader
	ng     *pcapgo.NgReader
	link   uint32 // classic pcap only
	format string
	gzip   bool
	nread  uint64
}

// NewReader reads the file header from r and returns a reader positioned
// on the first packet. progress, if not nil, is called with the total
// number of bytes taken from r after every read from it.
func NewReader(r io.Reader, progress func(n int64)) (*Reader, error) {
	rd := &Reader{file: &countingReader{r: r, progress: progress}}
	rd.pos = rd.file
	rd.br = bufio.NewReaderSize(rd.pos, readBufferSize)
	magic, err := rd.br.Peek(4)
	if len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, gerr := gzip.NewReader(rd.br)
		if gerr != nil {
			return nil, fmt.Errorf("unable to read gzip header: %w", gerr)
		}
		rd.gzip = true
		rd.pos = &countingReader{r: gz}
		rd.br = bufio.NewReaderSize(rd.pos, readBufferSize)
		magic, err = rd.br.Peek(4)
	}
	switch {
	case len(magic) == 0 && (err == io.EOF || err == nil):
		return nil, ErrEmpty
	case len(magic) < 4:
		return nil, fmt.Errorf("%w (%d bytes)", ErrNotCapture, len(magic))
	}
	switch m := binary.BigEndian.Uint32(magic); m {
	case 0x0a0d0d0a:
		rd.format = FormatPcapNG
		rd.ng, err = pcapgo.NewNgReader(rd.br, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		rd.format = FormatPcap
		if rd.pcap, err = pcapgo.NewReader(rd.br); err == nil {
			rd.link = uint32(rd.pcap.LinkType())
		}
	default:
		return nil, fmt.Errorf("%w (starts with %#08x)", ErrNotCapture, m)
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("unable to read %s header: %w", rd.format, err)
	}
	return rd, nil
}

// Format returns FormatPcap or FormatPcapNG.
func (r *Reader) Format() string { return r.format }

// Gzip reports whether the stream is gzip-compressed.
func (r *Reader) Gzip() bool { return r.gzip }

// Offset returns the offset of the next packet record in the stream
// (in the decompressed stream for gzip files). For pcapng it is the offset
// of the next block, which may precede the packet.
func (r *Reader) Offset() int64 { return r.pos.n - int64(r.br.Buffered()) }

// BytesRead returns the bytes taken from the underlying reader so far.
func (r *Reader) BytesRead() int64 { return r.file.n }

// Packets returns the number of packet records read so far.
func (r *Reader) Packets() uint64 { return r.nread }

// Next returns the next packet record, or io.EOF at the clean end of the
// stream. A stream that ends inside a record gives io.ErrUnexpectedEOF.
// Any error other than io.EOF leaves the reader unusable.
func (r *Reader) Next() (Packet, error) {
	start := r.Offset()
	var (
		data []byte
		ci   gopacket.CaptureInfo
		err  error
		link = r.link
	)
	if r.ng != nil {
		data, ci, err = r.ng.ZeroCopyReadPacketData()
		if err == nil && len(ci.AncillaryData) > 0 {
			if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
				link = uint32(lt)
			}
		}
	} else {
		data, ci, err = r.pcap.ZeroCopyReadPacketData()
	}
	if err != nil {
		if err == io.EOF && r.Offset() != start {
			err = io.ErrUnexpectedEOF
		}
		return Packet{}, err
	}
	r.nread++
	return Packet{Data: data, Time: ci.Timestamp.UnixNano(), Length: ci.Length, Link: link}, nil
}

// countingReader counts the bytes read through it and reports them.
type countingReader struct {
	r        io.Reader
	n        int64
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.progress != nil && n > 0 {
		c.progress(c.n)
	}
	return n, err
}
