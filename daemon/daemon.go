// Package daemon holds the start/stop contract of acd's long-running
// components and runs a set of them: started in order, stopped in reverse
// order, and if one fails to start, the ones already started are stopped.
package daemon

import (
	"context"
	"fmt"
	"log/slog"
)

// Component is a long-running part of acd.
//
// Start begins the component's work and returns once it is running (for a
// server: once its sockets are bound); it returns an error if it cannot
// start, having released whatever it acquired. ctx bounds the start only.
// Stop ends the work, finishes what is in flight (a collector flushes its
// last batches downstream) and returns when the component's goroutines
// have ended. Stop is called once, and only after a successful Start.
type Component interface {
	Start(ctx context.Context) error
	Stop()
}

// Named pairs a component with a name for logs.
type Named struct {
	Name string
	Component
}

// Group is a list of components run as one.
type Group struct {
	log     *slog.Logger
	parts   []Named
	started int
}

// NewGroup returns a group of the given components, in start order.
func NewGroup(log *slog.Logger, parts ...Named) *Group {
	return &Group{log: log, parts: parts}
}

// Start starts every component in order. If one fails, the started ones
// are stopped in reverse order and the error is returned.
func (g *Group) Start(ctx context.Context) error {
	for _, p := range g.parts {
		if err := p.Start(ctx); err != nil {
			g.Stop()
			return fmt.Errorf("unable to start %s: %w", p.Name, err)
		}
		g.started++
		g.log.Debug("component started", "component", p.Name)
	}
	return nil
}

// Stop stops the started components in reverse order.
func (g *Group) Stop() {
	for i := g.started - 1; i >= 0; i-- {
		g.parts[i].Stop()
		g.log.Debug("component stopped", "component", g.parts[i].Name)
	}
	g.started = 0
}
