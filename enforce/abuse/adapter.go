package abuse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
	"github.com/acd-org/acd/enforce/ledger"
)

// ErrUnsupported is returned by Apply for an action the reporter cannot
// carry out faithfully: another type than abuse-report, or a domain
// target.
var ErrUnsupported = fmt.Errorf("abuse: %w", enforce.ErrUnsupported)

// Deps are the reporter's dependencies.
type Deps struct {
	// Logger receives one line per report sent or skipped; required.
	Logger *slog.Logger
	// Dossiers provides each case's evidence; required.
	Dossiers enforce.DossierSource
	// Now is the clock (time.Now when nil): the Date: header and the
	// ledger's sent_at.
	Now func() time.Time
	// MessageID returns the Message-ID (with angle brackets) of the
	// report of action idx of case c to rcpt. Nil derives it from them
	// and the From domain, so that a report sent again after a crash
	// carries the same id.
	MessageID func(c cases.Case, idx int, rcpt string) string
}

// Reporter is the enforce.Adapter for abuse-report actions: Apply sends
// one report to the target network's abuse contact; Withdraw does
// nothing (a report cannot be unsent). Use New, then Start. It is safe
// for concurrent use (reports are sent one at a time).
type Reporter struct {
	cfg  Config
	deps Deps
	from *mail.Address

	ledger ledger.Ledger
	// sending serializes Apply: one report at a time, so that the
	// ledger check and the send of one item cannot interleave.
	sending sync.Mutex

	mu       sync.Mutex // guards the fields below, set by Start
	started  bool
	contacts *Contacts
	smtp     *smtpSender
}

var _ enforce.Adapter = (*Reporter)(nil)

