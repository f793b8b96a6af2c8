package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/acd-org/acd/store" // the SQLite driver
)

// TestServeCrashMidApproval kills acd serve with SIGKILL at random moments
// while commissioners send signed approvals through the CLI and the API,
// restarts it, and goes on, several times. Afterwards every approval the
// server acknowledged is stored, every case with two acknowledged
// approvals is approved, and the audit chain verifies.
func TestServeCrashMidApproval(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts the server several times")
	}
	f := newCaseFixture(t)
	server, cmd := f.serve(t)
	const n = 24
	var ids []string
	for i := range n {
		code, out, errOut := f.as(t, server, "ana", "create", "--target", "100.64.0.7", "--suspect", "100.64.0.7",
			"--legal-basis", "ACD Act art. 12(1)", "--action", "block=100.64.0.7;protocol=tcp;ports=22", "--for", "1h", "--json")
		if code != 0 {
			t.Fatalf("create %d: %s %s", i, out, errOut)
		}
		var c struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(out), &c); err != nil {
			t.Fatal(err)
		}
		if code, _, errOut := f.as(t, server, "ana", "request", c.ID); code != 0 {
			t.Fatalf("request: %s", errOut)
		}
		ids = append(ids, c.ID)
	}
	// The approvals to send: c1 then c2 on every case.
	type vote struct{ id, who string }
	var todo []vote
	for _, id := range ids {
		todo = append(todo, vote{id, "c1"}, vote{id, "c2"})
	}
	acked := map[vote]bool{}
	kills := 0
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for len(todo) > 0 {
		// Kill the server after a random number of approvals (0..5).
		killAt := rng.IntN(6)
		for i := 0; len(todo) > 0; i++ {
			if i == killAt && kills < 6 {
				// Kill while an approval is in flight.
				v := todo[0]
				done := make(chan int, 1)
				go func() {
					code, _, _ := f.as(t, server, v.who, "approve", v.id, "--key", f.keys[v.who])
					done <- code
				}()
				time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
				_ = cmd.Process.Signal(syscall.SIGKILL)
				_ = cmd.Wait()
				kills++
				if <-done == 0 {
					acked[v] = true
					todo = todo[1:]
				}
				break
			}
			v := todo[0]
			code, out, errOut := f.as(t, server, v.who, "approve", v.id, "--key", f.keys[v.who])
			switch {
			case code == 0:
				acked[v] = true
				todo = todo[1:]
			case strings.Contains(out+errOut, "already"), strings.Contains(out+errOut, "409"):
				// Stored before the crash, not acknowledged: it is on record.
				todo = todo[1:]
			default:
				t.Fatalf("approve %v: exit %d: %s %s", v, code, out, errOut)
			}
		}
		if cmd.ProcessState != nil { // killed: start again
			server, cmd = f.serve(t)
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	t.Logf("%d approvals acknowledged across %d kills", len(acked), kills)

	// Read the database as it is on disk (the store's driver, read-only).
	db, err := sql.Open("sqlite", "file:"+filepath.Join(f.dir, "acd.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cs, err := db.QueryContext(context.Background(), `SELECT case_id, commissioner FROM case_approvals`)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[vote]bool{}
	for cs.Next() {
		var v vote
		if err := cs.Scan(&v.id, &v.who); err != nil {
			t.Fatal(err)
		}
		stored[v] = true
	}
	cs.Close()
	for v := range acked {
		if !stored[v] {
			t.Errorf("acknowledged approval %v is lost", v)
		}
	}
	for _, id := range ids {
		var state string
		if err := db.QueryRowContext(context.Background(), `SELECT state FROM cases WHERE id = ?`, id).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if stored[vote{id, "c1"}] && stored[vote{id, "c2"}] && state != "approved" {
			t.Errorf("case %s has both approvals but is %s", id, state)
		}
	}
	db.Close()
	code, out, errOut := runCmd(t, nil, "audit", "verify", "-c", f.cfg)
	if code != 0 || !strings.Contains(out, "verified") {
		t.Fatalf("audit verify after %d kills: exit %d: %s %s", kills, code, out, errOut)
	}
}
