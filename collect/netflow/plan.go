package netflow

import (
	"encoding/binary"
	"math"

	"github.com/acd-org/acd/flow"
)

// A plan is a template compiled for decoding: for fixed-length templates
// only the fields acd uses, at precomputed offsets; for templates with
// variable-length fields every field, in order.
type plan struct {
	ops         []op
	recLen      int  // record length (minimum length if varLen)
	varLen      bool // has variable-length fields
	options     bool // options template: records teach, they are not flows
	startSrc    uint8
	endSrc      uint8
	hasSampling bool // records carry sampling fields
	hasICMP     bool // records carry ICMP type/code fields
	lay         layout
}

// op is one field to decode.
type op struct {
	off  uint16 // offset in the record (fixed-length templates)
	n    uint16 // length, or varLen
	kind uint8
	code uint8 // specialised op (fixed-length templates)
}

// Field kinds.
const (
	kSkip uint8 = iota
	kSrc4
	kDst4
	kSrc6
	kDst6
	kSrcPort
	kDstPort
	kProto
	kTCPFlags
	kBytes
	kPackets
	kInIf
	kOutIf
	kSrcAS
	kDstAS
	kICMPTypeCode
	kICMPType
	kICMPCode
	kStartSec // time fields: start, then end of each form
	kEndSec
	kStartMs
	kEndMs
	kStartNTP
	kEndNTP
	kStartDelta
	kEndDelta
	kStartUp
	kEndUp
	kInitTime
	kSampInterval
	kSampRandom
	kSampPktInterval
	kSampPktSpace
	kSampSize
	kSampPopulation
	kSampProbability
	kSamplerID
	kScopeIn  // options scope: ingress interface (10, v9 scope type 2)
	kScopeOut // options scope: egress interface (14)
)

// Time sources of a plan.
const (
	srcNone  uint8 = iota
	srcAbs         // absolute time already in ms
	srcDelta       // microseconds before export time
	srcUp          // ms of system uptime
)

// Field groups where one of several elements is used: the lowest rank
// present wins.
const (
	gNone = iota
	gBytes
	gPackets
	gStart
	gEnd
	numGroups
)

// elemInfo says what an IANA information element (or its NetFlow v9
// namesake) means to acd.
type elemInfo struct {
	kind  uint8
	group uint8
	rank  uint8
	minN  uint16 // accepted lengths
	maxN  uint16
}

