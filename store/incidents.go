package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/intel/report"
)

// AddIncident files report r from its operator: it is numbered,
// acknowledged (report.Acknowledge: validated, id IR-YEAR-NNNNNN, status
// acknowledged) and stored with its audit entry (incident.report) in one
// transaction. It returns the acknowledgement and the stored report.
func (db *DB) AddIncident(ctx context.Context, r report.Report) (report.Ack, report.Report, error) {
	var (
		ack report.Ack
		out report.Report
	)
	err := db.WriteTx(ctx, func(tx *sql.Tx) error {
		var seq int
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) + 1 FROM incidents`).Scan(&seq); err != nil {
			return db.wrap("write incident to", err)
		}
		c := r
		a, err := c.Acknowledge(seq, db.now())
		if err != nil {
			return err
		}
		doc, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("unable to encode report %s: %w", a.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO incidents (seq, id, operator, type, status, received, doc) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			seq, a.ID, c.Operator, string(c.Type), string(c.Status), a.Received.UnixMilli(), string(doc)); err != nil {
			return db.wrap("write incident to", err)
		}
		if _, err := db.AuditTx(ctx, tx, audit.Entry{Action: "incident.report", Object: "incident:" + a.ID,
			Data: audit.Data("operator", c.Operator, "type", string(c.Type), "tlp", c.TLP.String())}); err != nil {
			return err
		}
		ack, out = a, c
		return nil
	})
	return ack, out, err
}

// Incidents lists incident reports, newest first; operator, when not
// empty, keeps that operator's only.
func (db *DB) Incidents(ctx context.Context, operator string, limit int) ([]report.Report, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	q, args := `SELECT doc FROM incidents`, []any{}
	if operator != "" {
		q, args = q+` WHERE operator = ?`, append(args, operator)
	}
	rows, err := db.r.QueryContext(ctx, q+` ORDER BY seq DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, db.wrap("read incidents from", err)
	}
	defer func() { _ = rows.Close() }()
	var out []report.Report
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, db.wrap("read incidents from", err)
		}
		var r report.Report
		if err := json.Unmarshal([]byte(doc), &r); err != nil {
			return nil, fmt.Errorf("store: a stored incident report does not decode: %w", err)
		}
		out = append(out, r)
	}
	return out, db.wrap("read incidents from", rows.Err())
}

// Incident returns report id (ErrNotFound).
func (db *DB) Incident(ctx context.Context, id string) (report.Report, error) {
	var doc string
	err := db.r.QueryRowContext(ctx, `SELECT doc FROM incidents WHERE id = ?`, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return report.Report{}, fmt.Errorf("incident report %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return report.Report{}, db.wrap("read incidents from", err)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		return report.Report{}, fmt.Errorf("store: incident report %s does not decode: %w", id, err)
	}
	return r, nil
}

// ShareIncident marks report id shareable (status shared) by analyst by:
// only reports an analyst released are published to partners. Audited
// (incident.share). ErrNotFound when there is no such report.
func (db *DB) ShareIncident(ctx context.Context, id, by string) (report.Report, error) {
	var out report.Report
	err := db.WriteTx(ctx, func(tx *sql.Tx) error {
		var doc string
		err := tx.QueryRowContext(ctx, `SELECT doc FROM incidents WHERE id = ?`, id).Scan(&doc)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("incident report %q: %w", id, ErrNotFound)
		}
		if err != nil {
			return db.wrap("read incidents from", err)
		}
		if err := json.Unmarshal([]byte(doc), &out); err != nil {
			return fmt.Errorf("store: incident report %s does not decode: %w", id, err)
		}
		out.Status = report.StatusShared
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET status = ?, doc = ? WHERE id = ?`, string(out.Status), string(b), id); err != nil {
			return db.wrap("write incident to", err)
		}
		_, err = db.AuditTx(ctx, tx, audit.Entry{Actor: by, Action: "incident.share", Object: "incident:" + id,
			Data: audit.Data("tlp", out.TLP.String())})
		return err
	})
	return out, err
}
