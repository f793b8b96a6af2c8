package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

const checkpointTag = "acd-audit-checkpoint-v1\n"

// Checkpoint is the server's signature over the chain up to an entry.
type Checkpoint struct {
	// Seq is the entry signed.
	Seq int64 `json:"seq"`
	// Hash is that entry's hash.
	Hash string `json:"hash"`
	// Time is when the checkpoint was made (UTC).
	Time time.Time `json:"time"`
	// Key is the signing key's Fingerprint (informative: not signed).
	Key string `json:"key"`
	// Sig is the hex Ed25519 signature of SignedMessage.
	Sig string `json:"sig"`
}

// SignedMessage returns the bytes a checkpoint signs:
//
//	"acd-audit-checkpoint-v1\n" || seq (8 bytes, big endian)
//	|| hash (32 bytes) || time (Unix ns, 8 bytes, big endian)
//
// A hash that is not 64 hex digits is signed as its raw bytes.
func (c Checkpoint) SignedMessage() []byte {
	m := make([]byte, 0, len(checkpointTag)+8+sha256.Size+8)
	m = append(m, checkpointTag...)
	m = binary.BigEndian.AppendUint64(m, uint64(c.Seq))
	if h, err := hex.DecodeString(c.Hash); err == nil && len(h) == sha256.Size {
		m = append(m, h...)
	} else {
		m = append(m, c.Hash...)
	}
	return binary.BigEndian.AppendUint64(m, uint64(c.Time.UnixNano()))
}

// VerifySignature reports whether c carries a valid signature by pub.
func (c Checkpoint) VerifySignature(pub ed25519.PublicKey) bool {
	sig, err := hex.DecodeString(c.Sig)
	return err == nil && len(sig) == ed25519.SignatureSize && len(pub) == ed25519.PublicKeySize &&
		ed25519.Verify(pub, c.SignedMessage(), sig)
}

// Checkpointer signs checkpoints with the server's key. It holds no state
// but the key: the latest entry and checkpoint are read in the caller's
// transaction, so any number of processes may share the log.
type Checkpointer struct {
	key   ed25519.PrivateKey
	pub   ed25519.PublicKey
	fp    string
	every int64
	now   func() time.Time
}

// NewCheckpointer returns a Checkpointer signing with key every `every`
// entries (at least 1). now may be nil (time.Now).
func NewCheckpointer(key ed25519.PrivateKey, every int, now func() time.Time) (*Checkpointer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("audit: checkpointer needs an Ed25519 private key")
	}
	if every < 1 {
		return nil, fmt.Errorf("audit: checkpoint every %d entries: want at least 1", every)
	}
	if now == nil {
		now = time.Now
	}
	pub := key.Public().(ed25519.PublicKey)
	return &Checkpointer{key: key, pub: pub, fp: Fingerprint(pub), every: int64(every), now: now}, nil
}

// PublicKey returns the verifying key.
func (c *Checkpointer) PublicKey() ed25519.PublicKey { return c.pub }

// Sign returns a checkpoint over entry (seq, hash) made now.
func (c *Checkpointer) Sign(seq int64, hash string) Checkpoint {
	cp := Checkpoint{Seq: seq, Hash: hash, Time: c.now().UTC(), Key: c.fp}
	cp.Sig = hex.EncodeToString(ed25519.Sign(c.key, cp.SignedMessage()))
	return cp
}

// Checkpoint signs the latest entry in tx and stores the checkpoint,
// unless there is no entry or the latest is signed already (ok false).
// tx must hold the write lock, as for Append.
func (c *Checkpointer) Checkpoint(ctx context.Context, tx *sql.Tx) (cp Checkpoint, ok bool, err error) {
	last, signed, err := heads(ctx, tx)
	if err != nil || last.seq == 0 || signed >= last.seq {
		return cp, false, err
	}
	cp, err = c.store(ctx, tx, last)
	return cp, err == nil, err
}

// AfterWrite stores a checkpoint in tx when CheckpointEvery entries or
// more follow the last one. Call it at the end of every transaction that
// may have appended.
func (c *Checkpointer) AfterWrite(ctx context.Context, tx *sql.Tx) error {
	last, signed, err := heads(ctx, tx)
	if err != nil || last.seq == 0 || last.seq-signed < c.every {
		return err
	}
	_, err = c.store(ctx, tx, last)
	return err
}

// store signs entry last and stores the checkpoint in tx.
func (c *Checkpointer) store(ctx context.Context, tx *sql.Tx, last head) (Checkpoint, error) {
	cp := c.Sign(last.seq, last.hash)
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (seq, hash, time, key, sig) VALUES (?, ?, ?, ?, ?)`,
		cp.Seq, cp.Hash, cp.Time.UnixNano(), cp.Key, cp.Sig); err != nil {
		return cp, fmt.Errorf("audit: unable to store checkpoint at %d: %w", cp.Seq, err)
	}
	return cp, nil
}

// heads returns the latest entry and the highest seq signed (0: none).
func heads(ctx context.Context, q Querier) (last head, signed int64, err error) {
	if last, err = lastEntry(ctx, q); err != nil || last.seq == 0 {
		return last, 0, err
	}
	signed, err = lastCheckpointSeq(ctx, q)
	return last, signed, err
}

// lastCheckpointSeq returns the highest seq signed (0: none).
func lastCheckpointSeq(ctx context.Context, q Querier) (int64, error) {
	var s int64
	if err := q.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM audit_checkpoints`).Scan(&s); err != nil {
		return 0, fmt.Errorf("audit: unable to read the last checkpoint: %w", err)
	}
	return s, nil
}
