package ws

import (
	"math"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/beacon-analytics/beacon/protocol"
)

// RateLimits bound how fast clients may send. Zero rates mean no limit.
type RateLimits struct {
	PerConn         float64 // messages per second on one WebSocket
	PerConnBurst    int
	PerProject      float64 // events and identifies per second for one project on this relay (WebSocket and HTTP)
	PerProjectBurst int
	PerAddr         float64 // messages per second from one client address over HTTP ingest
	PerAddrBurst    int
	Strikes         int // consecutive rate-limited messages before the connection is closed (1008)
	MaxConns        int // WebSocket connections on this relay
	MaxConnsProject int // WebSocket connections of one project on this relay
	MaxConnsAddr    int // WebSocket connections from one client address on this relay
}

// projectAllows takes a token of project's bucket for a message of type typ that makes the relay
// call PostgreSQL (an event's COPY, an identify's function call); other messages cost none.
func (s *Server) projectAllows(project uuid.UUID, typ string) bool {
	if typ != protocol.TypeEvent && typ != protocol.TypeIdentify {
		return true
	}
	ok, _ := s.perProj.allow(project, 1)
	return ok
}

// maxLimiters bounds the buckets kept per key: a sender cycling through addresses (IPv6 makes that
// cheap) evicts entries instead of growing the relay's memory; an evicted bucket starts full again.
const maxLimiters = 100_000

// limiters hands out one token bucket per key: a project, a client address (HTTP ingest).
type limiters[K comparable] struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	m     map[K]*rate.Limiter
}

func newLimiters[K comparable](perSecond float64, burst int) *limiters[K] {
	return &limiters[K]{rate: limit(perSecond), burst: burst, m: map[K]*rate.Limiter{}}
}

func limit(perSecond float64) rate.Limit {
	if perSecond <= 0 {
		return rate.Inf
	}
	return rate.Limit(perSecond)
}

// allow takes n tokens of key's bucket; when it cannot, it says how long until it could.
func (k *limiters[K]) allow(key K, n int) (bool, time.Duration) {
	if k.rate == rate.Inf || n <= 0 {
		return true, 0
	}
	k.mu.Lock()
	l := k.m[key]
	if l == nil {
		makeRoom(k.m, maxLimiters)
		l = rate.NewLimiter(k.rate, k.burst)
		k.m[key] = l
	}
	k.mu.Unlock()
	now := time.Now()
	switch {
	case l.AllowN(now, n):
		return true, 0
	case n > k.burst: // never: say when a bucket's worth refills
		return false, time.Duration(math.Ceil(float64(n)/float64(k.rate))) * time.Second
	}
	return false, time.Duration((float64(n) - l.TokensAt(now)) / float64(k.rate) * float64(time.Second))
}

// makeRoom evicts one entry of m when it holds max. The one evicted is whichever the map yields
// first: random, which costs nothing to track; an evicted entry costs a query or a full bucket.
func makeRoom[K comparable, V any](m map[K]V, max int) {
	if len(m) < max {
		return
	}
	for k := range m {
		delete(m, k)
		return
	}
}
