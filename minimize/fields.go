package minimize

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/acd-org/acd/flow"
)

// field is one allow-listable record field.
type field struct {
	name  string
	clear func(r *flow.Record)
}

// fields lists the record fields the policy can allow, in record order.
// The screening marks (Class, Pseudo, KeyEpoch) and the record's Format
// and SamplingSource always pass.
var fields = []field{
	{"start", func(r *flow.Record) { r.Start = 0 }},
	{"end", func(r *flow.Record) { r.End = 0 }},
	{"bytes", func(r *flow.Record) { r.Bytes = 0 }},
	{"packets", func(r *flow.Record) { r.Packets = 0 }},
	{"src_addr", func(r *flow.Record) { r.SrcAddr = flow.Addr{}; r.Pseudo &^= flow.PseudoSrc }},
	{"dst_addr", func(r *flow.Record) { r.DstAddr = flow.Addr{}; r.Pseudo &^= flow.PseudoDst }},
	{"exporter", func(r *flow.Record) { r.Exporter = flow.Addr{} }},
	{"observation_domain", func(r *flow.Record) { r.ObservationDomain = 0 }},
	{"in_if", func(r *flow.Record) { r.InIf = 0 }},
	{"out_if", func(r *flow.Record) { r.OutIf = 0 }},
	{"src_as", func(r *flow.Record) { r.SrcAS = 0 }},
	{"dst_as", func(r *flow.Record) { r.DstAS = 0 }},
	{"sampling_rate", func(r *flow.Record) { r.SamplingRate = 0 }},
	{"src_port", func(r *flow.Record) { r.SrcPort = 0 }},
	{"dst_port", func(r *flow.Record) { r.DstPort = 0 }},
	{"proto", func(r *flow.Record) { r.Proto = 0 }},
	{"tcp_flags", func(r *flow.Record) { r.TCPFlags = 0 }},
}

// defaultFields is what detection needs: no interface indexes, no
// exporter identity.
var defaultFields = []string{"start", "end", "bytes", "packets", "src_addr", "dst_addr",
	"src_as", "dst_as", "sampling_rate", "src_port", "dst_port", "proto", "tcp_flags"}

// FieldNames returns the names accepted in screen.fields.
func FieldNames() []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.name
	}
	return out
}

// fieldMask is the set of allowed fields, bit i for fields[i].
type fieldMask uint32

func parseFields(names []string) (fieldMask, error) {
	var m fieldMask
	var errs []error
	for i, n := range names {
		found := false
		for j, f := range fields {
			if f.name == n {
				m |= 1 << j
				found = true
			}
		}
		if !found {
			errs = append(errs, fmt.Errorf("screen.fields[%d]: unknown field %q (one of %s)", i, n, strings.Join(FieldNames(), ", ")))
		}
	}
	return m, errors.Join(errs...)
}

// recordWords views a record as machine words. flow.Record is
// pointer-free and 8-byte aligned, so its size is a multiple of 8.
type recordWords [unsafe.Sizeof(flow.Record{}) / 8]uint64

// andMask returns the record-sized bit mask that keeps the fields in m
// and zeroes the others: an all-ones record with the disallowed fields
// cleared by their own clear functions. Applying it costs a handful of
// AND instructions per record, whatever the policy.
func (m fieldMask) andMask() recordWords {
	var w recordWords
	for i := range w {
		w[i] = ^uint64(0)
	}
	r := (*flow.Record)(unsafe.Pointer(&w))
	for j, f := range fields {
		if m&(1<<j) == 0 {
			f.clear(r)
		}
	}
	return w
}

// sparseMask is the words of a recordWords mask that are not all ones:
// only those need an AND (the default policy touches 3 of 15 words).
type sparseMask struct {
	idx  [len(recordWords{})]uint8
	word [len(recordWords{})]uint64
	n    int
}

func (w recordWords) sparse() sparseMask {
	var m sparseMask
	for i, v := range w {
		if v != ^uint64(0) {
			m.idx[m.n], m.word[m.n] = uint8(i), v
			m.n++
		}
	}
	return m
}

// apply zeroes the fields of r that the mask does not keep.
func (m *sparseMask) apply(r *flow.Record) {
	rw := (*recordWords)(unsafe.Pointer(r))
	for i := range m.n {
		rw[m.idx[i]] &= m.word[i]
	}
}
