package store

import (
	"context"
	"crypto/subtle"
)

// matchHash finds the row of query whose hash matches: query selects
// (name TEXT, hash BLOB, extra INTEGER); every row's hash is compared in
// constant time, so the time taken does not tell which (or whether one)
// matched. It returns the matching row's name and extra, found false
// when none matches. what names the table in errors.
func (db *DB) matchHash(ctx context.Context, what, query string, hash []byte) (name string, extra int64, found bool, err error) {
	rows, err := db.r.QueryContext(ctx, query)
	if err != nil {
		return "", 0, false, db.wrap("read "+what+" from", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var (
			n string
			h []byte
			x int64
		)
		if err := rows.Scan(&n, &h, &x); err != nil {
			return "", 0, false, db.wrap("read "+what+" from", err)
		}
		if subtle.ConstantTimeCompare(h, hash) == 1 {
			name, extra, found = n, x, true
		}
	}
	return name, extra, found, db.wrap("read "+what+" from", rows.Err())
}
