package audit

import (
	"crypto/ed25519"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestComputeHashCoversEveryField(t *testing.T) {
	base := Entry{Seq: 3, Time: t0, Actor: "alice", Action: "case.approve", Object: "case:1", Data: json.RawMessage(`{"a":1}`), Prev: Genesis}
	h := base.ComputeHash()
	if len(h) != 64 || h != base.ComputeHash() {
		t.Fatalf("hash %q is not a stable hex SHA-256", h)
	}
	tests := []struct {
		name string
		edit func(*Entry)
	}{
		{"seq", func(e *Entry) { e.Seq++ }},
		{"time", func(e *Entry) { e.Time = e.Time.Add(time.Nanosecond) }},
		{"actor", func(e *Entry) { e.Actor = "alicf" }},
		{"action", func(e *Entry) { e.Action = "case.reject" }},
		{"object", func(e *Entry) { e.Object = "case:2" }},
		{"data", func(e *Entry) { e.Data = json.RawMessage(`{"a":2}`) }},
		{"prev", func(e *Entry) { e.Prev = strings.Repeat("1", 64) }},
		// Length prefixes keep field boundaries apart.
		{"boundary", func(e *Entry) { e.Actor, e.Action = "alicec", "ase.approve" }},
		{"data moved to object", func(e *Entry) { e.Object, e.Data = `case:1{"a":1}`, nil }},
	}
	for _, tt := range tests {
		e := base
		tt.edit(&e)
		if e.ComputeHash() == h {
			t.Errorf("%s: changing it leaves the hash unchanged", tt.name)
		}
	}
	// Time zone does not matter, the instant does.
	e := base
	e.Time = e.Time.In(time.FixedZone("JST", 9*3600))
	if e.ComputeHash() != h {
		t.Error("the same instant in another zone hashes differently")
	}
}

func TestCanonicalData(t *testing.T) {
	tests := []struct {
		in, want string
		err      string
	}{
		{"", "", ""},
		{"null", "", ""},
		{" null ", "", ""},
		{`{ "a" : [1, 2] }`, `{"a":[1,2]}`, ""},
		{`{"h":"<b>&"}`, `{"h":"\u003cb\u003e\u0026"}`, ""},
		{`"x"`, `"x"`, ""},
		{`{"a":`, "", "not valid JSON"},
		{"{\"a\":\"\xff\"}", "", "UTF-8"},
		{`"` + strings.Repeat("x", MaxData) + `"`, "", "over"},
	}
	for _, tt := range tests {
		got, err := CanonicalData(json.RawMessage(tt.in))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("CanonicalData(%.20q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("CanonicalData(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
		// Canonical data survives encoding/json both ways, byte for byte.
		if got != nil {
			b, _ := json.Marshal(Entry{Data: got})
			var back Entry
			if err := json.Unmarshal(b, &back); err != nil || string(back.Data) != string(got) {
				t.Errorf("round trip of %q gave %q", got, back.Data)
			}
		}
	}
}

func TestNormalizeRejects(t *testing.T) {
	tests := []struct {
		name string
		e    Entry
		want string
	}{
		{"no action", Entry{Actor: "a"}, "action"},
		{"upper-case action", Entry{Actor: "a", Action: "Login"}, "action"},
		{"no actor", Entry{Action: "login"}, "actor"},
		{"bad utf-8 actor", Entry{Actor: "\xff", Action: "login"}, "actor"},
		{"long object", Entry{Actor: "a", Action: "login", Object: strings.Repeat("o", MaxObject+1)}, "object"},
		{"bad data", Entry{Actor: "a", Action: "login", Data: json.RawMessage("{")}, "JSON"},
		{"old time", Entry{Actor: "a", Action: "login", Time: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)}, "time"},
	}
	for _, tt := range tests {
		if _, err := tt.e.normalize(time.Now); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// feed verifies entries and checkpoints in memory.
func feed(key []byte, es []Entry, cps []Checkpoint, opts Options) Report {
	v := NewVerifier(key, opts)
	for _, e := range es {
		v.Entry(e)
	}
	for _, c := range cps {
		v.Checkpoint(c)
	}
	return v.Report()
}

func TestVerifierDetects(t *testing.T) {
	key := newKey(t)
	other := newKey(t)
	tests := []struct {
		name   string
		tamper func(es []Entry, cps []Checkpoint) ([]Entry, []Checkpoint)
		opts   Options
		pub    []byte // nil: the right key
		seq    int64
		kind   string
	}{
		{"edit actor", func(es []Entry, cps []Checkpoint) ([]Entry, []Checkpoint) {
			es[6].Actor = "mallory"
			return es, cps
		}, Options{}, nil, 7, ProblemHash},
		{"edit data", func(es []Entry, cps []Checkpoint) ([]Entry, []Checkpoint) {
			es[11].Data = json.RawMessage(`{"n":0}`)
			return es, cps
		}, Options{}, nil, 12, ProblemHash},
		{"delete", func(es []Entry, cps []Checkpoint) ([]Entry, []Checkpoint) {
			return slices.Delete(es, 6, 7), cps
		}, Options{}, nil, 7, ProblemGap},
		{"delete first", func(es []Entry, cps []Checkpoint) ([]Entry, []Checkpoint) {
			return es[1:], cps
		}, Options{}, nil, 1, ProblemGap},
		{"swap", func(es []Entry, cps []Checkpoint) ([]Entry, []Checkpoint) {
			es[6], es[7] = es[7], es[6]
			return es, cps
		}, Options{}, nil, 7, ProblemGap},
		{"swap contents keeping seqs", func(es []Entry, cps []Checkpoint) ([]Entry, []Checkpoint) {
			es[6], es[7] = es[7], es[6]
			es[6].Seq, es[7].Seq = 7, 8
			return es, cps
		}, Options{}, nil, 7, ProblemLink},
		{"duplicate", func(es []Entry, cps []Checkpoint) ([]Entry, []Checkpoint) {
			return slices.Insert(es, 9, es[8]), cps
		}, Options{}, nil, 9, ProblemOrder},
		{"insert with rewritten chain", func(es []Entry, cps []Checkpoint) ([]Entry, []Checkpoint) {
			// The forger inserts after 12 and renumbers and rehashes
			// everything after it, but cannot sign.
			ins := es[11]
			ins.Object = "case:forged"
			es = slices.Insert(es, 12, ins)
			for i := 12; i < len(es); i++ {
				es[i].Seq, es[i].Prev = int64(i+1), es[i-1].Hash
				es[i].Hash = es[i].ComputeHash()
			}
			return es, cps
		}, Options{}, nil, 11, ProblemRewritten},
		{"truncate tail", func(es []Entry, cps []Checkpoint) ([]Entry, []Checkpoint) {
			return es[:27], cps
		}, Options{}, nil, 28, ProblemTruncated},
		{"forged signature", func(es []Entry, cps []Checkpoint) ([]Entry, []Checkpoint) {
			sig := []byte(cps[1].Sig)
			sig[0] ^= 1
			cps[1].Sig = string(sig)
			return es, cps
		}, Options{}, nil, 20, ProblemSignature},
		{"checkpoint moved", func(es []Entry, cps []Checkpoint) ([]Entry, []Checkpoint) {
			cps[0].Seq = 11
			return es, cps
		}, Options{}, nil, 11, ProblemSignature},
		{"other public key", func(es []Entry, cps []Checkpoint) ([]Entry, []Checkpoint) {
			return es, cps
		}, Options{}, other.Public().(ed25519.PublicKey), 10, ProblemSignature},
		{"bad genesis", func(es []Entry, cps []Checkpoint) ([]Entry, []Checkpoint) {
			es[0].Prev = strings.Repeat("1", 64)
			return es, cps
		}, Options{}, nil, 1, ProblemLink},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es, cps := buildChain(t, key, 30, 10)
			pub := key.Public().(ed25519.PublicKey)
			if tt.pub != nil {
				pub = tt.pub
			}
			es, cps = tt.tamper(es, cps)
			r := feed(pub, es, cps, tt.opts)
			p, ok := r.First()
			if !ok {
				t.Fatalf("tampering not detected: %+v", r)
			}
			if p.Seq != tt.seq || p.Kind != tt.kind {
				t.Errorf("first problem = %v, want seq %d kind %s\nall: %v", p, tt.seq, tt.kind, r.Problems)
			}
			if r.Err() == nil || !strings.Contains(r.Err().Error(), "seq ") {
				t.Errorf("Err() = %v", r.Err())
			}
		})
	}
}

func TestVerifierAcceptsValid(t *testing.T) {
	key := newKey(t)
	pub := key.Public().(ed25519.PublicKey)
	tests := []struct {
		name      string
		n, every  int
		drop      int // entries dropped from the front (partial)
		opts      Options
		signed    int64
		tail      int64
		cpsBefore bool
	}{
		{"empty", 0, 10, 0, Options{}, 0, 0, false},
		{"no checkpoint", 7, 0, 0, Options{}, 0, 7, false},
		{"signed end", 30, 10, 0, Options{}, 30, 0, false},
		{"tail", 34, 10, 0, Options{}, 30, 4, false},
		{"checkpoints first", 34, 10, 0, Options{}, 30, 4, true},
		{"partial", 34, 10, 15, Options{Partial: true}, 30, 4, false},
		{"partial unsigned", 9, 10, 3, Options{Partial: true}, 0, 6, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es, cps := buildChain(t, key, tt.n, tt.every)
			es = es[tt.drop:]
			v := NewVerifier(pub, tt.opts)
			if tt.cpsBefore {
				for _, c := range cps {
					v.Checkpoint(c)
				}
			}
			for _, e := range es {
				v.Entry(e)
			}
			if !tt.cpsBefore {
				for _, c := range cps {
					v.Checkpoint(c)
				}
			}
			r := v.Report()
			if !r.OK() || r.Err() != nil {
				t.Fatalf("valid chain reported broken: %v", r.Problems)
			}
			if r.SignedThrough != tt.signed || r.Tail != tt.tail || r.Entries != int64(len(es)) {
				t.Errorf("signed through %d, tail %d, entries %d; want %d, %d, %d", r.SignedThrough, r.Tail, r.Entries, tt.signed, tt.tail, len(es))
			}
			if tt.tail > 0 && !strings.Contains(r.Summary(), "unverified tail") {
				t.Errorf("summary does not mention the tail: %s", r.Summary())
			}
			// Report is repeatable.
			if r2 := v.Report(); len(r2.Problems) != len(r.Problems) || r2.Valid != r.Valid {
				t.Errorf("second Report differs: %+v vs %+v", r2, r)
			}
		})
	}
}
