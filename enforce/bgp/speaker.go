package bgp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
	"github.com/osrg/gobgp/v3/pkg/server"

	"github.com/acd-org/acd/enforce"
)

// Deps are the Speaker's dependencies.
type Deps struct {
	// Logger receives the speaker's and GoBGP's logs; nil discards them.
	Logger *slog.Logger
}

// Speaker is the enforce.Syncer for flowspec and rtbh actions: an
// embedded GoBGP speaker announcing one path per desired route to the
// configured neighbors. Use New, then Start; Stop closes the sessions.
// It is safe for concurrent use.
//
// Lifecycle: New (no I/O) → Start (the speaker runs, sessions come up
// in the background) → Stop (sessions closed with a CEASE
// notification). Apply, Withdraw and Sync before Start or after Stop
// return ErrNotRunning. One Speaker runs per process at a time (GoBGP
// keeps process-wide state); Start refuses a second.
type Speaker struct {
	cfg Config
	log *slog.Logger
	b   builder

	// mu guards srv, cancel, owners and items; it is held across calls
	// to the GoBGP server so that the RIB follows owners in order.
	mu     sync.Mutex
	srv    *server.BgpServer           // nil unless running
	cancel context.CancelFunc          // stops the peer watcher
	owners map[string]map[string]route // route key → item key → the route that item wants
	items  map[string]string           // item key → route key

	// pmu guards peers and resets (written by the watcher goroutine).
	pmu    sync.Mutex
	peers  map[string]*peerStat // neighbor address → session history
	resets int                  // session resets since the last Sync
}

// peerStat is what the watcher learnt about one neighbor's session.
type peerStat struct {
	established bool
	resets      int
}

// running is set while a Speaker of this process runs: GoBGP's StartBgp
// writes package-level route selection options that every BGP server
// of the process reads, so two cannot run at once.
var running atomic.Bool

// ErrNotRunning is returned by Apply, Withdraw and Sync when the speaker
// is not started.
var ErrNotRunning = errors.New("bgp: the speaker is not running")

// New returns a speaker for cfg (validated here); it does no I/O.
func New(cfg Config, deps Deps) (*Speaker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	b, err := newBuilder(cfg)
	if err != nil {
		return nil, fmt.Errorf("bgp: %w", err)
	}
	l := deps.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &Speaker{cfg: cfg, log: l, b: b, owners: map[string]map[string]route{}, items: map[string]string{},
		peers: map[string]*peerStat{}}, nil
}

// Name names the adapter for the audit log.
func (s *Speaker) Name() string { return "bgp" }

// Start runs the speaker: the BGP instance (no gRPC listener; a TCP
// listener only with listen_port), an import policy rejecting every
// route the neighbors send (acd announces, it learns nothing), the
// neighbors, and a watcher counting session resets. The routes held in
// memory (from Apply or Sync before a Stop) are announced again.
func (s *Speaker) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("bgp: the speaker is already running")
	}
	if !running.CompareAndSwap(false, true) {
		return errors.New("bgp: another speaker runs in this process (GoBGP keeps process-wide state: one at a time)")
	}
	if err := s.start(ctx); err != nil {
		running.Store(false)
		return err
	}
	return nil
}

