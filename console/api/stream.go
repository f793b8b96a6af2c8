package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// The overview stream: Server-Sent Events (text/event-stream) for the
// console's live overview. Wire format:
//
//	retry: 5000
//
//	: ping
//
//	event: overview
//	data: {...GET /api/v1/overview's JSON, one line...}
//
// An overview event at once and then every Deps.OverviewEvery, a ping
// comment every pingEvery. A stream ends when the client goes, when the
// server shuts down (CloseStreams), or after streamLifetime: the browser's
// EventSource reconnects by itself, and so each stream's credentials are
// checked again at least that often.

// Stream limits and timings.
const (
	defaultStreams       = 64
	defaultOverviewEvery = 2 * time.Second
	pingEvery            = 15 * time.Second
	streamLifetime       = 5 * time.Minute
	streamWriteTimeout   = 10 * time.Second
)

// CloseStreams ends every open event stream (acd serve calls it when the
// HTTP server shuts down: http.Server.Shutdown does not end streaming
// requests by itself). Streams opened later are refused (503).
func (h *handler) CloseStreams() {
	h.closeOnce.Do(func() { close(h.closed) })
}

// StreamCloser is implemented by the handler New returns.
type StreamCloser interface {
	CloseStreams()
}

// streamOverview answers GET /api/v1/overview/stream.
func (h *handler) streamOverview(w http.ResponseWriter, r *http.Request) {
	if !noParams(w, r) {
		return
	}
	if h.deps.Gatherer == nil {
		writeError(w, http.StatusServiceUnavailable, "the overview is not available on this server (no metrics registry)")
		return
	}
	select {
	case <-h.closed:
		writeError(w, http.StatusServiceUnavailable, "the server is shutting down")
		return
	default:
	}
	select {
	case h.streams <- struct{}{}:
		defer func() { <-h.streams }()
	default:
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("too many overview streams open (%d): try again later", cap(h.streams)))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("X-Accel-Buffering", "no")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	write := func(s string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := fmt.Fprint(w, s); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	event := func() bool {
		ov, err := h.overview.snapshot(r.Context())
		if err != nil {
			h.log.Error("api: overview failed", "error", err)
			b, _ := json.Marshal(map[string]string{"error": "unable to compute the overview (the server logged why)"})
			return write("event: error\ndata: " + string(b) + "\n\n")
		}
		b, err := json.Marshal(ov)
		if err != nil {
			h.log.Error("api: unable to encode the overview", "error", err)
			return false
		}
		return write("event: overview\ndata: " + string(b) + "\n\n")
	}
	if !write("retry: 5000\n\n: ping\n\n") || !event() {
		return
	}
	tick, ping := time.NewTicker(h.overviewEvery()), time.NewTicker(pingEvery)
	defer tick.Stop()
	defer ping.Stop()
	end := time.NewTimer(streamLifetime)
	defer end.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.closed:
			return
		case <-end.C:
			return
		case <-ping.C:
			if !write(": ping\n\n") {
				return
			}
		case <-tick.C:
			if !event() {
				return
			}
		}
	}
}

// overviewEvery is the stream's interval.
func (h *handler) overviewEvery() time.Duration {
	if h.deps.OverviewEvery > 0 {
		return h.deps.OverviewEvery
	}
	return defaultOverviewEvery
}