// elemOf returns what element id means; kind kSkip if nothing.
func elemOf(id uint16) elemInfo {
	num := func(k uint8) elemInfo { return elemInfo{kind: k, minN: 1, maxN: 8} }
	grp := func(k, g, r uint8) elemInfo { return elemInfo{kind: k, group: g, rank: r, minN: 1, maxN: 8} }
	tm := func(k, g, r uint8, n uint16) elemInfo { return elemInfo{kind: k, group: g, rank: r, minN: n, maxN: n} }
	switch id {
	case 1:
		return grp(kBytes, gBytes, 0)
	case 85: // octetTotalCount
		return grp(kBytes, gBytes, 1)
	case 23: // postOctetDeltaCount (v9 OUT_BYTES)
		return grp(kBytes, gBytes, 2)
	case 231: // initiatorOctets (Cisco ASA NSEL NF_F_FWD_FLOW_DELTA_BYTES)
		return grp(kBytes, gBytes, 3)
	case 2:
		return grp(kPackets, gPackets, 0)
	case 86: // packetTotalCount
		return grp(kPackets, gPackets, 1)
	case 24: // postPacketDeltaCount (v9 OUT_PKTS)
		return grp(kPackets, gPackets, 2)
	case 298: // initiatorPackets
		return grp(kPackets, gPackets, 3)
	case 4:
		return num(kProto)
	case 6:
		return num(kTCPFlags)
	case 7:
		return num(kSrcPort)
	case 11:
		return num(kDstPort)
	case 8:
		return elemInfo{kind: kSrc4, minN: 4, maxN: 4}
	case 12:
		return elemInfo{kind: kDst4, minN: 4, maxN: 4}
	case 27:
		return elemInfo{kind: kSrc6, minN: 16, maxN: 16}
	case 28:
		return elemInfo{kind: kDst6, minN: 16, maxN: 16}
	case 10:
		return num(kInIf)
	case 14:
		return num(kOutIf)
	case 16:
		return num(kSrcAS)
	case 17:
		return num(kDstAS)
	case 32, 139: // icmpTypeCodeIPv4, icmpTypeCodeIPv6
		return num(kICMPTypeCode)
	case 176, 178: // icmpTypeIPv4, icmpTypeIPv6
		return num(kICMPType)
	case 177, 179: // icmpCodeIPv4, icmpCodeIPv6
		return num(kICMPCode)
	case 152:
		return grp(kStartMs, gStart, 0)
	case 153:
		return grp(kEndMs, gEnd, 0)
	case 156:
		return tm(kStartNTP, gStart, 1, 8)
	case 157:
		return tm(kEndNTP, gEnd, 1, 8)
	case 154:
		return tm(kStartNTP, gStart, 2, 8)
	case 155:
		return tm(kEndNTP, gEnd, 2, 8)
	case 150:
		return grp(kStartSec, gStart, 3)
	case 151:
		return grp(kEndSec, gEnd, 3)
	case 158:
		return grp(kStartDelta, gStart, 4)
	case 159:
		return grp(kEndDelta, gEnd, 4)
	case 22:
		return grp(kStartUp, gStart, 5)
	case 21:
		return grp(kEndUp, gEnd, 5)
	// observationTime* (322-325): the time of the event a record reports
	// (Cisco ASA NSEL NF_F_EVENT_TIME_MSEC), an end of last resort.
	case 323:
		return grp(kEndMs, gEnd, 6)
	case 324, 325:
		return tm(kEndNTP, gEnd, 7, 8)
	case 322:
		return grp(kEndSec, gEnd, 8)
	case 160:
		return num(kInitTime)
	case 34:
		return num(kSampInterval)
	case 50:
		return num(kSampRandom)
	case 305:
		return num(kSampPktInterval)
	case 306:
		return num(kSampPktSpace)
	case 309:
		return num(kSampSize)
	case 310:
		return num(kSampPopulation)
	case 311:
		return elemInfo{kind: kSampProbability, minN: 4, maxN: 8}
	case 48, 302: // samplerId (v9 FLOW_SAMPLER_ID), selectorId
		return num(kSamplerID)
	}
	return elemInfo{}
}

// maxV9ScopeType is the last NetFlow v9 scope field type (System,
// Interface, Line Card, Cache, Template); of these only Interface is
// read (see scopeOf); other scope types, such as a sampler id, are read
// as elements.
const maxV9ScopeType = 5

// v9ScopeInterface is the NetFlow v9 scope field type Interface: its
// value is an ifIndex.
const v9ScopeInterface = 2

// scopeOf returns what an options template scope field means: an
// interface scope, or the element as usual.
func scopeOf(id uint16, ver uint8) elemInfo {
	switch {
	case id == 10 || (id == v9ScopeInterface && ver == versionV9):
		return elemInfo{kind: kScopeIn, minN: 1, maxN: 8}
	case id == 14:
		return elemInfo{kind: kScopeOut, minN: 1, maxN: 8}
	}
	return elemOf(id)
}

// maxRecordLen bounds a record: it must fit in one set.
const maxRecordLen = 65535 - 4