func (s *Speaker) start(ctx context.Context) error {
	srv := server.NewBgpServer(server.LoggerOption(&slogLogger{l: s.log.With("component", "gobgp")}))
	go srv.Serve()
	if err := s.startBGP(ctx, srv); err != nil {
		srv.Stop()
		return err
	}
	wctx, cancel := context.WithCancel(context.Background())
	if err := srv.WatchEvent(wctx, &api.WatchEventRequest{Peer: &api.WatchEventRequest_Peer{}}, s.onPeerEvent); err != nil {
		cancel()
		srv.Stop()
		return fmt.Errorf("bgp: unable to watch the sessions: %w", err)
	}
	for _, n := range s.cfg.Neighbors {
		if err := srv.AddPeer(ctx, &api.AddPeerRequest{Peer: s.peerConf(n)}); err != nil {
			cancel()
			srv.Stop()
			return fmt.Errorf("bgp: unable to add neighbor %s: %w", n.Address, err)
		}
		s.pmu.Lock()
		if s.peers[n.Address.String()] == nil {
			s.peers[n.Address.String()] = &peerStat{}
		}
		s.pmu.Unlock()
	}
	s.srv, s.cancel = srv, cancel
	for _, k := range sortedKeys(s.owners) {
		if err := s.announce(ctx, effective(s.owners[k])); err != nil {
			s.log.Warn("unable to announce a route again", "route", effective(s.owners[k]).String(), "error", err)
		}
	}
	s.log.Info("bgp speaker started", "asn", s.cfg.ASN, "router_id", s.cfg.RouterID, "neighbors", len(s.cfg.Neighbors))
	return nil
}

func (s *Speaker) startBGP(ctx context.Context, srv *server.BgpServer) error {
	g := &api.Global{Asn: s.cfg.ASN, RouterId: s.cfg.RouterID.String(), ListenPort: -1}
	if s.cfg.ListenPort != 0 {
		g.ListenPort, g.ListenAddresses = int32(s.cfg.ListenPort), []string{s.cfg.ListenAddress.String()}
	}
	if err := srv.StartBgp(ctx, &api.StartBgpRequest{Global: g}); err != nil {
		return fmt.Errorf("bgp: unable to start the speaker: %w", err)
	}
	if err := setImportPolicy(ctx, srv, s.cfg.ASN); err != nil {
		return fmt.Errorf("bgp: unable to set the import policy: %w", err)
	}
	return nil
}

// setImportPolicy lets into the global RIB only the paths carrying acd's
// marker (GoBGP applies the global import policy to local paths too):
// whatever the neighbors send is rejected, so acd never passes routes
// between them.
func setImportPolicy(ctx context.Context, srv *server.BgpServer, asn uint32) error {
	set := &api.DefinedSet{DefinedType: api.DefinedType_LARGE_COMMUNITY, Name: "acd-marker",
		List: []string{fmt.Sprintf("^%d:%d:0$", asn, MarkRTBH), fmt.Sprintf("^%d:%d:0$", asn, MarkFlowSpec)}}
	if err := srv.AddDefinedSet(ctx, &api.AddDefinedSetRequest{DefinedSet: set}); err != nil {
		return err
	}
	pol := &api.Policy{Name: "acd-import", Statements: []*api.Statement{{Name: "acd-own",
		Conditions: &api.Conditions{LargeCommunitySet: &api.MatchSet{Type: api.MatchSet_ANY, Name: "acd-marker"}},
		Actions:    &api.Actions{RouteAction: api.RouteAction_ACCEPT}}}}
	if err := srv.AddPolicy(ctx, &api.AddPolicyRequest{Policy: pol, ReferExistingStatements: false}); err != nil {
		return err
	}
	return srv.SetPolicyAssignment(ctx, &api.SetPolicyAssignmentRequest{Assignment: &api.PolicyAssignment{
		Name: "global", Direction: api.PolicyDirection_IMPORT, Policies: []*api.Policy{{Name: "acd-import"}},
		DefaultAction: api.RouteAction_REJECT}})
}

