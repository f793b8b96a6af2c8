package stix

import (
	"net/netip"
	"testing"
	"time"
)

// TestTypedObjectsValidate checks that every typed struct marshals to an
// object the OASIS schemas and the outgoing rules accept.
func TestTypedObjectsValidate(t *testing.T) {
	by := testIdentityObj(t)
	c := func(typ string, parts ...string) Common {
		return emitted(typ, ACDID(typ, append([]string{by.ID}, parts...)...), &by, TLPGreen, TS(t0), TS(t0.Add(time.Minute)))
	}
	sco := func(typ, id string) Common {
		return Common{Type: typ, SpecVersion: SpecVersion, ID: id, ObjectMarkingRefs: []string{TLPGreen.MarkingID()}}
	}
	addr := netip.MustParsePrefix("198.51.100.7/32")
	port, count := 443, 3
	nt := &NetworkTraffic{Common: sco(TypeNetworkTraffic, ""), DstRef: AddrID(addr), DstPort: &port, Protocols: []string{"ipv4", "tcp"}}
	ntID, err := nt.DeterministicID()
	if err != nil {
		t.Fatal(err)
	}
	nt.ID = ntID
	ind := IndicatorID(by.ID, "198.51.100.7")
	od := &ObservedData{Common: c(TypeObservedData, "o"), FirstObserved: TS(t0), LastObserved: TS(t0), NumberObserved: 1, ObjectRefs: []string{AddrID(addr), ntID}}
	for _, v := range []any{
		&IPAddr{Common: sco(TypeIPv4Addr, AddrID(addr)), Value: "198.51.100.7"},
		&IPAddr{Common: sco(TypeIPv6Addr, AddrID(netip.MustParsePrefix("2001:db8::/32"))), Value: "2001:db8::/32"},
		&DomainName{Common: sco(TypeDomainName, DomainNameID("evil.example.com")), Value: "evil.example.com"},
		nt, od,
		&Sighting{Common: c(TypeSighting, "s"), FirstSeen: TS(t0), LastSeen: TS(t0), Count: &count, SightingOfRef: ind,
			ObservedDataRefs: []string{od.ID}, WhereSightedRefs: []string{by.ID}},
		&Note{Common: c(TypeNote, "n"), Abstract: "a", Content: "c", Authors: []string{"acd"}, ObjectRefs: []string{ind}},
		&Opinion{Common: c(TypeOpinion, "p"), Opinion: "agree", ObjectRefs: []string{ind}},
		&Report{Common: c(TypeReport, "r"), Name: "r", ReportTypes: []string{"indicator"}, Published: TS(t0), ObjectRefs: []string{ind}},
		&CourseOfAction{Common: c(TypeCourseOfAction, "c"), Name: "block"},
		&Relationship{Common: c(TypeRelationship, "x"), RelationshipType: "communicates-with", SourceRef: ACDID(TypeInfrastructure, "i"), TargetRef: AddrID(addr)},
	} {
		o, err := NewObject(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := ValidateOutgoing(o.Raw()); err != nil {
			t.Errorf("%T: %v\n%s", v, err, o.Raw())
		}
	}
}
