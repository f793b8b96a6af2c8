package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/intel/share"
	"github.com/acd-org/acd/intel/taxii"
)

// Partner is an allied organisation acd shares intelligence with, under
// its agreement.
type Partner struct {
	Name      string          `json:"name"`
	Agreement share.Agreement `json:"agreement"`
	// URL is the partner's TAXII server (its discovery URL's base,
	// e.g. https://taxii.partner.example/), APIRoot the API root acd
	// polls and pushes to; empty when the partner only reads acd's.
	URL     string `json:"url,omitempty"`
	APIRoot string `json:"api_root,omitempty"`
	// PushCollection is the partner's collection acd POSTs its objects
	// to ("" when the partner only pulls from acd's server).
	PushCollection string `json:"push_collection,omitempty"`
	// RemoteKey is the API key acd presents to the partner's server;
	// never shown (HasRemoteKey says whether there is one).
	RemoteKey    string    `json:"-"`
	HasRemoteKey bool      `json:"has_remote_key"`
	Created      time.Time `json:"created"`
	LastSync     time.Time `json:"last_sync,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
	RemovedAt    time.Time `json:"removed_at,omitzero"`
}

// ValidPartnerName checks a partner name (as a token name).
func ValidPartnerName(name string) error { return validName("partner", name) }

// partnerKeyBytes is the length of a partner's key before encoding.
const partnerKeyBytes = 32

// AddPartner stores partner p and returns the API key the partner
// presents to acd's TAXII server (X-API-Key or a bearer token), shown
// once: only its SHA-256 is kept. A removed partner's name may be reused;
// a live one's may not (ErrExists). Audited (partner.add, with the
// agreement's outgoing terms).
func (db *DB) AddPartner(ctx context.Context, p Partner) (string, error) {
	if err := ValidPartnerName(p.Name); err != nil {
		return "", err
	}
	if p.Agreement.Partner == "" {
		p.Agreement.Partner = p.Name
	}
	if p.Agreement.Partner != p.Name {
		return "", fmt.Errorf("partner %q: the agreement names %q", p.Name, p.Agreement.Partner)
	}
	if err := p.Agreement.Validate(); err != nil {
		return "", fmt.Errorf("partner %q: %w", p.Name, err)
	}
	if err := (PartnerRemote{URL: p.URL, APIRoot: p.APIRoot, PushCollection: p.PushCollection}).check(p.Name); err != nil {
		return "", err
	}
	agreement, err := json.Marshal(p.Agreement)
	if err != nil {
		return "", fmt.Errorf("partner %q: %w", p.Name, err)
	}
	raw := make([]byte, partnerKeyBytes)
	_, _ = rand.Read(raw)
	key := base64.RawURLEncoding.EncodeToString(raw)
	hash := sha256.Sum256([]byte(key))
	err = db.WriteTx(ctx, func(tx *sql.Tx) error {
		var removed sql.NullInt64
		switch err := tx.QueryRowContext(ctx, `SELECT removed_at FROM partners WHERE name = ?`, p.Name).Scan(&removed); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return db.wrap("write partner to", err)
		case !removed.Valid:
			return fmt.Errorf("partner %q: %w (remove it first)", p.Name, ErrExists)
		}
		// An outgoing collection belongs to one partner for good: what was
		// gated for one must never be readable by another (nor by a later
		// partner of the same name under other terms).
		rows, err := tx.QueryContext(ctx, `SELECT name, agreement FROM partners`)
		if err != nil {
			return db.wrap("read partners from", err)
		}
		for rows.Next() {
			var (
				other string
				doc   string
				oa    share.Agreement
			)
			if err := rows.Scan(&other, &doc); err != nil {
				_ = rows.Close()
				return db.wrap("read partners from", err)
			}
			if json.Unmarshal([]byte(doc), &oa) != nil {
				continue
			}
			for _, c := range p.Agreement.Outgoing.Collections {
				if slices.Contains(oa.Outgoing.Collections, c) {
					_ = rows.Close()
					return fmt.Errorf("partner %q: collection %s is (or was) shared with partner %q; give each partner collections of its own", p.Name, c, other)
				}
			}
		}
		if err := rows.Err(); err != nil {
			return db.wrap("read partners from", err)
		}
		_ = rows.Close()
		if removed.Valid { // a removed partner of that name, on other collections: replaced
			if _, err := tx.ExecContext(ctx, `DELETE FROM partners WHERE name = ?`, p.Name); err != nil {
				return db.wrap("write partner to", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO partners (name, agreement, url, api_root, remote_key, key_hash, created, push_collection)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, p.Name, string(agreement), p.URL, p.APIRoot, p.RemoteKey, hash[:], db.now().UnixMilli(), p.PushCollection); err != nil {
			return db.wrap("write partner to", err)
		}
		_, err = db.AuditTx(ctx, tx, audit.Entry{Action: "partner.add", Object: "partner:" + p.Name,
			Data: audit.Data("max_tlp", p.Agreement.Outgoing.MaxTLP.String(), "outgoing", p.Agreement.Outgoing.Collections,
				"incoming", p.Agreement.Incoming.Collections, "url", redactURL(p.URL))})
		return err
	})
	if err != nil {
		return "", err
	}
	db.log.Info("partner added", "name", p.Name)
	return key, nil
}

// PartnerRemote is the partner's side of the exchange: its TAXII server,
// the API root acd polls and pushes to, the collection acd POSTs to, and
// the key acd presents there.
type PartnerRemote struct {
	URL, APIRoot, PushCollection, RemoteKey string
}

// check validates r as AddPartner does.
func (r PartnerRemote) check(name string) error {
	if r.PushCollection != "" && r.URL == "" {
		return fmt.Errorf("partner %q: a push collection needs the partner's url", name)
	}
	if r.URL != "" {
		if u, err := url.Parse(r.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("partner %q: url %q is not an http(s) URL", name, r.URL)
		}
	}
	return nil
}

// UpdatePartnerRemote replaces the remote side of the live partner name
// — typically once the partner has added acd in turn and handed over the
// key acd is to present (two allies each add the other first, then each
// updates the other with the key it received). The agreement, the key the
// partner presents to acd and the partner's history stay. ErrNotFound
// when there is no such live partner. Audited (partner.update, without
// the key).
func (db *DB) UpdatePartnerRemote(ctx context.Context, name string, r PartnerRemote) error {
	if err := r.check(name); err != nil {
		return err
	}
	err := db.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE partners SET url = ?, api_root = ?, push_collection = ?, remote_key = ?, last_error = ''
			WHERE name = ? AND removed_at IS NULL`, r.URL, r.APIRoot, r.PushCollection, r.RemoteKey, name)
		if err != nil {
			return db.wrap("write partner to", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("partner %q: %w", name, ErrNotFound)
		}
		_, err = db.AuditTx(ctx, tx, audit.Entry{Action: "partner.update", Object: "partner:" + name,
			Data: audit.Data("url", redactURL(r.URL), "api_root", r.APIRoot, "push_collection", r.PushCollection, "remote_key", r.RemoteKey != "")})
		return err
	})
	if err != nil {
		return err
	}
	db.log.Info("partner updated", "name", name, "url", redactURL(r.URL))
	return nil
}

