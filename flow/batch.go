package flow

import "sync"

// DefaultBatchSize is the record capacity of a batch from a BatchPool made
// with size 0.
const DefaultBatchSize = 1024

// Batch is a slice of records that travels between stages as one unit.
// Ownership passes with the batch: the stage that receives a batch may read
// and modify its records until it calls Release (or passes it on); after
// that it must not touch it.
type Batch struct {
	Records []Record
	pool    *BatchPool
}

// Release returns b to the pool it came from. Batches not from a pool are
// left to the garbage collector.
func (b *Batch) Release() {
	if b == nil || b.pool == nil {
		return
	}
	b.Records = b.Records[:0]
	b.pool.p.Put(b)
}

// BatchPool hands out batches whose backing arrays are reused. It is safe
// for concurrent use.
type BatchPool struct {
	size int
	p    sync.Pool
}

// NewBatchPool returns a pool of batches with capacity size records (0
// means DefaultBatchSize).
func NewBatchPool(size int) *BatchPool {
	if size <= 0 {
		size = DefaultBatchSize
	}
	bp := &BatchPool{size: size}
	bp.p.New = func() any {
		return &Batch{Records: make([]Record, 0, bp.size), pool: bp}
	}
	return bp
}

// Size returns the record capacity of the pool's batches.
func (bp *BatchPool) Size() int { return bp.size }

// Get returns an empty batch.
func (bp *BatchPool) Get() *Batch {
	b := bp.p.Get().(*Batch)
	b.Records = b.Records[:0]
	return b
}

// Sink receives batches. Consume takes ownership of the batch (see Batch).
// Implementations must be safe for concurrent use: every collector worker
// calls Consume from its own goroutine. Consume may block to apply
// back-pressure; it returns when the batch is accepted.
type Sink interface {
	Consume(b *Batch)
}

// SinkFunc adapts a function to the Sink interface.
type SinkFunc func(b *Batch)

// Consume calls f(b).
func (f SinkFunc) Consume(b *Batch) { f(b) }