func (s *Speaker) peerConf(n Neighbor) *api.Peer {
	p := &api.Peer{
		Conf:      &api.PeerConf{NeighborAddress: n.Address.String(), PeerAsn: n.ASN},
		Transport: &api.Transport{RemotePort: uint32(n.Port), PassiveMode: n.Passive},
		Timers: &api.Timers{Config: &api.TimersConfig{
			ConnectRetry: uint64(s.cfg.ConnectRetry / time.Second), IdleHoldTimeAfterReset: uint64(s.cfg.ConnectRetry / time.Second),
			HoldTime: uint64(s.cfg.HoldTime / time.Second), KeepaliveInterval: uint64(s.cfg.HoldTime / 3 / time.Second)}},
	}
	if n.LocalAddress.IsValid() {
		p.Transport.LocalAddress = n.LocalAddress.String()
	}
	for _, f := range n.Families {
		afi, safi := bgp.RouteFamilyToAfiSafi(familyRF(f))
		p.AfiSafis = append(p.AfiSafis, &api.AfiSafi{Config: &api.AfiSafiConfig{
			Family: &api.Family{Afi: api.Family_Afi(afi), Safi: api.Family_Safi(safi)}, Enabled: true}})
	}
	return p
}

func familyRF(f Family) bgp.RouteFamily {
	switch f {
	case FlowSpec4:
		return bgp.RF_FS_IPv4_UC
	case FlowSpec6:
		return bgp.RF_FS_IPv6_UC
	case Unicast4:
		return bgp.RF_IPv4_UC
	}
	return bgp.RF_IPv6_UC
}

// onPeerEvent counts the resets: an established session that leaves
// the established state. GoBGP announces the routes again when the
// session comes back.
func (s *Speaker) onPeerEvent(r *api.WatchEventResponse) {
	ev := r.GetPeer()
	if ev == nil || ev.Type != api.WatchEventResponse_PeerEvent_STATE || ev.Peer.GetState() == nil {
		return
	}
	addr, up := ev.Peer.State.NeighborAddress, ev.Peer.State.SessionState == api.PeerState_ESTABLISHED
	s.pmu.Lock()
	defer s.pmu.Unlock()
	ps := s.peers[addr]
	if ps == nil {
		return
	}
	switch {
	case up && !ps.established:
		s.log.Info("bgp session established", "neighbor", addr)
	case !up && ps.established:
		ps.resets++
		s.resets++
		s.log.Warn("bgp session reset", "neighbor", addr, "state", ev.Peer.State.SessionState.String(), "resets", ps.resets)
	}
	ps.established = up
}

// Stop closes the sessions (CEASE, peer de-configured) and stops the
// speaker. The desired routes stay in memory: a later Start announces
// them again. GoBGP's event loop goroutine does not end (GoBGP v3 has no
// way to stop it); it idles.
func (s *Speaker) Stop() {
	s.mu.Lock()
	srv, cancel := s.srv, s.cancel
	s.srv, s.cancel = nil, nil
	s.mu.Unlock()
	s.pmu.Lock()
	for _, ps := range s.peers {
		ps.established = false
	}
	s.pmu.Unlock()
	if srv == nil {
		return
	}
	cancel()
	srv.Stop()
	running.Store(false)
	s.log.Info("bgp speaker stopped")
}

// NeighborStatus is one neighbor's session as Status reports it.
type NeighborStatus struct {
	Address     netip.Addr `json:"address"`
	ASN         uint32     `json:"asn"`
	State       string     `json:"state"` // idle, connect, active, opensent, openconfirm, established
	Established bool       `json:"established"`
	// Since is when the session was established (zero when it is not).
	Since time.Time `json:"since,omitzero"`
	// Sent is the number of routes advertised to the neighbor, by family.
	Sent map[Family]uint64 `json:"sent,omitempty"`
	// Resets counts established sessions lost since Start.
	Resets int `json:"resets"`
}

// Status is the speaker's state for the operator.
type Status struct {
	Running   bool             `json:"running"`
	Routes    int              `json:"routes"` // routes announced
	Neighbors []NeighborStatus `json:"neighbors"`
}

