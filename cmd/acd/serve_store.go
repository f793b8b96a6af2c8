package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/store"
)

// storeComponent runs the embedded store (opened by serve before the
// components are built): at start it creates the first admin when there
// is no user, loads the suspects into the book and runs the writer that
// persists every change of the book. Stop writes what is pending, signs
// the last audit checkpoint and closes the database.
type storeComponent struct {
	log  *slog.Logger
	reg  prometheus.Registerer
	book *detect.Book
	max  int
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

func (c *storeComponent) Start(ctx context.Context) error {
	db := c.db.Load()
	if db == nil {
		return errors.New("the store is closed")
	}
	// First start: an admin with a one-time password, shown once here.
	name, password, created, err := db.EnsureAdmin(ctx)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(c.console, "\nacd: first start: created user %q with the one-time password\n\n    %s\n\n"+
			"It is shown only now. Change it before anything else (with this server's -c FILE):\n    acd user passwd %s --password-stdin\n\n", name, password, name)
	}
	ss, err := db.LoadSuspects(ctx)
	if err != nil {
		return err
	}
	c.book.Load(ss[:min(len(ss), c.max)])
	w, err := store.NewSuspectWriter(db, store.WriterOptions{Registerer: c.reg})
	if err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		return err
	}
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
