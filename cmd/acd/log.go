package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"golang.org/x/term"
)

// logConfig configures the logs (key "log").
type logConfig struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is auto (text on a terminal, JSON otherwise), text or json.
	Format string `yaml:"format"`
}

func defaultLogConfig() logConfig { return logConfig{Level: "info", Format: "auto"} }

func (c logConfig) validate() error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.Level)); err != nil {
		return fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Level)
	}
	switch c.Format {
	case "auto", "text", "json":
		return nil
	}
	return fmt.Errorf("log.format: %q is not one of auto, text, json", c.Format)
}

// newLogger builds the logger described by c, writing to w.
func newLogger(c logConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	text := c.Format == "text"
	if c.Format == "auto" {
		text = isTerminal(w)
	}
	if text {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
