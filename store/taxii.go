package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acd-org/acd/intel/taxii"
)

// MaxTAXIIStatuses is how many TAXII status resources the store keeps;
// older ones are forgotten (404), as taxii.MemStore does.
const MaxTAXIIStatuses = taxii.MaxStatuses

// TAXII returns the TAXII 2.1 object store kept in db (tables
// taxii_collections, taxii_objects, taxii_status), with exactly
// taxii.MemStore's semantics: dates added strictly increasing per
// collection with µs precision, duplicates (same id, version and spec
// version) kept once with their first date added, version selection
// first/last/all/at among the versions matching match[spec_version]
// (by default the latest spec version of each version), paging by an
// opaque token holding the last date added served, and the last
// MaxTAXIIStatuses status resources.
//
// GET objects walks the table in date added order (its primary key) and
// selects versions with correlated subqueries on the (collection, id,
// version) index, so a page costs about the same with a million objects
// as with ten.
//
// The store keeps the queries it has prepared: call TAXII once and keep
// the result.
func (db *DB) TAXII() taxii.Store {
	return &taxiiStore{db: db, maxStats: MaxTAXIIStatuses, stmts: map[string]*sql.Stmt{}}
}

// maxTAXIIStmts bounds the prepared queries kept (they differ by the
// number of values in each filter).
const maxTAXIIStmts = 64

// taxiiStore implements taxii.Store on a DB.
type taxiiStore struct {
	db       *DB
	maxStats int // status resources kept

	mu    sync.Mutex           // guards stmts
	stmts map[string]*sql.Stmt // prepared queries on db.r, by SQL
}

// stmt returns the query prepared on the read pool, preparing it the
// first time; done releases a statement that was not kept.
func (s *taxiiStore) stmt(ctx context.Context, query string) (st *sql.Stmt, done func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.stmts[query]; st != nil {
		return st, func() {}, nil
	}
	if st, err = s.db.r.PrepareContext(ctx, query); err != nil {
		return nil, nil, err
	}
	if len(s.stmts) >= maxTAXIIStmts {
		return st, func() { _ = st.Close() }, nil
	}
	s.stmts[query] = st
	return st, func() {}, nil
}

var _ taxii.Store = (*taxiiStore)(nil)

// twrap wraps a database error for the TAXII server: a busy database is
// taxii.ErrUnavailable (503).
func (s *taxiiStore) twrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if isBusy(err) {
		return fmt.Errorf("%w: %w", taxii.ErrUnavailable, s.db.wrap(op, err))
	}
	return s.db.wrap(op, err)
}

