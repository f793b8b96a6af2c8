package peertest

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// proc is a peer process started by a test. It and its process group
// are killed at test cleanup if it is still running.
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    *SyncBuffer
	exited chan struct{} // closed when the process has been waited for
	err    error         // Wait's result, set before exited is closed
}

// startProc starts bin with args, its output collected for messages.
func startProc(t testing.TB, dir, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: bin, out: &SyncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	// Its own process group, so that cleanup also ends the children
	// (pmacctd's plugins are processes of their own).
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("unable to start %s: %v", bin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
	})
	return p
}

// wait waits for the process to exit, at most until ctx ends.
func (p *proc) wait(ctx context.Context) error {
	select {
	case <-p.exited:
		if p.err != nil {
			return fmt.Errorf("%s: %w\n%s", p.String(), p.err, p.out)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s did not exit: %w\n%s", p.String(), ctx.Err(), p.out)
	}
}

func (p *proc) String() string { return strings.Join(p.cmd.Args, " ") }

// SyncBuffer is a bytes.Buffer safe for concurrent writers and readers
// (a process's stdout and stderr copiers, a test polling its log). The
// zero value is ready to use.
type SyncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
