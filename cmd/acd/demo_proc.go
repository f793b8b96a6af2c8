package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// demoProc is one acd serve child of acd demo.
type demoProc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed once the child exited and its log was read
	err  error         // how it exited; read after done
	log  *os.File
}

// startDemoProc starts "self serve -c in.cfg" in in.dir, its output into
// logPath; the important lines (warnings, errors, the main events) also
// go to echo, prefixed with the instance's name, unless echo is nil.
func startDemoProc(self string, in *demoInstance, logPath string, echo io.Writer, echoMu *sync.Mutex) (*demoProc, error) {
	// A new file (freshDir removed the last run's): never one planted there.
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("unable to open the %s log: %w", in.name, err)
	}
	cmd := exec.Command(self, "serve", "-c", in.cfg)
	cmd.Dir = in.dir
	cmd.Env = append(demoEnviron(os.Environ()), "ACD_LOG_FORMAT=json")
	cmd.Stdout = f
	cmd.SysProcAttr = demoSysProcAttr()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("unable to start acd serve (%s): %w", in.name, err)
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("unable to start acd serve (%s): %w", in.name, err)
	}
	p := &demoProc{name: in.name, cmd: cmd, done: make(chan struct{}), log: f}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = f.Write(append(line, '\n'))
			if echo != nil {
				if s := demoLogLine(line); s != "" {
					echoMu.Lock()
					fmt.Fprintf(echo, "[%s] %s\n", p.name, s)
					echoMu.Unlock()
				}
			}
		}
		_, _ = io.Copy(f, stderr) // a line over 1 MiB: keep the rest
		p.err = cmd.Wait()
		_ = f.Close()
	}()
	return p, nil
}

// demoEnviron drops acd's ACD_* overrides from environ: the demo's
// configuration is its own.
func demoEnviron(environ []string) []string {
	var out []string
	for _, kv := range environ {
		if !strings.HasPrefix(kv, envPrefix) {
			out = append(out, kv)
		}
	}
	return out
}

// exited tells whether the child has exited.
func (p *demoProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop interrupts the child (SIGINT), waits for it up to grace, then
// kills it; it returns how the child exited.
func (p *demoProc) stop(grace time.Duration) error {
	if p.exited() {
		return p.err
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return p.err
	case <-t.C:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	return fmt.Errorf("acd serve (%s) did not stop within %v: killed", p.name, grace)
}

// demoEvents are the log messages of acd serve shown on the demo's
// stderr besides warnings and errors.
var demoEvents = map[string]bool{
	"acd serving": true, "sharing ready": true, "action verified": true,
	"case expired: every action's window has ended": true, "revoking what was shared": true,
}

// demoLogLine returns the text shown for one JSON log line of acd serve,
// or "" when the line is not shown.
func demoLogLine(line []byte) string {
	var m map[string]any
	if json.Unmarshal(line, &m) != nil {
		return ""
	}
	level, _ := m["level"].(string)
	msg, _ := m["msg"].(string)
	if level != "WARN" && level != "ERROR" && !demoEvents[msg] {
		return ""
	}
	var keys []string
	for k := range m {
		if k != "time" && k != "level" && k != "msg" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	if level == "WARN" || level == "ERROR" {
		b.WriteString(level + " ")
	}
	b.WriteString(msg)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%v", k, m[k])
	}
	return b.String()
}
