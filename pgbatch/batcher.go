package pgbatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/semaphore"

	"github.com/beacon-analytics/beacon/store"
)

// Config bounds the buffer and shapes batches. Zero values take the defaults below.
type Config struct {
	BatchSize     int           // flush when this many events wait (default 5000)
	FlushInterval time.Duration // flush a partial batch this old (default 50ms)
	BufferBytes   int64         // memory held by buffered and in-flight events (default 64 MiB)
	Writers       int           // concurrent COPY transactions (default 2)
	RetryMin      time.Duration // first backoff after a transient error (default 100ms)
	RetryMax      time.Duration // longest backoff (default 5s)
	// RejectRetries is how often a batch that failed with a non-transient, non-data error (a
	// trigger bug: 42883, P0001, 42501, 21000 …) is retried whole before its rows are isolated,
	// in case a fix lands meanwhile (default 2; negative: none).
	RejectRetries int
	// LogEvery is the least time between two log lines about refused rows or retried flushes: in
	// between, they are counted and the next line carries the counts, so an attacker sending rows
	// PostgreSQL refuses cannot fill the log (default 10s).
	LogEvery time.Duration
}

func (c *Config) fill() {
	orDefault(&c.BatchSize, 5000)
	orDefault(&c.FlushInterval, 50*time.Millisecond)
	orDefault(&c.BufferBytes, 64<<20)
	orDefault(&c.Writers, 2)
	orDefault(&c.RetryMin, 100*time.Millisecond)
	orDefault(&c.RetryMax, 5*time.Second)
	orDefault(&c.LogEvery, 10*time.Second)
	if c.RejectRetries == 0 {
		c.RejectRetries = 2
	}
}

// orDefault sets *v to def unless it is positive.
func orDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// ErrClosed is returned by Add after Close began.
var ErrClosed = errors.New("pgbatch: closed")

// Batcher is the one buffer every connection adds to. Create it with New, start it with Run.
type Batcher struct {
	store  *store.Ingest
	cfg    Config
	obs    Observer
	budget *semaphore.Weighted
	logs   *batchLog // refused rows and retries: throttled log lines, and the count for /readyz

	// quarantine takes the rows of projects whose rows PostgreSQL refused out of a shared batch;
	// one goroutine retries and isolates them (splitProjects).
	quarantine chan job
	suspects   suspects      // projects whose rows go to the quarantine straight away
	closing    chan struct{} // closed with closed: the quarantine stops resting between jobs

	mu      sync.Mutex
	batch   items
	first   time.Time // when the oldest event of batch arrived
	closed  bool
	sending sync.WaitGroup // Adds handing a full batch to ready; ready closes after them
	ready   chan items
	stopped chan struct{}
}

// New makes a Batcher writing through pool, which should be sized to cfg.Writers and serve
// nothing else (store.OpenPools). obs may be nil.
func New(pool *pgxpool.Pool, cfg Config, log *slog.Logger, obs Observer) *Batcher {
	cfg.fill()
	if obs == nil {
		obs = nopObserver{}
	}
	return &Batcher{
		store:  store.NewIngest(pool),
		cfg:    cfg,
		obs:    obs,
		budget: semaphore.NewWeighted(cfg.BufferBytes),
		ready:  make(chan items, cfg.Writers),
		logs:   newBatchLog(log, cfg.LogEvery),
		// Room for every writer's failing projects of a few batches; a writer waits beyond that,
		// which slows only as much as the quarantine cannot keep up with.
		quarantine: make(chan job, 16*cfg.Writers),
		stopped:    make(chan struct{}),
		closing:    make(chan struct{}),
	}
}

// Add queues ev; done runs once when it is committed (nil) or refused by PostgreSQL (*RowError,
// usually Kept in beacon.events_rejected), or with ctx's or the shutdown's error if it could not
// be written. Add blocks while the buffer is full: that is the backpressure that makes a
// connection stop reading. It returns an error only when ev was not queued, and then done is not
// called.
func (b *Batcher) Add(ctx context.Context, ev Event, done func(error)) error {
	w := min(weight(&ev), b.cfg.BufferBytes)
	if err := b.budget.Acquire(ctx, w); err != nil {
		return fmt.Errorf("wait for buffer space: %w", err)
	}
	release := func(err error) {
		b.budget.Release(w)
		b.obs.Released(w)
		done(err)
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.budget.Release(w)
		return ErrClosed
	}
	if len(b.batch) == 0 {
		b.first = time.Now()
	}
	b.batch = append(b.batch, item{ev: ev, done: release})
	var full items
	if len(b.batch) >= b.cfg.BatchSize {
		full = b.take()
		b.sending.Add(1)
	}
	b.mu.Unlock()
	b.obs.Buffered(w)
	if full != nil {
		b.ready <- full
		b.sending.Done()
	}
	return nil
}

// take detaches the current batch; b.mu must be held. The next batch starts with room for as
// many events as this one had: a full-size slice (~0.9 MB at 5,000 events) for every batch
// flushed by age would be garbage at low rates, and memory the buffer limit does not see while
// a writer retries it during an outage.
func (b *Batcher) take() items {
	out := b.batch
	b.batch = make(items, 0, min(b.cfg.BatchSize, max(64, len(out))))
	return out
}

// Run flushes by age and runs the writers until Close has drained everything. ctx bounds retries:
// when it ends, events still unwritten get ctx's error.
func (b *Batcher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range b.cfg.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range b.ready {
				b.write(ctx, job{batch: batch, shared: true})
			}
		}()
	}
	quarantined := make(chan struct{})
	go func() { b.runQuarantine(ctx); close(quarantined) }()
	b.ageLoop()
	wg.Wait()
	close(b.quarantine) // the writers are done: nothing more can be sent to it
	<-quarantined
	b.logs.flush()
	close(b.stopped)
}

// ageLoop hands a partial batch to the writers once it is FlushInterval old; after Close it hands
// over the rest and closes the ready channel.
func (b *Batcher) ageLoop() {
	tick := time.NewTicker(max(b.cfg.FlushInterval/4, time.Millisecond))
	defer tick.Stop()
	for range tick.C {
		b.mu.Lock()
		var due items
		if len(b.batch) > 0 && (b.closed || time.Since(b.first) >= b.cfg.FlushInterval) {
			due = b.take()
		}
		closed := b.closed
		b.mu.Unlock()
		if due != nil {
			b.ready <- due
		}
		if closed {
			b.sending.Wait()
			close(b.ready)
			return
		}
	}
}

// Close stops taking events, flushes what is buffered and waits for the writers, or for ctx.
func (b *Batcher) Close(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.closing)
	}
	b.mu.Unlock()
	select {
	case <-b.stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close batcher: %w", ctx.Err())
	}
}
