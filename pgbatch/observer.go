package pgbatch

import "time"

// Observer receives the batcher's measurements (for /metrics). Methods must not block.
type Observer interface {
	Buffered(bytes int64)                                // an event entered the buffer
	Flushed(rows int, d time.Duration, err error)        // one COPY transaction ended
	Committed(rows int)                                  // rows written (duplicates included)
	Rejected(code string, rows int)                      // rows PostgreSQL refused, set aside with SQLSTATE code
	Released(bytes int64)                                // buffer space freed
	Retrying(err error, attempt int, wait time.Duration) // a transient error will be retried
}

type nopObserver struct{}

func (nopObserver) Buffered(int64)                     {}
func (nopObserver) Flushed(int, time.Duration, error)  {}
func (nopObserver) Committed(int)                      {}
func (nopObserver) Rejected(string, int)               {}
func (nopObserver) Released(int64)                     {}
func (nopObserver) Retrying(error, int, time.Duration) {}
