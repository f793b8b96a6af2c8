package flow

import (
	"net/netip"
	"testing"
	"unsafe"
)

func TestRecordIsCompact(t *testing.T) {
	// Records travel by the million: keep them within two cache lines.
	if got := unsafe.Sizeof(Record{}); got > 128 {
		t.Errorf("sizeof(Record) = %d, want <= 128", got)
	}
}

func TestAddr(t *testing.T) {
	tests := []struct {
		in   string
		is4  bool
		want string
	}{
		{"192.0.2.1", true, "192.0.2.1"},
		{"2001:db8::1", false, "2001:db8::1"},
		{"::ffff:192.0.2.1", true, "192.0.2.1"},
		{"::", false, "::"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a := AddrFromNetip(netip.MustParseAddr(tt.in))
			if a.Is4() != tt.is4 {
				t.Errorf("Is4() = %v, want %v", a.Is4(), tt.is4)
			}
			if tt.in == "::" {
				if !a.IsZero() || a.String() != "" {
					t.Errorf("zero address: IsZero %v String %q", a.IsZero(), a.String())
				}
				return
			}
			if got := a.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			var back Addr
			if err := back.UnmarshalText([]byte(a.String())); err != nil || back != a {
				t.Errorf("UnmarshalText round trip = %v, %v", back, err)
			}
		})
	}
	if AddrFrom4([4]byte{192, 0, 2, 1}) != AddrFrom4Slice([]byte{192, 0, 2, 1}) {
		t.Error("AddrFrom4 and AddrFrom4Slice differ")
	}
}

func TestExporterString(t *testing.T) {
	tests := []struct {
		addr string
		port uint16
		want string
	}{
		{"192.0.2.1", 0, "192.0.2.1:0"},
		{"192.0.2.1", 2055, "192.0.2.1:2055"},
		{"2001:db8::1", 65535, "[2001:db8::1]:65535"},
	}
	for _, tt := range tests {
		e := Exporter{Addr: AddrFromNetip(netip.MustParseAddr(tt.addr)), Port: tt.port}
		if got := e.String(); got != tt.want {
			t.Errorf("Exporter{%s, %d}.String() = %q, want %q", tt.addr, tt.port, got, tt.want)
		}
	}
}

func TestScaled(t *testing.T) {
	r := Record{Bytes: 100, Packets: 2}
	if r.ScaledBytes() != 100 || r.ScaledPackets() != 2 {
		t.Errorf("unsampled: %d %d", r.ScaledBytes(), r.ScaledPackets())
	}
	r.SamplingRate = 1000
	if r.ScaledBytes() != 100000 || r.ScaledPackets() != 2000 {
		t.Errorf("1:1000: %d %d", r.ScaledBytes(), r.ScaledPackets())
	}
}

func TestBatchPool(t *testing.T) {
	p := NewBatchPool(8)
	b := p.Get()
	if cap(b.Records) != 8 || len(b.Records) != 0 {
		t.Fatalf("new batch len %d cap %d", len(b.Records), cap(b.Records))
	}
	b.Records = append(b.Records, Record{Bytes: 1})
	b.Release()
	b2 := p.Get()
	if len(b2.Records) != 0 {
		t.Errorf("reused batch not empty: %d", len(b2.Records))
	}
}
