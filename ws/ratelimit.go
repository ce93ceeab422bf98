package ws

import (
	"sync"

	"github.com/google/uuid"
	"golang.org/x/time/rate"
)

// RateLimits bound how fast clients may send. Zero rates mean no limit.
type RateLimits struct {
	PerConn         float64 // messages per second on one WebSocket
	PerConnBurst    int
	PerProject      float64 // events per second for one project on this relay (WebSocket and HTTP)
	PerProjectBurst int
	Strikes         int // consecutive rate-limited messages before the connection is closed (1008)
	MaxConns        int // WebSocket connections on this relay
	MaxConnsProject int // WebSocket connections of one project on this relay
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