// New returns a reporter for a valid cfg. It does no I/O.
func New(cfg Config, deps Deps) (*Reporter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil || deps.Dossiers == nil {
		return nil, errors.New("abuse: a reporter needs a logger and a dossier source")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	from, _ := mail.ParseAddress(cfg.From)
	if cfg.Contact == "" {
		cfg.Contact = from.Address
	}
	if cfg.Organization == "" {
		cfg.Organization = "acd"
	}
	return &Reporter{cfg: cfg, deps: deps, from: from, ledger: ledger.Ledger{Dir: cfg.StateDir, Prefix: "abuse"}}, nil
}

// Start reads the contacts (list, then file), creates the state
// directory and reads the relay's CA file. Reports are refused before.
func (r *Reporter) Start(ctx context.Context) error {
	t := NewContacts()
	for _, c := range r.cfg.Contacts {
		if _, err := t.Add(c.Prefix, c.Email); err != nil {
			return fmt.Errorf("abuse: contacts: %w", err)
		}
	}
	if r.cfg.ContactsFile != "" {
		f, err := os.Open(r.cfg.ContactsFile)
		if err != nil {
			return fmt.Errorf("abuse: unable to read contacts_file: %w", err)
		}
		added, dups, err := ReadContacts(t, f)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("abuse: %s: %w", r.cfg.ContactsFile, err)
		}
		r.deps.Logger.Info("abuse contacts loaded", "file", r.cfg.ContactsFile, "added", added, "duplicates", dups)
	}
	if err := os.MkdirAll(r.cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("abuse: unable to create state_dir: %w", err)
	}
	var s *smtpSender
	if r.cfg.SMTP != nil {
		roots, err := loadRoots(r.cfg.SMTP.CAFile)
		if err != nil {
			return fmt.Errorf("abuse: %w", err)
		}
		s = &smtpSender{cfg: *r.cfg.SMTP, from: r.cfg.SMTP.From, roots: roots}
		if s.from == "" {
			s.from = r.from.Address
		} else if a, err := mail.ParseAddress(s.from); err == nil {
			s.from = a.Address
		}
	} else if err := os.MkdirAll(r.cfg.Dir, 0o750); err != nil {
		return fmt.Errorf("abuse: unable to create dir: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.contacts, r.smtp, r.started = t, s, true
	return nil
}

// Name names the adapter for the audit log.
func (r *Reporter) Name() string { return "abuse-report" }

// Withdraw does nothing and returns nil: a report sent cannot be
// unsent (the case's history records the withdrawal).
func (r *Reporter) Withdraw(context.Context, cases.Case, cases.Action) error { return nil }

// Recipient returns who the report about target goes to: scope
// recipient if set, else the contact of the longest configured prefix
// covering target. An error names the target when there is none.
func (r *Reporter) Recipient(a cases.Action) (string, error) {
	if a.Scope.Recipient != "" {
		addr, err := mail.ParseAddress(a.Scope.Recipient)
		if err != nil {
			return "", fmt.Errorf("scope.recipient %q is not an e-mail address", a.Scope.Recipient)
		}
		return addr.Address, nil
	}
	r.mu.Lock()
	t := r.contacts
	r.mu.Unlock()
	if t == nil {
		return "", errors.New("abuse: the reporter is not started")
	}
	e, _, ok := t.Lookup(a.Target.Prefix())
	if !ok {
		return "", fmt.Errorf("no abuse contact known for %s (add one to contacts or contacts_file, or set scope.recipient)", a.Target)
	}
	return e, nil
}

// Apply sends the report of action a of case c once: if the ledger
// holds it (sent before a crash, or applied twice) nothing is sent. The
// report is recorded in the ledger only after the relay accepted it (or
// the .eml file was written); a crash between the two sends it again.
func (r *Reporter) Apply(ctx context.Context, c cases.Case, a cases.Action) error {
	if a.Type != cases.ActionAbuseReport {
		return fmt.Errorf("%w: %s (only abuse-report) in case %s", ErrUnsupported, a.Type, c.ID)
	}
	if k := a.Target.Kind(); k != cases.KindAddress && k != cases.KindPrefix {
		return fmt.Errorf("%w: target %s of case %s is not an address or a prefix", ErrUnsupported, a.Target, c.ID)
	}
	if !ledger.SafeID(c.ID) {
		return fmt.Errorf("abuse: case id %q has characters other than letters, digits, '-', '_' and '.'", c.ID)
	}
	idx, err := ledger.ActionIndex(c, a)
	if err != nil {
		return fmt.Errorf("abuse: %w", err)
	}
	r.sending.Lock()
	defer r.sending.Unlock()
	r.mu.Lock()
	started, sender := r.started, r.smtp
	r.mu.Unlock()
	if !started {
		return errors.New("abuse: the reporter is not started")
	}
	item := enforce.ItemKey(c.ID, idx)
	if done, err := r.ledger.Has(c.ID, c.Version, idx); err != nil || done {
		if done {
			r.deps.Logger.Info("abuse report already sent", "item", item, "version", c.Version)
		}
		return err
	}
	rep, err := r.compose(ctx, c, a, idx)
	if err != nil {
		return fmt.Errorf("abuse: %s: %w", item, err)
	}
	msg, err := rep.Build()
	if err != nil {
		return fmt.Errorf("abuse: %s: %w", item, err)
	}
	via, err := r.deliver(ctx, sender, rep, idx, c, msg)
	if err != nil {
		return fmt.Errorf("abuse: %s: unable to send the report to %s: %w", item, rep.To, err)
	}
	sum := sha256.Sum256(msg)
	e := entry{Case: c.ID, Version: c.Version, Action: idx, Target: a.Target.String(), Recipient: rep.To,
		MessageID: rep.MessageID, SHA256: hex.EncodeToString(sum[:]), SentAt: fmtTime(r.deps.Now()), Via: via}
	if err := r.ledger.Record(e.Case, e.Version, e.Action, e); err != nil {
		return fmt.Errorf("abuse: %s: report sent to %s but not recorded (it may be sent again): %w", item, rep.To, err)
	}
	r.deps.Logger.Info("abuse report sent", "item", item, "version", c.Version, "target", a.Target.String(),
		"recipient", rep.To, "message_id", rep.MessageID, "via", via)
	return nil
}

// compose gathers what the report says.
func (r *Reporter) compose(ctx context.Context, c cases.Case, a cases.Action, idx int) (*report, error) {
	to, err := r.Recipient(a)
	if err != nil {
		return nil, err
	}
	d, err := r.deps.Dossiers.Dossier(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("unable to read the dossier: %w", err)
	}
	if err := cases.VerifyEvidence(d.Evidence, c.EvidenceHash); err != nil {
		return nil, fmt.Errorf("the evidence is not what the case was approved on: %w", err)
	}
	sum, err := Summarize(c, a.Target, d.Evidence)
	if err != nil {
		return nil, err
	}
	id := ""
	if r.deps.MessageID != nil {
		id = r.deps.MessageID(c, idx, to)
	} else {
		id = r.messageID(c, idx, to)
	}
	return &report{From: r.from.String(), To: (&mail.Address{Address: to}).String(),
		ReplyTo: (&mail.Address{Address: r.cfg.Contact}).String(), Org: r.cfg.Organization, MessageID: id,
		Date: r.deps.Now(), Target: a.Target, Summary: sum, Format: r.cfg.Format}, nil
}

func (r *Reporter) messageID(c cases.Case, idx int, to string) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d\x00%s", c.ID, c.Version, idx, to))
	domain := r.from.Address[strings.LastIndexByte(r.from.Address, '@')+1:]
	return fmt.Sprintf("<acd.%s.v%d.a%d.%s@%s>", c.ID, c.Version, idx, hex.EncodeToString(h[:6]), domain)
}

// deliver sends msg by SMTP or writes it into the directory.
func (r *Reporter) deliver(ctx context.Context, s *smtpSender, rep *report, idx int, c cases.Case, msg []byte) (string, error) {
	to, _ := mail.ParseAddress(rep.To)
	if s != nil {
		return "smtp " + r.cfg.SMTP.Relay, s.send(ctx, to.Address, msg)
	}
	name := fmt.Sprintf("acd-%s-v%d-a%d.eml", c.ID, c.Version, idx)
	return "dir " + name, ledger.WriteAtomic(r.cfg.Dir, name, msg)
}
