package store

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the cost parameters of an argon2id password hash.
// They are stored with every hash (PHC string format), so raising them
// in the login policy leaves older hashes verifiable; a login rehashes
// an older, weaker hash with the current parameters.
type Argon2Params struct {
	// Memory in KiB.
	Memory uint32 `json:"memory_kib"`
	// Time is the number of passes.
	Time uint32 `json:"time"`
	// Threads is the degree of parallelism.
	Threads uint8 `json:"threads"`
}

// DefaultArgon2Params are RFC 9106's second recommended option (64 MiB,
// 3 passes, 4 lanes), above OWASP's minimums.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{Memory: 64 << 10, Time: 3, Threads: 4}
}

// Bounds of the argon2id parameters, both for new hashes and for the
// hashes read back (a tampered row cannot make a login take a gigabyte
// more than allowed or loop for minutes).
const (
	maxArgonMemory = 1 << 20 // KiB: 1 GiB
	maxArgonTime   = 64
	saltBytes      = 16
	keyBytes       = 32
	minHashBytes   = 16
	maxHashBytes   = 64
)

// Validate checks p's bounds: 8 KiB per thread to 1 GiB of memory, 1 to
// 64 passes, 1 to 255 threads.
func (p Argon2Params) Validate() error {
	switch {
	case p.Threads < 1:
		return fmt.Errorf("argon2id threads %d: want 1 to 255", p.Threads)
	case p.Time < 1 || p.Time > maxArgonTime:
		return fmt.Errorf("argon2id time %d: want 1 to %d passes", p.Time, maxArgonTime)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxArgonMemory:
		return fmt.Errorf("argon2id memory %d KiB: want %d (8 per thread) to %d KiB", p.Memory, 8*uint32(p.Threads), maxArgonMemory)
	}
	return nil
}

// weaker reports whether p costs less than q in memory or passes, or
// uses other lanes (a hash with p should be redone with q).
func (p Argon2Params) weaker(q Argon2Params) bool {
	return p.Memory < q.Memory || p.Time < q.Time || p.Threads != q.Threads
}

// phcHash is a parsed argon2id hash.
type phcHash struct {
	params Argon2Params
	salt   []byte
	key    []byte
}

// b64 is PHC's base64: standard alphabet, no padding, canonical.
var b64 = base64.RawStdEncoding.Strict()

// String formats h as a PHC string: $argon2id$v=19$m=M,t=T,p=P$salt$key.
func (h phcHash) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.params.Memory, h.params.Time, h.params.Threads, b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// parsePHC parses an argon2id PHC string strictly (canonical numbers and
// base64, parameters in the order m, t, p, version 19, bounds checked),
// so that formatting the result gives s back.
func parsePHC(s string) (phcHash, error) {
	bad := func(why string) (phcHash, error) {
		return phcHash{}, fmt.Errorf("password hash: %s (want $argon2id$v=19$m=M,t=T,p=P$salt$hash)", why)
	}
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" {
		return bad("not 5 fields separated by '$'")
	}
	if f[1] != "argon2id" {
		return bad(fmt.Sprintf("algorithm %.20q, not argon2id", f[1]))
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad(fmt.Sprintf("version %.20q, not v=19", f[2]))
	}
	ps := strings.Split(f[3], ",")
	if len(ps) != 3 {
		return bad("not three parameters m, t, p")
	}
	var v [3]uint64
	for i, key := range []string{"m=", "t=", "p="} {
		num, ok := strings.CutPrefix(ps[i], key)
		n, err := strconv.ParseUint(num, 10, 32)
		if !ok || err != nil || strconv.FormatUint(n, 10) != num {
			return bad(fmt.Sprintf("parameter %.20q, want %sN", ps[i], key))
		}
		v[i] = n
	}
	if v[2] > 255 {
		return bad(fmt.Sprintf("p=%d over 255", v[2]))
	}
	h := phcHash{params: Argon2Params{Memory: uint32(v[0]), Time: uint32(v[1]), Threads: uint8(v[2])}}
	if err := h.params.Validate(); err != nil {
		return bad(err.Error())
	}
	var err error
	if h.salt, err = b64.DecodeString(f[4]); err != nil || len(h.salt) < 8 || len(h.salt) > 64 {
		return bad("salt is not 8 to 64 bytes of base64")
	}
	if h.key, err = b64.DecodeString(f[5]); err != nil || len(h.key) < minHashBytes || len(h.key) > maxHashBytes {
		return bad(fmt.Sprintf("hash is not %d to %d bytes of base64", minHashBytes, maxHashBytes))
	}
	return h, nil
}

// hashPassword hashes password with argon2id, p and a random salt, and
// returns the PHC string.
func hashPassword(password string, p Argon2Params) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	salt := make([]byte, saltBytes)
	_, _ = rand.Read(salt) // never fails (crypto/rand)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyBytes)
	return phcHash{params: p, salt: salt, key: key}.String(), nil
}

// verifyPassword reports whether password matches the PHC string
// encoded (compared in constant time) and the hash's parameters.
func verifyPassword(password, encoded string) (bool, Argon2Params, error) {
	h, err := parsePHC(encoded)
	if err != nil {
		return false, Argon2Params{}, err
	}
	key := argon2.IDKey([]byte(password), h.salt, h.params.Time, h.params.Memory, h.params.Threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, h.params, nil
}

// Password policy bounds.
const (
	// MinPasswordLength is the fewest characters a password may have.
	MinPasswordLength = 12
	// MaxPasswordBytes is the longest password accepted, in bytes.
	MaxPasswordBytes = 1024
)

// CheckPassword applies the password policy for user name: at least
// MinPasswordLength characters, at most MaxPasswordBytes bytes, valid
// UTF-8 without control characters, and not the user name itself (in
// any case). The error never contains the password.
func CheckPassword(name, password string) error {
	switch {
	case !utf8.ValidString(password):
		return errors.New("password is not valid UTF-8")
	case strings.ContainsFunc(password, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return errors.New("password contains a control character (a line break?)")
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return fmt.Errorf("password too short: %d characters, want at least %d", utf8.RuneCountInString(password), MinPasswordLength)
	case len(password) > MaxPasswordBytes:
		return fmt.Errorf("password too long: %d bytes, want at most %d", len(password), MaxPasswordBytes)
	case strings.EqualFold(strings.TrimSpace(password), name):
		return errors.New("password is the user name")
	}
	return nil
}

// NewPassword returns a random password: 26 characters of base32 (130
// bits), for a one-time or generated password.
func NewPassword() string {
	return rand.Text()
}