// buildPlan compiles specs; it reports false for a template no record can
// match (all fields empty, or longer than a set).
func buildPlan(specs []fieldSpec, ver uint8, options bool) (plan, bool) {
	p := plan{options: options}
	infos := make([]elemInfo, len(specs))
	var best [numGroups]int // index+1 of each group's winner
	for i, f := range specs {
		if f.n == varLen && ver == versionIPFIX {
			p.varLen = true
			p.recLen++
		} else {
			p.recLen += int(f.n)
		}
		if f.pen != 0 || (f.scope && ver == versionV9 && f.id <= maxV9ScopeType && f.id != v9ScopeInterface) {
			continue // enterprise elements are skipped; v9 scope types 1-5 are not elements
		}
		in := elemOf(f.id)
		if options && f.scope {
			in = scopeOf(f.id, ver)
		}
		if in.kind == kSkip || f.n == varLen || f.n < in.minN || f.n > in.maxN {
			continue
		}
		infos[i] = in
		if in.group != gNone {
			if b := best[in.group]; b == 0 || in.rank < infos[b-1].rank {
				best[in.group] = i + 1
			}
		}
	}
	if p.recLen == 0 || p.recLen > maxRecordLen {
		return plan{}, false
	}
	off := 0
	for i, f := range specs {
		in := infos[i]
		if in.group != gNone && best[in.group] != i+1 {
			in.kind = kSkip
		}
		if in.kind != kSkip || p.varLen {
			p.ops = append(p.ops, op{off: uint16(off), n: f.n, kind: in.kind})
		}
		off += int(f.n)
		p.note(in.kind)
	}
	if !p.varLen {
		p.specialise()
		p.buildLayout()
	}
	return p, true
}

// note records what kind k implies for the plan.
func (p *plan) note(k uint8) {
	switch k {
	case kStartSec, kStartMs, kStartNTP:
		p.startSrc = srcAbs
	case kEndSec, kEndMs, kEndNTP:
		p.endSrc = srcAbs
	case kStartDelta:
		p.startSrc = srcDelta
	case kEndDelta:
		p.endSrc = srcDelta
	case kStartUp:
		p.startSrc = srcUp
	case kEndUp:
		p.endSrc = srcUp
	case kICMPTypeCode, kICMPType, kICMPCode:
		p.hasICMP = true
	case kSampInterval, kSampRandom, kSampPktInterval, kSampSize, kSampProbability, kSamplerID:
		p.hasSampling = true
	}
}

// recVals holds the values of a record that need more than a copy.
type recVals struct {
	start, end   int64 // raw per the plan's time source
	init         int64 // systemInitTimeMilliseconds
	hasInit      bool
	icmp         uint16
	interval     uint64
	random       uint64
	pktInterval  uint64
	pktSpace     uint64
	size         uint64
	population   uint64
	probability  float64
	sampler      uint64
	hasSampler   bool
	hasICMPField bool
	scope        uint8  // options record scoped by an interface: scopeIn or scopeOut
	scopeIf      uint32 // its ifIndex
}

