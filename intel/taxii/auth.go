package taxii

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Principal is an authenticated caller.
type Principal struct {
	Name string
}

// Authentication errors; the handler answers both with 401.
var (
	// ErrNoCredentials: the request carries no credentials this
	// Authenticator understands.
	ErrNoCredentials = errors.New("taxii: no credentials")
	// ErrBadCredentials: the request carries wrong credentials.
	ErrBadCredentials = errors.New("taxii: bad credentials")
)

// Authenticator identifies the caller of a request. It returns
// ErrNoCredentials when the request carries none it knows, and
// ErrBadCredentials when they are wrong.
type Authenticator interface {
	Authenticate(r *http.Request) (Principal, error)
}

// Authenticators tries each Authenticator in turn: the first that
// recognizes credentials decides.
type Authenticators []Authenticator

// Authenticate implements Authenticator.
func (as Authenticators) Authenticate(r *http.Request) (Principal, error) {
	for _, a := range as {
		p, err := a.Authenticate(r)
		if errors.Is(err, ErrNoCredentials) {
			continue
		}
		return p, err
	}
	return Principal{}, ErrNoCredentials
}

// BasicAuth authenticates HTTP Basic credentials against bcrypt hashes
// of passwords, by user name (the principal's name).
type BasicAuth map[string]string

// Authenticate implements Authenticator.
func (b BasicAuth) Authenticate(r *http.Request) (Principal, error) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return Principal{}, ErrNoCredentials
	}
	hash, ok := b[user]
	if !ok {
		// Spend the same time as for a known user.
		_ = bcrypt.CompareHashAndPassword([]byte(dummyHash), []byte(pass))
		return Principal{}, ErrBadCredentials
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(pass)) != nil {
		return Principal{}, ErrBadCredentials
	}
	return Principal{Name: user}, nil
}

// dummyHash is a bcrypt hash (cost 10) of a random password.
const dummyHash = "$2a$10$aMdSstnmCU/8LdWCTnmYoeKDgMcdiKy.gwDfi3CF1P4lEq6E6h/cK"

// APIKeys authenticates an API key sent in a header (default
// "X-API-Key"; "Authorization: Bearer <key>" is also read). Keys maps
// the hex SHA-256 of each key to a principal name, so that the
// configuration holds no key in clear.
type APIKeys struct {
	Header string            // default "X-API-Key"
	Keys   map[string]string // hex SHA-256 of key → principal
}

// Authenticate implements Authenticator.
func (k APIKeys) Authenticate(r *http.Request) (Principal, error) {
	h := k.Header
	if h == "" {
		h = "X-API-Key"
	}
	key := r.Header.Get(h)
	if key == "" {
		bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return Principal{}, ErrNoCredentials
		}
		key = bearer
	}
	sum := sha256.Sum256([]byte(key))
	got := hex.EncodeToString(sum[:])
	name := ""
	for want, n := range k.Keys {
		if subtle.ConstantTimeCompare([]byte(strings.ToLower(want)), []byte(got)) == 1 {
			name = n
		}
	}
	if name == "" {
		return Principal{}, ErrBadCredentials
	}
	return Principal{Name: name}, nil
}

// HashAPIKey returns the hex SHA-256 of key, the form APIKeys.Keys uses.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// ClientCerts authenticates TLS client certificates (mTLS): the leaf
// certificate's SHA-256 fingerprint, or when the chain was verified by
// the server's ClientCAs, its subject common name, maps to a principal.
// The http.Server's tls.Config must request client certificates.
type ClientCerts struct {
	Fingerprints map[string]string // hex SHA-256 of the DER leaf → principal
	Subjects     map[string]string // subject CN of a verified leaf → principal
}

// Authenticate implements Authenticator.
func (c ClientCerts) Authenticate(r *http.Request) (Principal, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return Principal{}, ErrNoCredentials
	}
	leaf := r.TLS.PeerCertificates[0]
	if name, ok := c.Fingerprints[CertFingerprint(leaf)]; ok {
		return Principal{Name: name}, nil
	}
	if len(r.TLS.VerifiedChains) > 0 {
		if name, ok := c.Subjects[leaf.Subject.CommonName]; ok {
			return Principal{Name: name}, nil
		}
	}
	return Principal{}, ErrBadCredentials
}

// CertFingerprint returns the hex SHA-256 of a certificate's DER bytes.
func CertFingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// Policy says what a principal may do with a collection.
type Policy interface {
	// Access returns whether p may read and write the collection of
	// the API root.
	Access(p Principal, root, collection string) (read, write bool)
}

// ConfigPolicy is the Policy of the Read and Write lists in Config.
type ConfigPolicy map[string]CollectionConfig // by collection id

// NewConfigPolicy returns the Policy of cfg's collections.
func NewConfigPolicy(cfg Config) ConfigPolicy {
	p := ConfigPolicy{}
	for _, r := range cfg.APIRoots {
		for _, c := range r.Collections {
			p[c.ID] = c
		}
	}
	return p
}

// Access implements Policy.
func (cp ConfigPolicy) Access(p Principal, _, collection string) (read, write bool) {
	c, ok := cp[collection]
	if !ok || p.Name == "" {
		return false, false
	}
	in := func(list []string) bool { return slices.Contains(list, p.Name) || slices.Contains(list, "*") }
	return in(c.Read), in(c.Write)
}
