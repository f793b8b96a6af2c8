package police

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
	"github.com/acd-org/acd/enforce/ledger"
)

// Refusals of Apply.
var (
	// ErrUnsupported: the action is not a police request.
	ErrUnsupported = fmt.Errorf("police: %w", enforce.ErrUnsupported)
	// ErrUnknownChannel: scope.recipient names no configured channel.
	ErrUnknownChannel = errors.New("police: unknown channel")
)

// Deps are the sender's dependencies.
type Deps struct {
	// Logger receives one line per package handed over; required.
	Logger *slog.Logger
	// Dossiers provides each case's dossier; required.
	Dossiers enforce.DossierSource
	// Key is acd's server key, which signs packages, and KeyID its id
	// (the recipient's name for the public key); both required.
	Key   ed25519.PrivateKey
	KeyID string
	// Now is the clock (time.Now when nil): the package's created time.
	Now func() time.Time
}

// Sender is the enforce.Adapter for police-request actions: Apply writes
// the case's signed evidence package into the channel's directory once;
// Withdraw does nothing. Use New, then Start. It is safe for concurrent
// use (packages are written one at a time).
type Sender struct {
	cfg      Config
	deps     Deps
	channels map[string]string // name → dir
	ledger   ledger.Ledger

	mu      sync.Mutex // serializes Apply and guards started
	started bool
}

var _ enforce.Adapter = (*Sender)(nil)

// New returns a sender for a valid cfg. It does no I/O.
func New(cfg Config, deps Deps) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil || deps.Dossiers == nil {
		return nil, errors.New("police: a sender needs a logger and a dossier source")
	}
	if len(deps.Key) != ed25519.PrivateKeySize || deps.KeyID == "" {
		return nil, errors.New("police: a sender needs acd's Ed25519 server key and its id")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if cfg.AuditExcerpt == 0 {
		cfg.AuditExcerpt = DefaultAuditExcerpt
	}
	if cfg.Organization == "" {
		cfg.Organization = "acd"
	}
	s := &Sender{cfg: cfg, deps: deps, channels: map[string]string{}, ledger: ledger.Ledger{Dir: cfg.StateDir, Prefix: "police"}}
	for _, ch := range cfg.Channels {
		s.channels[ch.Name] = ch.Dir
	}
	return s, nil
}

// Start creates the state directory and checks that every channel's
// directory exists (it is not created: a missing drop box is an error,
// not an empty one).
func (s *Sender) Start(context.Context) error {
	for _, ch := range s.cfg.Channels {
		fi, err := os.Stat(ch.Dir)
		if err != nil {
			return fmt.Errorf("police: channel %s: %w", ch.Name, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("police: channel %s: %s is not a directory", ch.Name, ch.Dir)
		}
	}
	if s.cfg.StateDir != "" {
		if err := os.MkdirAll(s.cfg.StateDir, 0o700); err != nil {
			return fmt.Errorf("police: unable to create state_dir: %w", err)
		}
	}
	s.mu.Lock()
	s.started = true
	s.mu.Unlock()
	return nil
}

// Name names the adapter for the audit log.
func (s *Sender) Name() string { return "police-request" }

// Withdraw does nothing and returns nil: a package handed over cannot be
// taken back.
func (s *Sender) Withdraw(context.Context, cases.Case, cases.Action) error { return nil }

// Apply writes the evidence package of action a of case c into the
// directory of the channel scope.recipient names, once: an item in the
// ledger, or whose file is already in the channel's directory, is not
// written again.
func (s *Sender) Apply(ctx context.Context, c cases.Case, a cases.Action) error {
	if a.Type != cases.ActionPoliceRequest {
		return fmt.Errorf("%w: %s (only police-request) in case %s", ErrUnsupported, a.Type, c.ID)
	}
	dir, ok := s.channels[a.Scope.Recipient]
	if !ok {
		return fmt.Errorf("%w: %q (case %s): only configured channels receive packages", ErrUnknownChannel, a.Scope.Recipient, c.ID)
	}
	if !ledger.SafeID(c.ID) {
		return fmt.Errorf("police: case id %q has characters other than letters, digits, '-', '_' and '.'", c.ID)
	}
	idx, err := ledger.ActionIndex(c, a)
	if err != nil {
		return fmt.Errorf("police: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return errors.New("police: the sender is not started")
	}
	item := enforce.ItemKey(c.ID, idx)
	if done, err := s.ledger.Has(c.ID, c.Version, idx); err != nil || done {
		if done {
			s.deps.Logger.Info("evidence package already handed over", "item", item, "version", c.Version)
		}
		return err
	}
	name := fmt.Sprintf("acd-%s-v%d-a%d.json", c.ID, c.Version, idx)
	pkg, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		pkg, err = s.write(ctx, c, a, idx, dir, name)
	}
	if err != nil {
		return fmt.Errorf("police: %s: %w", item, err)
	}
	sum := sha256.Sum256(pkg)
	e := entry{Case: c.ID, Version: c.Version, Action: idx, Channel: a.Scope.Recipient, File: name,
		SHA256: hex.EncodeToString(sum[:]), HandedAt: s.deps.Now().UTC().Format(time.RFC3339Nano)}
	if err := s.ledger.Record(e.Case, e.Version, e.Action, e); err != nil {
		return fmt.Errorf("police: %s: package written but not recorded: %w", item, err)
	}
	s.deps.Logger.Info("evidence package handed over", "item", item, "version", c.Version, "channel", a.Scope.Recipient,
		"file", name, "sha256", e.SHA256)
	return nil
}

// write builds the package and writes it atomically into dir.
func (s *Sender) write(ctx context.Context, c cases.Case, a cases.Action, idx int, dir, name string) ([]byte, error) {
	d, err := s.deps.Dossiers.Dossier(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("unable to read the dossier: %w", err)
	}
	if err := cases.VerifyEvidence(d.Evidence, c.EvidenceHash); err != nil {
		return nil, fmt.Errorf("the evidence is not what the case was approved on: %w", err)
	}
	var appr []cases.Approval
	for _, ap := range d.Approvals {
		if ap.Case == c.ID && ap.Version == c.Version {
			appr = append(appr, ap)
		}
	}
	entries := d.Audit
	if n := s.cfg.AuditExcerpt; len(entries) > n {
		entries = entries[len(entries)-n:]
	}
	if err := VerifyExcerpt(entries); err != nil {
		return nil, fmt.Errorf("the audit excerpt does not verify: %w", err)
	}
	p := Package{Case: c, Approvals: appr, Evidence: d.Evidence, Audit: entries,
		Manifest: Manifest{Action: idx, ActionType: string(a.Type), Target: a.Target.String(), Channel: a.Scope.Recipient,
			Created: s.deps.Now().UTC().Format(time.RFC3339Nano), KeyID: s.deps.KeyID}}
	pkg, err := Build(p, s.cfg.Organization, s.deps.Key)
	if err != nil {
		return nil, err
	}
	if err := ledger.WriteAtomic(dir, name, pkg); err != nil {
		return nil, err
	}
	return pkg, nil
}
