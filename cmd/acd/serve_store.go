package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/store"
)

// storeComponent opens the embedded store at start, loads the suspects
// it holds into the book, and runs the writer that persists every change
// of the book; it also authenticates API tokens. Stop writes what is
// pending and closes the database.
type storeComponent struct {
	cfg   store.Config
	audit audit.Config
	log   *slog.Logger
	reg   prometheus.Registerer
	book  *detect.Book
	max   int
	// console receives the first start's one-time admin password (never
	// the logger).
	console io.Writer

	db     atomic.Pointer[store.DB]
	writer atomic.Pointer[store.SuspectWriter]
}

// Suspected implements detect.SuspectSink: the book's changes go to the
// writer once the store is open (detection starts after it).
func (c *storeComponent) Suspected(s detect.Suspect) {
	if w := c.writer.Load(); w != nil {
		w.Suspected(s)
	}
}

// AuthenticateUser implements api.UserAuthenticator (HTTP Basic).
func (c *storeComponent) AuthenticateUser(ctx context.Context, name, password string) (store.Principal, error) {
	db := c.db.Load()
	if db == nil {
		return store.Principal{}, errors.New("the store is not open")
	}
	return db.AuthenticateUser(ctx, name, password)
}

// Authenticate implements api.Authenticator.
func (c *storeComponent) Authenticate(ctx context.Context, secret string) (store.Principal, error) {
	db := c.db.Load()
	if db == nil {
		return store.Principal{}, errors.New("the store is not open")
	}
	return db.Authenticate(ctx, secret)
}

func (c *storeComponent) Start(ctx context.Context) error {
	db, err := store.Open(ctx, c.cfg, c.log)
	if err != nil {
		return err
	}
	// Every write is audited; checkpoints are signed with the audit key.
	cp, err := auditCheckpointer(&loadedConfig{config: config{Audit: c.audit, Store: c.cfg}}, "")
	if err != nil {
		db.Close()
		return err
	}
	db.SetAuditCheckpointer(cp)
	// First start: an admin with a one-time password, shown once here.
	name, password, created, err := db.EnsureAdmin(ctx)
	if err != nil {
		db.Close()
		return err
	}
	if created {
		fmt.Fprintf(c.console, "\nacd: first start: created user %q with the one-time password\n\n    %s\n\n"+
			"It is shown only now. Change it before anything else (with this server's -c FILE):\n    acd user passwd %s --password-stdin\n\n", name, password, name)
	}
	ss, err := db.LoadSuspects(ctx)
	if err != nil {
		db.Close()
		return err
	}
	c.book.Load(ss[:min(len(ss), c.max)])
	w, err := store.NewSuspectWriter(db, store.WriterOptions{Registerer: c.reg})
	if err != nil {
		db.Close()
		return err
	}
	if err := w.Start(ctx); err != nil {
		db.Close()
		return err
	}
	c.db.Store(db)
	c.writer.Store(w)
	c.log.Info("store open", "path", db.Path(), "suspects", len(ss))
	return nil
}

func (c *storeComponent) Stop() {
	if w := c.writer.Swap(nil); w != nil {
		w.Stop()
	}
	if db := c.db.Swap(nil); db != nil {
		if _, _, err := db.AuditCheckpoint(context.Background()); err != nil {
			c.log.Error("signing the last audit checkpoint", "error", err)
		}
		if err := db.Close(); err != nil {
			c.log.Error("closing the store", "error", err)
		}
	}
}
