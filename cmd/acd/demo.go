package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const demoHelp = `
Run the whole of acd on this machine with one command, for a first look:
two acd instances on loopback ("home", the one you watch, and "ally", an
allied partner exchanging over TAXII), demo users with fresh passwords,
generated traffic streamed live through the real UDP collectors, detection,
and a case waiting for the commission. Open the console URL it prints.

What it does, in order:
  1. Starts fresh in --dir: removes the previous run's stores, keys, logs and
     configurations there (home/, ally/, keys/, home.log, ally.log,
     demo.json; nothing else), makes the screening keys and writes a configuration for each
     instance. The console listens on --http (home) and --partner-http
     (ally); every other port (NetFlow/IPFIX and sFlow collectors, TAXII
     listeners, the CrowdSec Local API) is a free one on 127.0.0.1.
  2. Creates the demo users with random passwords, printed once here and
     kept in <dir>/demo.json (mode 0600): analyst ana, commissioners cora,
     cole and cyd (their signing keys in <dir>/keys/NAME.key: upload one in
     the browser to sign; it never leaves the browser), operator otto,
     reporting operator rita, auditor aude, admin adam; the ally has the
     analyst alma. The commission approves with 2 of 3.
  3. Starts "acd serve" for each instance (logs in <dir>/home.log and
     <dir>/ally.log; warnings and the main events also here unless --quiet).
  4. Streams traffic over IPFIX: at home a domestic network's background
     with a horizontal scan, an SSH brute force, a DNS reflection flood and
     a C2 botnet beaconing every 3 s; at the ally another country's
     network with a scanner of its own, which the ally detects and shares
     with home. The streams act as a firewall obeying acd's bans (the
     CrowdSec bouncer protocol): once a block is executed, the target's
     flows stop, and the verify stage judges the case.
  5. When detection names the C2 server (or, after 40 s, a scanner), ana
     opens a case against it (a block for an hour), which waits for the
     commissioners.
  6. Prints the URLs, users and what to do, then a status line every 10 s.

Then: log in as cora, open the case, choose keys/cora.key and approve; the
same as cole; log in as otto and execute the block from the time printed
on (about two minutes after the case was opened: the verify stage needs a
whole minute of the attack's traffic before the execution, and judges an
earlier one unmeasurable); a minute or two later the case is effective.

Ctrl-C stops everything (the streams, then both servers) and exits 0.
The plain HTTP console is for loopback only: the session cookie is not
Secure here, so a non-loopback --http is warned about.

Examples:
  acd demo
  acd demo --dir /tmp/acd-demo --http 127.0.0.1:9080 --partner-http 127.0.0.1:9081
  acd demo --http 127.0.0.1:0 --partner-http 127.0.0.1:0 --quiet   # free ports; see demo.json

Exit status: 0 stopped by Ctrl-C (SIGINT/SIGTERM); 1 something failed
(everything started is stopped); 2 usage error.`

// demoOpts are the flags of acd demo.
type demoOpts struct {
	dir, http, partnerHTTP string
	quiet                  bool
}

func runDemo(ctx context.Context, e *env, args []string) error {
	o := &demoOpts{}
	fs := newFlagSet(e, "demo", "[--dir DIR] [--http ADDR] [--partner-http ADDR] [--quiet]", demoHelp)
	fs.StringVar(&o.dir, "dir", ".demo", "the `directory` of the demo's state (its previous run's files there are removed)")
	fs.StringVar(&o.http, "http", "127.0.0.1:8080", "home's console `address` (port 0: a free one)")
	fs.StringVar(&o.partnerHTTP, "partner-http", "127.0.0.1:8081", "the ally's console `address` (port 0: a free one)")
	fs.BoolVar(&o.quiet, "quiet", false, "print the ready message only: no server log lines, no status lines")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	for _, a := range []*string{&o.http, &o.partnerHTTP} {
		addr, warn, err := demoListenAddr(*a)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if warn != "" {
			fmt.Fprintln(e.stderr, "demo: warning:", warn)
		}
		*a = addr
	}
	if strings.TrimSpace(o.dir) == "" {
		return fmt.Errorf("%w: --dir is empty", errUsage)
	}
	abs, err := filepath.Abs(o.dir)
	if err != nil {
		return fmt.Errorf("unable to resolve --dir %q: %w", o.dir, err)
	}
	o.dir = abs
	if o.http == o.partnerHTTP {
		return fmt.Errorf("%w: --http and --partner-http must differ", errUsage)
	}
	d := &demo{opts: o, e: e, started: time.Now()}
	err = d.run(ctx)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// demoListenAddr checks a console address and picks a free port for port
// 0; warn is set for a non-loopback address (plain HTTP, cookie not
// Secure).
func demoListenAddr(addr string) (string, string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("address %q: %v", addr, err)
	}
	ip := net.ParseIP(host)
	warn := ""
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		warn = fmt.Sprintf("%s is not a loopback address: the demo's console is plain HTTP with a session cookie that is not Secure; anyone on that network can read the passwords and sessions", addr)
	}
	if port == "0" {
		if addr, err = freeTCP(host); err != nil {
			return "", "", err
		}
	}
	return addr, warn, nil
}

// freeTCP returns host:port with a TCP port free now (bound and closed).
func freeTCP(host string) (string, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("unable to find a free TCP port on %s: %w", host, err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("unable to find a free TCP port on %s: %w", host, err)
	}
	return addr, nil
}

// freeUDP returns host:port with a UDP port free now (bound and closed).
func freeUDP(host string) (string, error) {
	c, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("unable to find a free UDP port on %s: %w", host, err)
	}
	addr := c.LocalAddr().String()
	if err := c.Close(); err != nil {
		return "", fmt.Errorf("unable to find a free UDP port on %s: %w", host, err)
	}
	return addr, nil
}

// demoFiles are the entries of --dir a demo run makes: the next run
// removes these, and only these.
var demoFiles = []string{"home", "ally", "keys", "home.log", "ally.log", "demo.json", "demo.json.tmp"}

// demoMarker marks a directory as the demo's: a later run removes its
// previous files only where it finds the marker.
const demoMarker = ".acd-demo"

// freshDir removes the previous run's files from dir and makes the
// directories of this one. It touches dir only when dir is the demo's
// own (it holds the marker a previous run left), empty, or absent — never
// a directory that merely has a "home" or "keys" in it (--dir ~ or /);
// and it makes dir private (0700).
func freshDir(dir string) error {
	if dir == "" || dir == filepath.Dir(dir) {
		return fmt.Errorf("%w: --dir %q: the demo needs a directory of its own", errUsage, dir)
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("unable to read --dir %s: %w", dir, err)
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
			return fmt.Errorf("%w: --dir %s is not empty and not a directory a previous acd demo made (no %s in it): choose an empty or new directory", errUsage, dir, demoMarker)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("unable to make --dir %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil { // passwords and keys go in here
		return fmt.Errorf("unable to make --dir %s private: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, demoMarker), []byte("made by acd demo: its next run removes its files here\n"), 0o600); err != nil {
		return fmt.Errorf("unable to mark --dir %s as the demo's: %w", dir, err)
	}
	for _, f := range demoFiles {
		if err := os.RemoveAll(filepath.Join(dir, f)); err != nil {
			return fmt.Errorf("unable to remove the previous demo's %s: %w", f, err)
		}
	}
	for _, d := range []string{"home", "ally", "keys"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return fmt.Errorf("unable to make the demo's directory: %w", err)
		}
	}
	return nil
}
