package exchange

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/acd-org/acd/intel/share"
	"github.com/acd-org/acd/intel/taxii/client"
)

// FuzzIngest feeds arbitrary partner objects (one JSON object per
// input, and the input split in two batches) through the Poller's intake:
// it must not panic, and counts must add up.
func FuzzIngest(f *testing.F) {
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	_, raws := jpObjects(f, at)
	for _, r := range raws {
		f.Add([]byte(r), []byte(raws[0]))
	}
	f.Add([]byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-11-26T10:00:00Z","modified":"2026-11-26T10:00:00Z","pattern":"[ipv4-addr:value = '198.51.100.3'] OR [domain-name:value = 'c2.example.com']","pattern_type":"stix","valid_from":"2026-11-26T10:00:00Z","labels":["c2"]}`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		sink := &memSink{}
		p := &Poller{Sink: sink, Now: func() time.Time { return at },
			Partners: []Remote{{Gate: &share.Gate{Agreement: inAgreement("jp", "", colJPtoUS, 80), Ledger: &share.MemLedger{}}, Client: &client.Client{}}}}
		if err := p.init(); err != nil {
			t.Fatal(err)
		}
		var st PollStats
		for _, batch := range [][]json.RawMessage{{a, b}, {b}} {
			if err := p.ingest(context.Background(), &p.Partners[0], batch, &st); err != nil {
				t.Fatal(err)
			}
		}
		if st.Received != 3 || st.Invalid+st.Accepted+st.Refused != st.Received {
			t.Fatalf("counts do not add up: %+v", st)
		}
		if st.Added != len(sink.added) || st.Withdrawn != len(sink.withdrawn) {
			t.Fatalf("stats %+v, sink %d added %d withdrawn", st, len(sink.added), len(sink.withdrawn))
		}
	})
}
