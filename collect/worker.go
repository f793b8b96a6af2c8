package collect

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/acd-org/acd/flow"
)

// readBatch is one recvmmsg worth of datagrams, passed from a worker's
// reader to its decoder. The reader owns it until it is sent on the full
// channel; the decoder owns it until it returns it on the free channel.
type readBatch struct {
	bufs [][]byte        // one per datagram slot, MaxDatagram+1 bytes (+1 detects oversize datagrams)
	lens []int           // datagram lengths (at most len(bufs[i]))
	from []flow.Exporter // source addresses
	n    int             // datagrams in the batch
	at   time.Time       // receive time
	recv *recvState      // the kernel-facing headers for bufs
}

func newReadBatch(n, size int) *readBatch {
	b := &readBatch{bufs: make([][]byte, n), lens: make([]int, n), from: make([]flow.Exporter, n)}
	for i := range b.bufs {
		b.bufs[i] = make([]byte, size+1)
	}
	b.recv = newRecvState(b.bufs)
	return b
}

// expirer is implemented by decoders that keep state to age out.
type expirer interface{ Expire(now time.Time) }

// worker is one socket with its reader and decoder goroutines.
type worker struct {
	kind     Kind
	listener string // "netflow 0.0.0.0:2055 #0" etc.
	conn     *net.UDPConn
	rd       *batchReader
	dec      flow.Decoder
	sink     flow.Sink
	pool     *flow.BatchPool
	flushInt time.Duration
	maxDgram int
	log      *slog.Logger
	wm       *workerMetrics
	qDrops   prometheus.Counter
	sockDrop prometheus.Counter
	readErrs prometheus.Counter
	now      func() time.Time

	free, full chan *readBatch
	wg         sync.WaitGroup
}

// start launches the reader and decoder goroutines.
func (w *worker) start(queue, readN int) {
	w.free = make(chan *readBatch, queue+2)
	w.full = make(chan *readBatch, queue)
	for range queue + 2 {
		w.free <- newReadBatch(readN, w.maxDgram)
	}
	w.wg.Add(2)
	go w.read()
	go w.decode()
}

// read receives datagrams until the socket is closed. It never waits for
// the decoder: when the queue is full, the datagrams just read are
// dropped and counted, and the batch is reused.
func (w *worker) read() {
	defer w.wg.Done()
	defer close(w.full)
	cur := <-w.free
	var lastDrops uint64
	var lastPoll, lastErrLog time.Time
	for {
		n, err := w.rd.read(cur)
		now := w.now()
		if err != nil {
			if errClosed(err) {
				return
			}
			w.readErrs.Inc()
			if now.Sub(lastErrLog) >= time.Minute { // counted always, logged at most once a minute
				w.log.Warn("unable to read datagrams", "listener", w.listener, "error", err)
				lastErrLog = now
			}
			time.Sleep(10 * time.Millisecond) // a persistent error must not spin
			continue
		}
		cur.n, cur.at = n, now
		select {
		case w.full <- cur:
			cur = <-w.free // never blocks: queue+2 batches exist, at most queue+1 are out
		default:
			w.qDrops.Add(float64(n))
		}
		if now.Sub(lastPoll) >= time.Second {
			lastPoll = now
			if d, ok := socketDrops(w.conn); ok && d > lastDrops {
				w.sockDrop.Add(float64(d - lastDrops))
				lastDrops = d
			}
		}
	}
}

// decode turns read batches into record batches for the sink, flushing
// partly filled batches after flushInt, and drains the queue when the
// reader stops.
func (w *worker) decode() {
	defer w.wg.Done()
	ticker := time.NewTicker(w.flushInt)
	defer ticker.Stop()
	out := w.pool.Get()
	flushAt := w.pool.Size() * 3 / 4
	var oldest time.Time
	exp, hasExpire := w.dec.(expirer)
	lastExpire := w.now()
	flush := func() {
		if len(out.Records) == 0 {
			return
		}
		w.wm.m.batches.Inc()
		w.sink.Consume(out)
		out = w.pool.Get()
		oldest = time.Time{}
	}
	for {
		select {
		case rb, ok := <-w.full:
			if !ok {
				flush()
				out.Release()
				return
			}
			for i := range rb.n {
				before := len(out.Records)
				out.Records = w.decodeOne(rb.bufs[i][:rb.lens[i]], rb.from[i], rb.at, out.Records)
				if oldest.IsZero() && len(out.Records) > before {
					oldest = rb.at
				}
				if len(out.Records) >= flushAt {
					flush()
				}
			}
			w.free <- rb
		case now := <-ticker.C:
			if !oldest.IsZero() && now.Sub(oldest) >= w.flushInt {
				flush()
			}
			if hasExpire && now.Sub(lastExpire) >= time.Second {
				exp.Expire(now)
				lastExpire = now
			}
		}
	}
}

// decodeOne decodes one datagram, appending its records to out.
func (w *worker) decodeOne(pkt []byte, exp flow.Exporter, at time.Time, out []flow.Record) []flow.Record {
	if len(pkt) > w.maxDgram {
		w.wm.error(exp.Addr, flow.FormatUnknown, "datagram_too_large")
		return out
	}
	before := len(out)
	out, f, err := w.dec.Decode(pkt, exp, at, out)
	fm := w.wm.format(exp.Addr, f)
	fm.packets.Inc()
	fm.bytes.Add(float64(len(pkt)))
	if n := len(out) - before; n > 0 {
		fm.records.Add(float64(n))
	}
	if err != nil {
		reason := "invalid"
		var de *flow.DecodeError
		if errors.As(err, &de) {
			reason = de.Reason
		}
		w.wm.error(exp.Addr, f, reason)
	}
	return out
}
