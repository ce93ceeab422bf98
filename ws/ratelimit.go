package ws

import (
	"math"
	"net/netip"
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

// costsDatabase reports whether a message of type typ makes the relay call PostgreSQL (an event's
// COPY, an identify's function call): those count against the project's rate.
func costsDatabase(typ string) bool {
	return typ == protocol.TypeEvent || typ == protocol.TypeIdentify
}

// projectLimiters hands out one token bucket per project.
type projectLimiters struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	m     map[uuid.UUID]*rate.Limiter
}

func newProjectLimiters(perSecond float64, burst int) *projectLimiters {
	return &projectLimiters{rate: limit(perSecond), burst: burst, m: map[uuid.UUID]*rate.Limiter{}}
}

// allow takes one token of project's bucket.
func (p *projectLimiters) allow(project uuid.UUID) bool {
	if p.rate == rate.Inf {
		return true
	}
	p.mu.Lock()
	l := p.m[project]
	if l == nil {
		l = rate.NewLimiter(p.rate, p.burst)
		p.m[project] = l
	}
	p.mu.Unlock()
	return l.Allow()
}

func limit(perSecond float64) rate.Limit {
	if perSecond <= 0 {
		return rate.Inf
	}
	return rate.Limit(perSecond)
}

// maxAddrLimiters bounds the per-address buckets kept: a sender cycling through addresses (IPv6
// makes that cheap) evicts entries instead of growing the relay's memory.
const maxAddrLimiters = 100_000

// addrLimiters hands out one token bucket per client address (HTTP ingest).
type addrLimiters struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	m     map[netip.Addr]*rate.Limiter
}

func newAddrLimiters(perSecond float64, burst int) *addrLimiters {
	return &addrLimiters{rate: limit(perSecond), burst: burst, m: map[netip.Addr]*rate.Limiter{}}
}

// allow takes n tokens of addr's bucket; when it cannot, it says how long until it could.
func (a *addrLimiters) allow(addr netip.Addr, n int) (bool, time.Duration) {
	if a.rate == rate.Inf || n <= 0 {
		return true, 0
	}
	a.mu.Lock()
	l := a.m[addr]
	if l == nil {
		if len(a.m) >= maxAddrLimiters {
			for k := range a.m { // random: costs nothing to track; the evicted starts full again
				delete(a.m, k)
				break
			}
		}
		l = rate.NewLimiter(a.rate, a.burst)
		a.m[addr] = l
	}
	a.mu.Unlock()
	now := time.Now()
	r := l.ReserveN(now, n)
	if !r.OK() { // more than the burst at once: never, but say when a bucket's worth refills
		return false, time.Duration(math.Ceil(float64(n)/float64(a.rate))) * time.Second
	}
	wait := r.DelayFrom(now)
	if wait == 0 {
		return true, 0
	}
	r.CancelAt(now)
	return false, wait
}
