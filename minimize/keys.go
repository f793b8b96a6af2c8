package minimize

import (
	"bufio"
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

// keyFileHeader starts every key file, so a wrong file is recognized.
const keyFileHeader = "# acd screening master key v1"

// masterKey is the secret all epoch keys derive from. It never leaves
// this package: it has no exported accessor, and it prints and logs as
// "[redacted]".
type masterKey struct{ b [32]byte }

func (masterKey) String() string               { return "[redacted]" }
func (masterKey) GoString() string             { return "[redacted]" }
func (masterKey) LogValue() slog.Value         { return slog.StringValue("[redacted]") }
func (masterKey) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// ErrNoKey is returned when no key file is configured: acd never runs
// unscreened.
var ErrNoKey = errors.New("minimize: no screening key: set screen.key.file (create one with 'acd keygen FILE')")

// loadKey reads a key file written by GenerateKeyFile. It refuses files
// that group or others can read.
func loadKey(path string) (masterKey, error) {
	var k masterKey
	if path == "" {
		return k, ErrNoKey
	}
	st, err := os.Stat(path)
	if err != nil {
		return k, fmt.Errorf("unable to read screening key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return k, fmt.Errorf("screening key %s is accessible to group or others (mode %s): chmod 600 it", path, st.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return k, fmt.Errorf("unable to read screening key: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	if !sc.Scan() || strings.TrimSpace(sc.Text()) != keyFileHeader {
		return k, fmt.Errorf("screening key %s: not an acd key file (first line must be %q)", path, keyFileHeader)
	}
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		b, err := hex.DecodeString(line)
		if err != nil || len(b) != len(k.b) {
			return k, fmt.Errorf("screening key %s: the key line must be %d hex digits", path, 2*len(k.b))
		}
		copy(k.b[:], b)
		if k.b == ([32]byte{}) {
			return k, fmt.Errorf("screening key %s: the key is all zeros", path)
		}
		return k, nil
	}
	return k, fmt.Errorf("screening key %s: no key line", path)
}

// GenerateKeyFile writes a new random master key to path with mode 0600.
// It refuses to overwrite an existing file: losing a key makes every
// pseudonym made with it impossible to re-identify.
func GenerateKeyFile(path string) error {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("unable to generate key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("unable to create key file: %w", err)
	}
	_, err = fmt.Fprintf(f, "%s\n# created %s; keep it secret and backed up\n%s\n",
		keyFileHeader, time.Now().UTC().Format(time.RFC3339), hex.EncodeToString(b[:]))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("unable to write key file: %w", err)
	}
	return nil
}

// randomKey returns an ephemeral master key, for runs whose pseudonyms
// need not outlive the process (acd analyze without a key file).
func randomKey() (masterKey, error) {
	var k masterKey
	_, err := rand.Read(k.b[:])
	return k, err
}

// epochKey derives the Crypto-PAn key of an epoch (HKDF-SHA256).
func (k masterKey) epochKey(epoch uint32) ([32]byte, error) {
	var out [32]byte
	b, err := hkdf.Key(sha256.New, k.b[:], nil, "acd screen crypto-pan epoch "+strconv.FormatUint(uint64(epoch), 10), len(out))
	if err != nil {
		return out, err
	}
	copy(out[:], b)
	return out, nil
}