// Status returns each neighbor's session state, uptime, routes sent and
// resets.
func (s *Speaker) Status(ctx context.Context) (Status, error) {
	s.mu.Lock()
	srv := s.srv
	st := Status{Running: srv != nil, Routes: len(s.owners)}
	s.mu.Unlock()
	s.pmu.Lock()
	resets := map[string]int{}
	for a, ps := range s.peers {
		resets[a] = ps.resets
	}
	s.pmu.Unlock()
	if srv == nil {
		return st, nil
	}
	err := srv.ListPeer(ctx, &api.ListPeerRequest{EnableAdvertised: true}, func(p *api.Peer) {
		st.Neighbors = append(st.Neighbors, neighborStatus(p, resets))
	})
	if err != nil {
		return st, fmt.Errorf("bgp: unable to list the neighbors: %w", err)
	}
	slices.SortFunc(st.Neighbors, func(a, b NeighborStatus) int { return a.Address.Compare(b.Address) })
	return st, nil
}

func neighborStatus(p *api.Peer, resets map[string]int) NeighborStatus {
	addr, _ := netip.ParseAddr(p.GetConf().GetNeighborAddress())
	ns := NeighborStatus{Address: addr, ASN: p.GetConf().GetPeerAsn(), Resets: resets[addr.String()], Sent: map[Family]uint64{}}
	state := p.GetState().GetSessionState()
	ns.State = map[api.PeerState_SessionState]string{
		api.PeerState_IDLE: "idle", api.PeerState_CONNECT: "connect", api.PeerState_ACTIVE: "active",
		api.PeerState_OPENSENT: "opensent", api.PeerState_OPENCONFIRM: "openconfirm", api.PeerState_ESTABLISHED: "established",
	}[state]
	ns.Established = state == api.PeerState_ESTABLISHED
	if up := p.GetTimers().GetState().GetUptime(); ns.Established && up != nil {
		ns.Since = up.AsTime()
	}
	for _, af := range p.GetAfiSafis() {
		fam := af.GetState().GetFamily()
		if fam == nil {
			continue
		}
		rf := bgp.AfiSafiToRouteFamily(uint16(fam.Afi), uint8(fam.Safi))
		for _, f := range Families() {
			if familyRF(f) == rf {
				ns.Sent[f] = af.GetState().GetAdvertised()
			}
		}
	}
	return ns
}

// slogLogger hands GoBGP's logs to slog, at slog's level.
type slogLogger struct{ l *slog.Logger }

func (g *slogLogger) log(lv slog.Level, msg string, f gobgplog.Fields) {
	if !g.l.Enabled(context.Background(), lv) {
		return
	}
	args := make([]any, 0, 2*len(f))
	for _, k := range slices.Sorted(mapsKeys(f)) {
		args = append(args, k, f[k])
	}
	g.l.Log(context.Background(), lv, msg, args...)
}

func mapsKeys(f gobgplog.Fields) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range f {
			if !yield(k) {
				return
			}
		}
	}
}

func (g *slogLogger) Panic(msg string, f gobgplog.Fields) {
	g.log(slog.LevelError, msg, f)
	panic(msg)
}

// Fatal is logged as an error: the speaker must not end the process.
func (g *slogLogger) Fatal(msg string, f gobgplog.Fields) { g.log(slog.LevelError, msg, f) }
func (g *slogLogger) Error(msg string, f gobgplog.Fields) { g.log(slog.LevelError, msg, f) }
func (g *slogLogger) Warn(msg string, f gobgplog.Fields)  { g.log(slog.LevelWarn, msg, f) }
func (g *slogLogger) Info(msg string, f gobgplog.Fields)  { g.log(slog.LevelInfo, msg, f) }
func (g *slogLogger) Debug(msg string, f gobgplog.Fields) { g.log(slog.LevelDebug, msg, f) }
func (g *slogLogger) SetLevel(gobgplog.LogLevel)          {}
func (g *slogLogger) GetLevel() gobgplog.LogLevel {
	if g.l.Enabled(context.Background(), slog.LevelDebug) {
		return gobgplog.DebugLevel
	}
	return gobgplog.InfoLevel
}

var _ enforce.Syncer = (*Speaker)(nil)
