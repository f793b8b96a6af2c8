package peertest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bouncerConfig is crowdsec-firewall-bouncer's configuration for tests:
// nftables mode, a pull every second, logs to files in its directory.
// daemonize: true only makes 0.0.25 remove its tables on SIGTERM (it
// does not fork).
const bouncerConfig = `mode: nftables
pid_dir: %[1]s
update_frequency: 1s
daemonize: true
log_mode: file
log_dir: %[1]s
log_level: debug
log_compression: false
api_url: %[2]s
api_key: %[3]s
insecure_skip_verify: false
disable_ipv6: false
deny_action: DROP
deny_log: false
supported_decisions_types:
  - ban
blacklists_ipv4: crowdsec-blacklists
blacklists_ipv6: crowdsec6-blacklists
nftables:
  ipv4:
    enabled: true
    set-only: false
    table: crowdsec
    chain: crowdsec-chain
  ipv6:
    enabled: true
    set-only: false
    table: crowdsec6
    chain: crowdsec6-chain
prometheus:
  enabled: false
  listen_addr: 127.0.0.1
  listen_port: 60601
`

// BouncerSets are the bouncer's set names for IPv4 and IPv6.
var BouncerSets = []string{"crowdsec-blacklists", "crowdsec6-blacklists"}

// Bouncer is Debian's crowdsec-firewall-bouncer running in a namespace
// (it rewrites the firewall: never on the host).
type Bouncer struct {
	ns   *NetNS
	cmd  *exec.Cmd
	dir  string
	out  *SyncBuffer
	done chan error
}

// StartBouncer runs crowdsec-firewall-bouncer in ns, pulling from url
// (e.g. "http://127.0.0.1:8081/", as seen from inside ns) with key,
// every second; Cleanup stops it.
func StartBouncer(t testing.TB, ns *NetNS, url, key string) *Bouncer {
	t.Helper()
	bin := Require(t, "crowdsec-firewall-bouncer", "nft")[0]
	dir := t.TempDir()
	cfg := filepath.Join(dir, "crowdsec-firewall-bouncer.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, bouncerConfig, dir, url, key), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &Bouncer{ns: ns, dir: dir, out: &SyncBuffer{}, done: make(chan error, 1)}
	b.cmd = ns.Command(bin, "-c", cfg)
	b.cmd.Stdout, b.cmd.Stderr = b.out, b.out
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("starting the bouncer: %v", err)
	}
	go func() { b.done <- b.cmd.Wait() }()
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Error(err)
		}
	})
	return b
}

// Stop ends the bouncer with SIGTERM (it then removes its tables), or
// SIGKILL after 10 s (reported as an error).
func (b *Bouncer) Stop() error {
	if exited, _ := b.Exited(); exited {
		return nil
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-b.done:
		b.done <- err
		return nil
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		b.done <- <-b.done
		return fmt.Errorf("the bouncer did not stop on SIGTERM; killed")
	}
}

// Kill ends the bouncer with SIGKILL: its tables stay.
func (b *Bouncer) Kill() {
	if exited, _ := b.Exited(); !exited {
		_ = b.cmd.Process.Kill()
		b.done <- <-b.done
	}
}

// Exited reports whether the bouncer has ended, and how.
func (b *Bouncer) Exited() (bool, error) {
	select {
	case err := <-b.done:
		b.done <- err
		return true, err
	default:
		return false, nil
	}
}

// Log returns the bouncer's log files and output, for failure messages.
func (b *Bouncer) Log() string {
	var out strings.Builder
	files, _ := filepath.Glob(filepath.Join(b.dir, "*.log"))
	for _, f := range files {
		s, _ := os.ReadFile(f)
		out.Write(s)
	}
	fmt.Fprintf(&out, "output: %s", b.out)
	return out.String()
}

// Banned returns what the bouncer's sets hold: address → timeout in
// seconds.
func (b *Bouncer) Banned() (map[string]int, error) {
	sets, err := NftSets(b.ns)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, name := range BouncerSets {
		for _, e := range sets[name] {
			out[e.Val] = e.Timeout
		}
	}
	return out, nil
}

// NftElement is one element of an nftables set: an address or a prefix
// ("10.1.0.0/16"), with its timeout in seconds (0: none).
type NftElement struct {
	Val     string
	Timeout int
}

// NftSets lists the sets of ns's ruleset (nft -j list ruleset): set name
// → elements.
func NftSets(ns *NetNS) (map[string][]NftElement, error) {
	out, err := ns.Command("nft", "-j", "list", "ruleset").Output()
	if err != nil {
		return nil, fmt.Errorf("nft -j list ruleset in %s: %w", ns.Name, err)
	}
	sets, err := ParseNftSets(out)
	if err != nil {
		return nil, fmt.Errorf("nft -j list ruleset: %w: %s", err, out)
	}
	return sets, nil
}

// ParseNftSets reads `nft -j list ruleset` output: set name → elements.
func ParseNftSets(b []byte) (map[string][]NftElement, error) {
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("unable to decode: %w", err)
	}
	sets := map[string][]NftElement{}
	for _, obj := range doc.Nftables {
		raw, ok := obj["set"]
		if !ok {
			continue
		}
		var s struct {
			Name string            `json:"name"`
			Elem []json.RawMessage `json:"elem"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("unable to decode a set: %w", err)
		}
		elems := []NftElement{}
		for _, e := range s.Elem {
			v, err := nftElem(e)
			if err != nil {
				return nil, fmt.Errorf("set %s: %w", s.Name, err)
			}
			elems = append(elems, v)
		}
		sets[s.Name] = elems
	}
	return sets, nil
}

// nftElem reads one set element: "addr", {"prefix":{"addr","len"}}, or
// {"elem":{"val":…, "timeout":…}} around either.
func nftElem(raw json.RawMessage) (NftElement, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return NftElement{Val: s}, nil
	}
	var o struct {
		Elem *struct {
			Val     json.RawMessage `json:"val"`
			Timeout int             `json:"timeout"`
		} `json:"elem"`
		Prefix *struct {
			Addr string `json:"addr"`
			Len  int    `json:"len"`
		} `json:"prefix"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return NftElement{}, fmt.Errorf("unable to decode element %s: %w", raw, err)
	}
	switch {
	case o.Elem != nil && o.Elem.Val != nil:
		e, err := nftElem(o.Elem.Val)
		if err == nil && e.Timeout == 0 {
			e.Timeout = o.Elem.Timeout
		}
		return e, err
	case o.Prefix != nil:
		return NftElement{Val: fmt.Sprintf("%s/%d", o.Prefix.Addr, o.Prefix.Len)}, nil
	}
	return NftElement{}, fmt.Errorf("unknown element %s", raw)
}
