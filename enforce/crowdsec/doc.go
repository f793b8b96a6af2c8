// Package crowdsec lets the CrowdSec bouncer ecosystem (firewall, nginx,
// Cloudflare, … bouncers) enforce acd's block actions. acd plays the
// part of a CrowdSec Local API (LAPI) toward the bouncers: Decisions is
// the enforce.Adapter that keeps the desired decisions, one per (case,
// action), and Server is the http.Handler serving the endpoints bouncers
// poll:
//
//	GET|HEAD /v1/decisions/stream?startup=true|false
//	GET      /v1/decisions?ip=…|range=…|scope=…&value=…
//
// Bouncers authenticate with the X-Api-Key header against Keys. Each
// bouncer has its own cursor: startup=true returns every active
// decision; later pulls return what was added since that bouncer's last
// pull in "new" and what was withdrawn or has expired in "deleted" (with
// the same id, scope and value it was announced with).
//
// The state is in memory: after a restart acd re-applies the active
// actions (the reconciler's job) and bouncers resynchronize when they
// restart with startup=true.
package crowdsec
