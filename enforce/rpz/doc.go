// Package rpz carries out acd's sinkhole actions as a DNS Response Policy
// Zone (RPZ) that acd serves as a primary: resolvers (Unbound, BIND,
// Knot Resolver, PowerDNS Recursor) transfer it and answer the policy to
// their clients. RPZ is the enforce.Syncer for cases.ActionSinkhole.
//
// The zone (origin Config.Zone, "rpz.acd." by default) holds:
//
//	rpz.acd.                         SOA  <mname> <rname> <serial> <refresh> <retry> <expire> <minimum>
//	rpz.acd.                         NS   <mname>
//	evil.example.rpz.acd.            CNAME .            ; QNAME trigger, policy nxdomain
//	*.evil.example.rpz.acd.          CNAME .            ; scope.subdomains
//	32.7.100.51.198.rpz-ip.rpz.acd.  CNAME .            ; IP trigger for 198.51.100.7
//	24.0.100.51.198.rpz-ip.rpz.acd.  CNAME .            ; IP trigger for 198.51.100.0/24
//	128.10.zz.db8.2001.rpz-ip.rpz.acd. CNAME .          ; IP trigger for 2001:db8::10
//
// With policy sinkhole the CNAME . is replaced by A <sinkhole_v4> and/or
// AAAA <sinkhole_v6>, or CNAME <sinkhole_cname>. A domain target gives a
// QNAME trigger; an address or prefix target an IP trigger (the
// response-IP trigger of the RPZ draft, draft-vixie-dnsop-dns-rpz).
// Several items may want the same record: it stays while any does.
//
// Every change (Apply, Withdraw, a Sync that repairs) bumps the SOA
// serial once (RFC 1982 arithmetic; the serial follows the clock in
// seconds when that is ahead, so a restarted acd starts above what its
// secondaries hold), is kept in a journal of Config.Journal changes for
// IXFR (RFC 1995; a client older than the journal gets the whole zone)
// and is announced by NOTIFY (RFC 1996, retried) to Config.Notify.
// Transfers (TCP AXFR, IXFR) are allowed to Config.AllowTransfer and,
// when Config.TSIG is set, only with a valid TSIG (RFC 8945); they are
// signed with it. SOA queries at the apex are answered to anyone.
//
// The zone lives in memory: after a restart the reconciler's Sync fills
// it again.
package rpz