// AddObjects implements taxii.Store.
func (s *taxiiStore) AddObjects(ctx context.Context, collection string, objs []taxii.Object) ([]time.Time, error) {
	out := make([]time.Time, len(objs))
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		col, last, err := collectionTx(ctx, tx, collection)
		if err != nil {
			return err
		}
		find, err := tx.PrepareContext(ctx, `SELECT added FROM taxii_objects
			WHERE col = ? AND id = ? AND version = ? AND spec_version = ? LIMIT 1`)
		if err != nil {
			return err
		}
		defer func() { _ = find.Close() }()
		ins, err := tx.PrepareContext(ctx, `INSERT INTO taxii_objects
			(col, added, id, type, spec_version, version, created, modified, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer func() { _ = ins.Close() }()
		now := s.db.now().UnixMicro()
		for i, o := range objs {
			if !o.Version.IsZero() {
				var added int64
				err := find.QueryRowContext(ctx, col, o.ID, o.Version.UnixNano(), o.SpecVersion).Scan(&added)
				if err == nil {
					out[i] = time.UnixMicro(added).UTC()
					continue
				}
				if !errors.Is(err, sql.ErrNoRows) {
					return err
				}
			}
			added := max(now, last+1)
			last = added
			ver := o.Version.UnixNano()
			if o.Version.IsZero() {
				ver = added * 1000
			}
			raw := []byte(o.Raw)
			if raw == nil {
				raw = []byte{}
			}
			if _, err := ins.ExecContext(ctx, col, added, o.ID, o.Type, o.SpecVersion, ver,
				stamp(o.Created), stamp(o.Modified), raw); err != nil {
				return err
			}
			out[i] = time.UnixMicro(added).UTC()
		}
		_, err = tx.ExecContext(ctx, `UPDATE taxii_collections SET last_added = ? WHERE seq = ?`, last, col)
		return err
	})
	if err != nil {
		return nil, s.twrap("add TAXII objects to", err)
	}
	return out, nil
}

// collectionTx returns the number and last date added of a collection,
// creating it.
func collectionTx(ctx context.Context, tx *sql.Tx, name string) (seq, last int64, err error) {
	err = tx.QueryRowContext(ctx, `SELECT seq, last_added FROM taxii_collections WHERE name = ?`, name).Scan(&seq, &last)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.QueryRowContext(ctx, `INSERT INTO taxii_collections (name, last_added) VALUES (?, 0) RETURNING seq`, name).Scan(&seq)
	}
	return seq, last, err
}

// stamp stores a created or modified time: NULL when absent, else
// RFC 3339 with every digit (ns int64 would not hold years past 2262).
func stamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// unstamp reads what stamp stored.
func unstamp(v sql.NullString) (time.Time, error) {
	if !v.Valid {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored TAXII timestamp %q: %w", v.String, err)
	}
	return t.UTC(), nil
}

// Objects implements taxii.Store.
func (s *taxiiStore) Objects(ctx context.Context, collection string, q taxii.Query) (taxii.Page, error) {
	return s.query(ctx, collection, q, true)
}

// Manifest implements taxii.Store; it does not read the raw bytes.
func (s *taxiiStore) Manifest(ctx context.Context, collection string, q taxii.Query) (taxii.Page, error) {
	return s.query(ctx, collection, q, false)
}

func (s *taxiiStore) query(ctx context.Context, collection string, q taxii.Query, raw bool) (taxii.Page, error) {
	from, err := decodeTAXIIToken(q.Next)
	if err != nil {
		return taxii.Page{}, err
	}
	if !q.AddedAfter.IsZero() {
		// Date added has µs precision: after t means from the next µs.
		from = max(from, q.AddedAfter.Truncate(time.Microsecond).UnixMicro())
	}
	limit := max(q.Limit, 1)
	p, err := s.page(ctx, collection, from, q.Filter, limit, raw)
	if err != nil {
		return taxii.Page{}, s.twrap("read TAXII objects from", err)
	}
	if p.More {
		p.Next = encodeTAXIIToken(p.Objects[len(p.Objects)-1].DateAdded.UnixMicro())
	}
	return p, nil
}

// page runs the query. An unknown collection gives Page{} (nil
// Objects), like MemStore.
func (s *taxiiStore) page(ctx context.Context, collection string, from int64, f taxii.Filter, limit int, raw bool) (taxii.Page, error) {
	query, args := selectSQL(collection, from, f, limit+1, raw)
	st, done, err := s.stmt(ctx, query)
	if err != nil {
		return taxii.Page{}, err
	}
	defer done()
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return taxii.Page{}, err
	}
	defer func() { _ = rows.Close() }()
	p := taxii.Page{Objects: make([]taxii.Object, 0, min(limit+1, 128))}
	for rows.Next() {
		if len(p.Objects) == limit {
			p.More = true
			break
		}
		o, err := scanObject(rows, raw)
		if err != nil {
			return taxii.Page{}, err
		}
		p.Objects = append(p.Objects, o)
	}
	if err := rows.Err(); err != nil {
		return taxii.Page{}, err
	}
	if len(p.Objects) == 0 {
		var n int
		if err := s.db.r.QueryRowContext(ctx, `SELECT count(*) FROM taxii_collections WHERE name = ?`, collection).Scan(&n); err != nil {
			return taxii.Page{}, err
		}
		if n == 0 {
			return taxii.Page{}, nil
		}
	}
	return p, nil
}

// objectCols are the columns scanObject reads, raw last.
const objectCols = `o.added, o.id, o.type, o.spec_version, o.created, o.modified`

// scanObject reads one row of selectSQL.
func scanObject(rows *sql.Rows, raw bool) (taxii.Object, error) {
	var (
		o                 taxii.Object
		added             int64
		created, modified sql.NullString
		b                 []byte
	)
	dest := []any{&added, &o.ID, &o.Type, &o.SpecVersion, &created, &modified}
	if raw {
		dest = append(dest, &b)
	}
	if err := rows.Scan(dest...); err != nil {
		return o, err
	}
	var err error
	if o.Created, err = unstamp(created); err != nil {
		return o, err
	}
	if o.Modified, err = unstamp(modified); err != nil {
		return o, err
	}
	o.DateAdded = time.UnixMicro(added).UTC()
	switch {
	case !o.Modified.IsZero():
		o.Version = o.Modified
	case !o.Created.IsZero():
		o.Version = o.Created
	default:
		o.Version = o.DateAdded
	}
	if raw {
		o.Raw = json.RawMessage(b)
	}
	return o, nil
}

// selectSQL builds the query for the object versions of collection col
// added after from that match f, in date added order, at most limit.
//
// Version selection follows MemStore: among the versions of an object
// eligible under match[spec_version] (the listed spec versions, or by
// default the latest spec version of each version), last is the
// greatest (version, spec version), first the least; each is a NOT
// EXISTS probe of the (col, id, version, spec_version) index.
//
// The index is forced: without statistics SQLite would walk the primary
// key for match[id] too. With ids, the (col, id, …) index then a sort
// of their versions; with one type, the (col, type, added) index in
// order; else the primary key in order (several types would need a
// sort of every object of those types).
func selectSQL(collection string, from int64, f taxii.Filter, limit int, raw bool) (string, []any) {
	var b strings.Builder
	args := []any{collection, from}
	b.WriteString(`SELECT ` + objectCols)
	if raw {
		b.WriteString(`, o.raw`)
	}
	b.WriteString(` FROM taxii_objects o`)
	switch {
	case len(f.IDs) > 0:
		b.WriteString(` INDEXED BY taxii_objects_version`)
	case len(f.Types) == 1:
		b.WriteString(` INDEXED BY taxii_objects_type`)
	default:
		b.WriteString(` INDEXED BY sqlite_autoindex_taxii_objects_1`)
	}
	b.WriteString(` WHERE o.col = (SELECT seq FROM taxii_collections WHERE name = ?) AND o.added > ?`)
	list := func(vals []string) {
		b.WriteString(` IN (`)
		for i, v := range vals {
			if i > 0 {
				b.WriteString(`, `)
			}
			b.WriteString(`?`)
			args = append(args, v)
		}
		b.WriteString(`)`)
	}
	if len(f.IDs) > 0 {
		b.WriteString(` AND o.id`)
		list(f.IDs)
	}
	if len(f.Types) > 0 {
		b.WriteString(` AND o.type`)
		list(f.Types)
	}
	const same = `SELECT 1 FROM taxii_objects v WHERE v.col = o.col AND v.id = o.id`
	specs := len(f.SpecVersions) > 0
	if specs {
		b.WriteString(` AND o.spec_version`)
		list(f.SpecVersions)
	} else {
		b.WriteString(` AND NOT EXISTS (` + same + ` AND v.version = o.version AND v.spec_version > o.spec_version)`)
	}
	// extreme writes the NOT EXISTS for last (cmp ">") or first ("<").
	extreme := func(cmp string) {
		if !specs {
			// o is the latest spec version of its version: compare
			// versions only.
			b.WriteString(`NOT EXISTS (` + same + ` AND v.version ` + cmp + ` o.version)`)
			return
		}
		b.WriteString(`NOT EXISTS (` + same + ` AND (v.version, v.spec_version) ` + cmp + ` (o.version, o.spec_version) AND v.spec_version`)
		list(f.SpecVersions)
		b.WriteString(`)`)
	}
	versions := f.Versions
	if len(versions) == 0 {
		versions = []taxii.VersionMatch{{Kind: taxii.VersionLast}}
	}
	var terms int
	var at []int64
	all := false
	for _, v := range versions {
		if v.Kind == taxii.VersionAll {
			all = true
		}
	}
	if !all {
		b.WriteString(` AND (`)
		for _, v := range versions {
			switch v.Kind {
			case taxii.VersionLast, taxii.VersionFirst:
				if terms > 0 {
					b.WriteString(` OR `)
				}
				terms++
				if v.Kind == taxii.VersionLast {
					extreme(">")
				} else {
					extreme("<")
				}
			case taxii.VersionAt:
				at = append(at, v.At.UnixNano())
			}
		}
		if len(at) > 0 {
			if terms > 0 {
				b.WriteString(` OR `)
			}
			terms++
			b.WriteString(`o.version IN (`)
			for i, v := range at {
				if i > 0 {
					b.WriteString(`, `)
				}
				b.WriteString(`?`)
				args = append(args, v)
			}
			b.WriteString(`)`)
		}
		if terms == 0 {
			b.WriteString(`0`) // unknown kinds select nothing
		}
		b.WriteString(`)`)
	}
	b.WriteString(` ORDER BY o.added LIMIT ?`)
	args = append(args, limit)
	return b.String(), args
}

// taxiiVersion is one stored version of an object, for Delete.
type taxiiVersion struct {
	added int64
	ver   int64
	spec  string
}

// Delete implements taxii.Store. The versions of one object are few:
// they are read and selected in Go with MemStore's rules.
func (s *taxiiStore) Delete(ctx context.Context, collection, id string, f taxii.Filter) (int, error) {
	if len(f.Versions) == 0 {
		f.Versions = []taxii.VersionMatch{{Kind: taxii.VersionAll}}
	}
	var n int
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT o.added, o.version, o.spec_version FROM taxii_objects o
			JOIN taxii_collections c ON c.seq = o.col
			WHERE c.name = ? AND o.id = ? ORDER BY o.version, o.spec_version`, collection, id)
		if err != nil {
			return err
		}
		var vs []taxiiVersion
		for rows.Next() {
			var v taxiiVersion
			if err := rows.Scan(&v.added, &v.ver, &v.spec); err != nil {
				_ = rows.Close()
				return err
			}
			vs = append(vs, v)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		del, err := tx.PrepareContext(ctx, `DELETE FROM taxii_objects
			WHERE col = (SELECT seq FROM taxii_collections WHERE name = ?) AND added = ?`)
		if err != nil {
			return err
		}
		defer func() { _ = del.Close() }()
		for i := range vs {
			if (len(f.SpecVersions) == 0 || slices.Contains(f.SpecVersions, vs[i].spec)) && deletable(vs, f, i) {
				if _, err := del.ExecContext(ctx, collection, vs[i].added); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, s.twrap("delete TAXII object from", err)
	}
	return n, nil
}

// eligible, selected, isLast, isFirst and deletable are MemStore's rules
// over vs, the versions of one object ordered by version then spec
// version.

func eligible(vs []taxiiVersion, specs []string, i int) bool {
	if len(specs) > 0 {
		return slices.Contains(specs, vs[i].spec)
	}
	for _, v := range vs {
		if v.ver == vs[i].ver && v.spec > vs[i].spec {
			return false
		}
	}
	return true
}

func selected(vs []taxiiVersion, f taxii.Filter, i int) bool {
	for _, v := range f.Versions {
		switch v.Kind {
		case taxii.VersionAll:
			return true
		case taxii.VersionLast:
			if extremeAt(vs, f.SpecVersions, true) == i {
				return true
			}
		case taxii.VersionFirst:
			if extremeAt(vs, f.SpecVersions, false) == i {
				return true
			}
		case taxii.VersionAt:
			if vs[i].ver == v.At.UnixNano() {
				return true
			}
		}
	}
	return false
}

// extremeAt returns the index of the last (or first) eligible version,
// or -1.
func extremeAt(vs []taxiiVersion, specs []string, last bool) int {
	for k := range vs {
		i := k
		if last {
			i = len(vs) - 1 - k
		}
		if eligible(vs, specs, i) {
			return i
		}
	}
	return -1
}

// deletable is selected for Delete: without a spec version filter,
// first and last pick a version in every spec version.
func deletable(vs []taxiiVersion, f taxii.Filter, i int) bool {
	if len(f.SpecVersions) > 0 {
		return selected(vs, f, i)
	}
	for j, v := range vs {
		if v.ver == vs[i].ver && selected(vs, f, j) {
			return true
		}
	}
	return false
}

// PutStatus implements taxii.Store. A replaced status keeps its place
// in the order in which the oldest are forgotten.
func (s *taxiiStore) PutStatus(ctx context.Context, st taxii.StatusRecord) error {
	data, err := json.Marshal(statusJSON{Status: st.Status, APIRoot: st.APIRoot, Owner: st.Owner})
	if err != nil {
		return fmt.Errorf("unable to encode TAXII status %q: %w", st.ID, err)
	}
	err = s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		var seq int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO taxii_status (id, data) VALUES (?, ?)
			ON CONFLICT (id) DO UPDATE SET data = excluded.data RETURNING seq`, st.ID, data).Scan(&seq); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM taxii_status WHERE seq <= ?`, seq-int64(s.maxStats))
		return err
	})
	return s.twrap("write TAXII status to", err)
}

