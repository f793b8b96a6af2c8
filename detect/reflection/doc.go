// Package reflection detects reflection/amplification attacks in screened
// flow records: many servers answering, from an amplifier port (DNS 53,
// NTP 123, SSDP 1900, memcached 11211, CLDAP 389, chargen 19, SNMP 161,
// ...), with responses larger than the service's normal answer, at one
// victim that did not ask for them (its address was spoofed in the
// questions).
//
// For each (victim, service) the detector counts, per window, the
// amplified responses (scaled packets, bytes and flows, a rate series in
// short buckets) and the distinct reflectors (a 512-bit linear-counting
// sketch), and it counts the requests the victim itself sent to that
// port. A victim alarms when its busiest bucket reaches min_bps, at least
// min_reflectors reflectors answered it and it asked for at most
// max_request_ratio of the answers. Each reflector is remembered for a
// while in a second bounded table, so the reflectors that came before the
// alarm are named too.
//
// Roles: detect.RoleDDoSVictim for the victim, detect.RoleReflector for
// each reflector, a misused open server: evidence for an abuse report,
// not for an indefinite block.
package reflection
