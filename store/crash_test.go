package store

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// killChildren re-runs the test binary as a child (test run, environment
// env) rounds times; each child writes in a loop and prints "ack X" after
// each commit. The child is killed with SIGKILL after a random number of
// acks (1..maxAcks) in each round; ACD_CRASH_ROUND tells the child which
// round it is. It returns every acknowledged X.
func killChildren(t *testing.T, run string, env []string, rounds, maxAcks int) []string {
	t.Helper()
	var acked []string
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(os.Args[0], "-test.run="+run)
		cmd.Env = append(append(os.Environ(), env...), fmt.Sprintf("ACD_CRASH_ROUND=%d", round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(maxAcks)))
		killAfter := int(n.Int64()) + 1
		sc := bufio.NewScanner(out)
		got := 0
		for sc.Scan() {
			x, ok := strings.CutPrefix(sc.Text(), "ack ")
			if !ok {
				continue
			}
			acked = append(acked, x)
			if got++; got == killAfter {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		if got < killAfter {
			t.Fatalf("round %d: child stopped after %d acks, before the kill", round, got)
		}
	}
	return acked
}