// statusJSON is how a status record is stored.
type statusJSON struct {
	Status  taxii.Status `json:"status"`
	APIRoot string       `json:"api_root"`
	Owner   string       `json:"owner"`
}

// Status implements taxii.Store.
func (s *taxiiStore) Status(ctx context.Context, id string) (taxii.StatusRecord, error) {
	var data []byte
	err := s.db.readTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT data FROM taxii_status WHERE id = ?`, id).Scan(&data)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return taxii.StatusRecord{}, fmt.Errorf("status %q: %w", id, taxii.ErrNotFound)
	}
	if err != nil {
		return taxii.StatusRecord{}, s.twrap("read TAXII status from", err)
	}
	var sj statusJSON
	if err := json.Unmarshal(data, &sj); err != nil {
		return taxii.StatusRecord{}, fmt.Errorf("unable to decode TAXII status %q: %w", id, err)
	}
	return taxii.StatusRecord{Status: sj.Status, APIRoot: sj.APIRoot, Owner: sj.Owner}, nil
}

// encodeTAXIIToken makes the opaque next token: the date added (µs) of
// the last object served.
func encodeTAXIIToken(added int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("s1:" + strconv.FormatInt(added, 10)))
}

// decodeTAXIIToken reads a next token ("" is 0: from the start).
func decodeTAXIIToken(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", taxii.ErrBadToken, err)
	}
	rest, ok := strings.CutPrefix(string(b), "s1:")
	if !ok {
		return 0, taxii.ErrBadToken
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || n < 0 {
		return 0, taxii.ErrBadToken
	}
	return n, nil
}
