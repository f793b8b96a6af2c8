// Package crowdsec lets the CrowdSec bouncer ecosystem (firewall, nginx,
// Cloudflare, … bouncers) enforce acd's block actions. acd plays the
// part of a CrowdSec Local API (LAPI) toward the bouncers: Decisions is
// the enforce.Syncer that keeps the desired decisions, one set per
// (case, target), and Server is the http.Handler serving the endpoints
// bouncers poll:
//
//	GET|HEAD /v1/decisions/stream?startup=true|false[&scopes=…&origins=…
//	         &scenarios_containing=…&scenarios_not_containing=…]
//	GET      /v1/decisions?ip=…|range=…|scope=…&value=…
//
// The stream answers {"new":[Decision…],"deleted":[Decision…]}, both
// always arrays; a Decision is
//
//	{"id":1,"origin":"acd","type":"ban","scope":"Ip","value":"192.0.2.7",
//	 "duration":"3h58m30s","scenario":"acd/case/<id>",
//	 "until":"2026-11-26T16:00:00Z","simulated":false}
//
// Bouncers authenticate with the X-Api-Key header against Keys (403
// {"message":"access forbidden"} otherwise). Bouncers key their state
// by value, so acd tells each bouncer one decision per value (the one
// lasting longest) and remembers, per bouncer, what its last pull left
// it holding: a pull returns the difference. startup=true returns every
// active decision in new and, in deleted, what was withdrawn or expired
// within Config.Retention (a bouncer restarting after a crash cleans up
// its stale entries). HEAD answers 200 without a body and is not a pull.
//
// A prefix target is sent as one Ip decision per address by default
// (Config.Ranges): crowdsec-firewall-bouncer 0.0.25 bans only the
// network address of a Range decision.
//
// The state is in memory: after a restart acd re-applies the active
// actions (the reconciler calls Sync) and bouncers resynchronize when
// they restart with startup=true.
package crowdsec
