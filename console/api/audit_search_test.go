package api

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/acd-org/acd/audit"
)

// TestAuditSearch checks the free-text q against a plain scan of the
// log: a case-insensitive substring of action, actor, object or details.
func TestAuditSearch(t *testing.T) {
	f := auditFixture(t)
	all, err := f.db.ListAudit(context.Background(), audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	match := func(text string) []int64 {
		text = strings.ToLower(text)
		out := []int64{}
		for _, e := range all {
			if strings.Contains(strings.ToLower(e.Action+"\x00"+e.Actor+"\x00"+e.Object+"\x00"+string(e.Data)), text) {
				out = append(out, e.Seq)
			}
		}
		return out
	}
	n03, revoke, admin := match("n03"), match("token.revoke"), match("t-admin")
	if len(n03) != 2 || len(revoke) != 1 || len(admin) < 21 {
		t.Fatalf("fixture: n03 %v, revoke %v, admin %d entries", n03, revoke, len(admin))
	}
	tests := []struct {
		query string
		want  []int64
		more  bool
	}{
		{"q=n03", n03, false},
		{"q=N03", n03, false},                             // case-insensitive
		{"q=%20n03%20", n03, false},                       // trimmed
		{"q=TOKEN.REVOKE", revoke, false},                 // the action
		{"q=t-admin&limit=3", admin[len(admin)-3:], true}, // the actor, newest page
		{"q=n03&action=token.revoke", revoke, false},      // with the other filters
		{"q=n03&limit=1", n03[1:], true},
		{"q=n03&after_seq=" + fmt.Sprint(n03[0]), n03[1:], false},
		{"q=t-admin&after_seq=0&limit=2", admin[:2], true},
		{"q=no-such-text", []int64{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var page auditPage
			f.admin(t, "GET", "/api/v1/audit?"+tt.query, nil, 200, &page)
			if got := seqs(page.Entries); !slices.Equal(got, tt.want) || page.More != tt.more {
				t.Errorf("seqs %v more %v, want %v more %v", got, page.More, tt.want, tt.more)
			}
		})
	}
	for _, bad := range []string{"q=" + strings.Repeat("x", maxAuditText+1), "q=%ff"} {
		status, body := f.send(t, "GET", "/api/v1/audit?"+bad, f.tokens["admin"], nil)
		if status != 400 || !strings.Contains(string(body), `"q: `) {
			t.Errorf("?%.20s: %d %s, want 400 naming q", bad, status, body)
		}
	}
}

func TestVerifiedThrough(t *testing.T) {
	for _, tt := range []struct {
		name string
		rep  audit.Report
		want int64
	}{
		{"empty", audit.Report{}, 0},
		{"ok", audit.Report{FirstSeq: 1, LastSeq: 40}, 40},
		{"broken at 7", audit.Report{FirstSeq: 1, LastSeq: 40, Problems: []audit.Problem{{Seq: 7}, {Seq: 9}}}, 6},
		{"broken at 1", audit.Report{FirstSeq: 1, LastSeq: 40, Problems: []audit.Problem{{Seq: 1}}}, 0},
		{"problem past the end", audit.Report{FirstSeq: 1, LastSeq: 40, Problems: []audit.Problem{{Seq: 50}}}, 40},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := verifiedThrough(tt.rep); got != tt.want {
				t.Errorf("verifiedThrough = %d, want %d", got, tt.want)
			}
		})
	}
}