// redactURL is s without its user info (it may hold a credential), for
// logs and the audit log.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = url.User("redacted")
	return u.String()
}

// RemovePartner stops sharing with partner name: its key is refused and
// nothing more is published for it or polled from it (ErrNotFound when
// there is none). Audited (partner.remove).
func (db *DB) RemovePartner(ctx context.Context, name string) error {
	return db.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE partners SET removed_at = ? WHERE name = ? AND removed_at IS NULL`, db.now().UnixMilli(), name)
		if err != nil {
			return db.wrap("write partner to", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("partner %q: %w", name, ErrNotFound)
		}
		_, err = db.AuditTx(ctx, tx, audit.Entry{Action: "partner.remove", Object: "partner:" + name})
		return err
	})
}

// Partners returns the partners, by name; removed ones too when all.
func (db *DB) Partners(ctx context.Context, all bool) ([]Partner, error) {
	q := `SELECT name, agreement, url, api_root, remote_key, created, coalesce(last_sync, 0), last_error, coalesce(removed_at, 0), push_collection FROM partners`
	if !all {
		q += ` WHERE removed_at IS NULL`
	}
	rows, err := db.r.QueryContext(ctx, q+` ORDER BY name`)
	if err != nil {
		return nil, db.wrap("read partners from", err)
	}
	defer func() { _ = rows.Close() }()
	var out []Partner
	for rows.Next() {
		var (
			p                        Partner
			agreement                string
			created, synced, removed int64
		)
		if err := rows.Scan(&p.Name, &agreement, &p.URL, &p.APIRoot, &p.RemoteKey, &created, &synced, &p.LastError, &removed, &p.PushCollection); err != nil {
			return nil, db.wrap("read partners from", err)
		}
		if err := json.Unmarshal([]byte(agreement), &p.Agreement); err != nil {
			return nil, fmt.Errorf("store: partner %s: the stored agreement does not decode: %w", p.Name, err)
		}
		p.HasRemoteKey = p.RemoteKey != ""
		p.Created, p.LastSync, p.RemovedAt = fromMS(created), fromMS(synced), fromMS(removed)
		out = append(out, p)
	}
	return out, db.wrap("read partners from", rows.Err())
}

// PartnerSynced records a partner's sync: when, and its error ("" when
// it went well).
func (db *DB) PartnerSynced(ctx context.Context, name string, at time.Time, syncErr error) error {
	msg := ""
	if syncErr != nil {
		msg = syncErr.Error()
	}
	_, err := db.w.ExecContext(ctx, `UPDATE partners SET last_sync = ?, last_error = ? WHERE name = ?`, at.UnixMilli(), msg, name)
	return db.wrap("write partner to", err)
}

// TAXIIAuth authenticates partners at acd's TAXII server by the key
// AddPartner gave them (X-API-Key, or Authorization: Bearer), comparing
// hashes in constant time; removed partners are refused.
func (db *DB) TAXIIAuth() taxii.Authenticator { return partnerAuth{db} }

type partnerAuth struct{ db *DB }

func (a partnerAuth) Authenticate(r *http.Request) (taxii.Principal, error) {
	key := r.Header.Get("X-API-Key")
	if key == "" {
		b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return taxii.Principal{}, taxii.ErrNoCredentials
		}
		key = b
	}
	hash := sha256.Sum256([]byte(key))
	name, _, found, err := a.db.matchHash(r.Context(), "partners", `SELECT name, key_hash, 0 FROM partners WHERE removed_at IS NULL`, hash[:])
	if err != nil {
		return taxii.Principal{}, err
	}
	if !found {
		return taxii.Principal{}, taxii.ErrBadCredentials
	}
	return taxii.Principal{Name: name}, nil
}

// TAXIIPolicy decides access to acd's TAXII collections, reading the
// partners from the store on every call. A live partner reads exactly the
// collections its agreement shares with it (outgoing), whatever other
// lists say; a removed partner nothing. Other principals get what other
// grants (the configuration's read/write lists). Nobody writes into a
// collection that is (or was) a partner's outgoing collection: what is
// there passed that partner's gate, and nothing else may join it.
func (db *DB) TAXIIPolicy(other taxii.Policy) taxii.Policy { return partnerPolicy{db, other} }

type partnerPolicy struct {
	db    *DB
	other taxii.Policy
}

func (p partnerPolicy) Access(pr taxii.Principal, root, collection string) (read, write bool) {
	ps, err := p.db.Partners(context.Background(), true)
	if err != nil {
		p.db.log.Error("taxii: partners not readable: access refused", "error", err)
		return false, false
	}
	outgoing := false
	for _, x := range ps {
		outgoing = outgoing || slices.Contains(x.Agreement.Outgoing.Collections, collection)
	}
	for _, x := range ps {
		if x.Name != pr.Name {
			continue
		}
		if !x.RemovedAt.IsZero() {
			return false, false
		}
		return slices.Contains(x.Agreement.Outgoing.Collections, collection), false
	}
	if p.other == nil {
		return false, false
	}
	read, write = p.other.Access(pr, root, collection)
	return read, write && !outgoing
}

// TAXIIBasicAuth authenticates partners at acd's TAXII server with HTTP
// Basic as acd users holding the partner role (acd user add NAME --role
// partner): the user name is the partner's name. Each check costs a
// password hash; partners polling often should use their key.
func (db *DB) TAXIIBasicAuth() taxii.Authenticator { return partnerBasic{db} }

type partnerBasic struct{ db *DB }

func (a partnerBasic) Authenticate(r *http.Request) (taxii.Principal, error) {
	name, password, ok := r.BasicAuth()
	if !ok {
		return taxii.Principal{}, taxii.ErrNoCredentials
	}
	p, err := a.db.AuthenticateUser(r.Context(), name, password)
	if err != nil {
		if errors.Is(err, ErrUnauthenticated) || errors.Is(err, ErrPasswordChange) {
			return taxii.Principal{}, taxii.ErrBadCredentials
		}
		return taxii.Principal{}, err
	}
	if !p.HasRole(RolePartner) {
		return taxii.Principal{}, taxii.ErrBadCredentials
	}
	return taxii.Principal{Name: p.Name}, nil
}
