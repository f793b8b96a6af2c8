// Package audit is acd's tamper-evident audit log: an append-only list of
// entries (who did what to which object, when), each hash-chained to the
// one before, with checkpoints signed by the server's Ed25519 key.
//
// # The chain
//
// Entry n's Hash is the hex SHA-256 of a canonical binary encoding of the
// previous entry's hash (32 zero bytes before entry 1), n, the time in
// Unix nanoseconds and the length-prefixed actor, action, object and data
// (see Entry.ComputeHash). Editing an entry breaks its own hash; deleting,
// inserting or reordering entries breaks the sequence numbers or the link
// to the previous hash; rewriting every later hash to hide an edit is
// caught by the next checkpoint, which the writer of the database cannot
// forge without the private key.
//
// # Writing
//
// Append adds an entry inside the caller's *sql.Tx, so that a state
// change and the entry recording it commit together or not at all. The
// transaction must hold the database's write lock from its start (SQLite:
// BEGIN IMMEDIATE), as store's writer connection does. A Checkpointer
// signs (seq, hash, time) of the latest entry into the checkpoints table,
// every Config.CheckpointEvery entries and on demand (at shutdown).
// Entries after the last checkpoint are chained but not yet signed: Verify
// reports them as an unverified tail.
//
// The tables (audit_entries, audit_checkpoints) are created by the
// store's migration store/migrations/0003_audit.sql; this package only
// reads and inserts rows.
//
// # Verifying
//
// A Verifier needs only the public key. It takes entries and checkpoints
// from any source: VerifyDB reads a live database (in one read
// transaction), VerifyExport reads the JSON lines Export writes. The
// Report names every problem with its sequence number, first one first.
//
// # Export format
//
// Export writes JSON lines: one header line {"header":{...}}, then the
// entries in sequence order, one {"entry":{...}} per line, each signed
// checkpoint as a {"checkpoint":{...}} line right after the entry it
// signs. Verification reads them in any order; the header is informative
// only (it is not signed).
package audit
