package crowdsec

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
)

// ErrUnknownKey is returned by Keys.Bouncer for a key no bouncer holds.
var ErrUnknownKey = errors.New("crowdsec: unknown bouncer key")

// Keys authenticates bouncers by their API key (the X-Api-Key header).
type Keys interface {
	// Bouncer returns the name of the bouncer holding key, or an error
	// wrapping ErrUnknownKey.
	Bouncer(ctx context.Context, key string) (name string, err error)
}

// MemKeys is an in-memory Keys for tests and small setups. It keeps the
// keys' SHA-256 digests only. The zero value holds no key.
type MemKeys struct {
	mu    sync.RWMutex
	names map[[sha256.Size]byte]string
}

// Add lets the bouncer name in with key.
func (m *MemKeys) Add(name, key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.names == nil {
		m.names = map[[sha256.Size]byte]string{}
	}
	m.names[sha256.Sum256([]byte(key))] = name
}

// Bouncer returns the name of the bouncer holding key.
func (m *MemKeys) Bouncer(_ context.Context, key string) (string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if key != "" {
		if n, ok := m.names[sha256.Sum256([]byte(key))]; ok {
			return n, nil
		}
	}
	return "", ErrUnknownKey
}