// uintBE reads a big-endian unsigned integer of 1 to 8 bytes.
func uintBE(b []byte) uint64 {
	switch len(b) {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.BigEndian.Uint16(b))
	case 4:
		return uint64(binary.BigEndian.Uint32(b))
	case 8:
		return binary.BigEndian.Uint64(b)
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// ntpEpochOffset is the number of seconds from 1900 to 1970.
const ntpEpochOffset = 2208988800

// ntpMs converts a 64-bit NTP timestamp (RFC 7011 dateTimeMicroseconds
// and dateTimeNanoseconds) to ms since the Unix epoch. Seconds below 2^31
// are taken to be in NTP era 1 (after 2036).
func ntpMs(b []byte) int64 {
	sec := int64(binary.BigEndian.Uint32(b))
	frac := uint64(binary.BigEndian.Uint32(b[4:]))
	if sec < 1<<31 {
		sec += 1 << 32
	}
	return (sec-ntpEpochOffset)*1000 + int64(frac*1000>>32)
}

// apply stores field b of kind k into r or v.
func apply(r *flow.Record, v *recVals, k uint8, b []byte) {
	switch k {
	case kSrc4:
		if r.SrcAddr.IsZero() || b[0]|b[1]|b[2]|b[3] != 0 {
			r.SrcAddr = flow.AddrFrom4Slice(b)
		}
	case kDst4:
		if r.DstAddr.IsZero() || b[0]|b[1]|b[2]|b[3] != 0 {
			r.DstAddr = flow.AddrFrom4Slice(b)
		}
	case kSrc6:
		if nonZero16(b) {
			copy(r.SrcAddr[:], b)
		}
	case kDst6:
		if nonZero16(b) {
			copy(r.DstAddr[:], b)
		}
	case kSrcPort:
		r.SrcPort = uint16(uintBE(b))
	case kDstPort:
		r.DstPort = uint16(uintBE(b))
	case kProto:
		r.Proto = uint8(uintBE(b))
	case kTCPFlags:
		r.TCPFlags = uint8(uintBE(b))
	case kBytes:
		r.Bytes = uintBE(b)
	case kPackets:
		r.Packets = uintBE(b)
	case kInIf:
		r.InIf = uint32(uintBE(b))
	case kOutIf:
		r.OutIf = uint32(uintBE(b))
	case kSrcAS:
		r.SrcAS = uint32(uintBE(b))
	case kDstAS:
		r.DstAS = uint32(uintBE(b))
	default:
		applyRare(v, k, b)
	}
}

// applyRare handles the kinds that go through recVals.
func applyRare(v *recVals, k uint8, b []byte) {
	switch k {
	case kICMPTypeCode:
		if x := uint16(uintBE(b)); x != 0 || !v.hasICMPField {
			v.icmp = x
		}
		v.hasICMPField = true
	case kICMPType:
		v.icmp = v.icmp&0xff | uint16(uintBE(b))<<8
		v.hasICMPField = true
	case kICMPCode:
		v.icmp = v.icmp&0xff00 | uint16(uint8(uintBE(b)))
		v.hasICMPField = true
	case kStartSec:
		v.start = int64(uintBE(b) * 1000)
	case kEndSec:
		v.end = int64(uintBE(b) * 1000)
	case kStartMs, kStartDelta, kStartUp:
		v.start = int64(uintBE(b))
	case kEndMs, kEndDelta, kEndUp:
		v.end = int64(uintBE(b))
	case kStartNTP:
		v.start = ntpMs(b)
	case kEndNTP:
		v.end = ntpMs(b)
	case kInitTime:
		v.init, v.hasInit = int64(uintBE(b)), true
	case kSampInterval:
		v.interval = uintBE(b)
	case kSampRandom:
		v.random = uintBE(b)
	case kSampPktInterval:
		v.pktInterval = uintBE(b)
	case kSampPktSpace:
		v.pktSpace = uintBE(b)
	case kSampSize:
		v.size = uintBE(b)
	case kSampPopulation:
		v.population = uintBE(b)
	case kSampProbability:
		if len(b) == 8 {
			v.probability = math.Float64frombits(binary.BigEndian.Uint64(b))
		} else {
			v.probability = float64(math.Float32frombits(binary.BigEndian.Uint32(b)))
		}
	case kSamplerID:
		v.sampler, v.hasSampler = uintBE(b), true
	case kScopeIn:
		v.scope, v.scopeIf = scopeIn, uint32(uintBE(b))
	case kScopeOut:
		v.scope, v.scopeIf = scopeOut, uint32(uintBE(b))
	}
}

// rate returns the sampling rate (1 in N) the record's sampling fields
// describe, or 0 if they describe none.
func (v *recVals) rate() uint32 {
	ratio := func(num, den uint64) uint32 {
		if den == 0 || num < den {
			return 0
		}
		return clampRate((num + den/2) / den)
	}
	switch {
	case v.pktInterval > 0:
		return ratio(v.pktInterval+v.pktSpace, v.pktInterval)
	case v.interval > 0:
		return clampRate(v.interval)
	case v.random > 0:
		return clampRate(v.random)
	case v.size > 0 && v.population > 0:
		return ratio(v.population, v.size)
	case v.probability > 0 && v.probability <= 1:
		return clampRate(uint64(math.Round(1 / v.probability)))
	}
	return 0
}

func clampRate(v uint64) uint32 {
	return uint32(min(v, math.MaxUint32))
}
