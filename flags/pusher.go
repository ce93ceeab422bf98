// Package flags keeps every connected client's feature flags current. It LISTENs (pgxlisten) on
// the channel beacon.flags' trigger NOTIFYs, re-evaluates the changed project's flags for all its
// connected clients with one SQL call, and hands each client its new set. After every (re)connect
// of the listener it re-evaluates every project with clients, so a change made while the listener
// was down is not lost.
package flags

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgxlisten"

	"github.com/beacon-analytics/beacon/store"
)

// Channel is the NOTIFY channel beacon.flags_notify() sends project ids on (≤ 63 bytes).
const Channel = "beacon_flags"

// chunk bounds how many clients one evaluate_flags_many call covers: small enough that the first
// clients' writes overlap the next chunk's evaluation (p99 at 10k clients 304 → 231 ms against
// 5,000), large enough that the calls stay few.
const chunk = 1000

// clock orders flag evaluations; see Stamp.
var clock atomic.Uint64

// Stamp returns a number above every one returned before. Take it just before an evaluation
// starts: an evaluation that starts later sees every change committed before it, so among the
// sets a client is handed, the one with the highest stamp is the current one.
func Stamp() uint64 { return clock.Add(1) }

// Client is a connected client whose flags the Pusher keeps current.
type Client interface {
	// Identity is who flags are evaluated for: the anon id and, once identified, the user id.
	Identity() (anonID, userID string)
	// PushFlags hands the client its full evaluated set, from the evaluation stamped stamp
	// (Stamp). It must not block, and must drop a set whose stamp is below one it already has: a
	// push that started before an identify's own evaluation may arrive after it. Clients with the
	// same flags get the same *Set within one push.
	PushFlags(set *Set, stamp uint64)
}

// Registry lists connected clients; ws's connection registry implements it.
type Registry interface {
	Clients(project uuid.UUID) []Client
	Projects() []uuid.UUID
}

// Observer receives the pusher's measurements (for /metrics). Methods must not block.
type Observer interface {
	Pushed(project uuid.UUID, clients int, d time.Duration)
	ListenerReconnected()
}

// Pusher evaluates flags and pushes changes. Create it with New, run it with Run.
type Pusher struct {
	store     *store.Store
	connect   func(context.Context) (*pgx.Conn, error)
	reg       Registry
	log       *slog.Logger
	obs       Observer
	listening atomic.Bool

	mu    sync.Mutex
	dirty map[uuid.UUID]struct{}
	kick  chan struct{}
}

// New makes a Pusher that evaluates through a store on pool and listens on connections from
// connect (one dedicated connection at a time, outside the pool). obs may be nil.
func New(pool *pgxpool.Pool, connect func(context.Context) (*pgx.Conn, error), reg Registry, log *slog.Logger, obs Observer) *Pusher {
	return &Pusher{store: store.New(pool), connect: connect, reg: reg, log: log, obs: obs,
		dirty: map[uuid.UUID]struct{}{}, kick: make(chan struct{}, 1)}
}

// Listening reports whether the listener is connected and caught up (for /readyz).
func (p *Pusher) Listening() bool { return p.listening.Load() }

// Evaluate returns the flag set one client sees, as a JSON object of booleans (after identify).
func (p *Pusher) Evaluate(ctx context.Context, project uuid.UUID, anonID, userID string) ([]byte, error) {
	return p.store.EvaluateFlags(ctx, project, anonID, userID)
}

// Connect returns what a connecting client starts with: the user its anon id was identified as
// ("" when never) and its flag set.
func (p *Pusher) Connect(ctx context.Context, project uuid.UUID, anonID string) (userID string, set []byte, err error) {
	return p.store.Connect(ctx, project, anonID)
}

// Refresh schedules a re-evaluation of project's clients, as a notification would.
func (p *Pusher) Refresh(project uuid.UUID) {
	p.mu.Lock()
	p.dirty[project] = struct{}{}
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Run listens and pushes until ctx ends.
func (p *Pusher) Run(ctx context.Context) {
	l := &pgxlisten.Listener{
		Connect:        p.connect,
		ReconnectDelay: 500 * time.Millisecond,
		LogError: func(ctx context.Context, err error) {
			p.listening.Store(false)
			if ctx.Err() == nil {
				p.log.Warn("flag listener", "error", err)
			}
		},
	}
	l.Handle(Channel, handler{p})
	var wg sync.WaitGroup
	wg.Go(func() { p.work(ctx) })
	_ = l.Listen(ctx) // returns only with ctx's error
	p.listening.Store(false)
	wg.Wait()
}

type handler struct{ p *Pusher }

func (h handler) HandleNotification(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	project, err := uuid.Parse(n.Payload)
	if err != nil {
		return fmt.Errorf("notification payload %q: %w", n.Payload, err)
	}
	h.p.Refresh(project)
	return nil
}

// HandleBacklog runs after every LISTEN: anything may have changed while no one listened.
func (h handler) HandleBacklog(context.Context, string, *pgx.Conn) error {
	if h.p.obs != nil {
		h.p.obs.ListenerReconnected()
	}
	for _, project := range h.p.reg.Projects() {
		h.p.Refresh(project)
	}
	h.p.listening.Store(true)
	return nil
}

// work re-evaluates dirty projects one after another; notifications that arrive meanwhile fold
// into the next round.
func (p *Pusher) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.kick:
		}
		p.mu.Lock()
		due := p.dirty
		p.dirty = map[uuid.UUID]struct{}{}
		p.mu.Unlock()
		for project := range due {
			if err := p.push(ctx, project); err != nil && ctx.Err() == nil {
				p.log.Warn("push flags", "project", project, "error", err)
				time.AfterFunc(time.Second, func() { // retry
					if ctx.Err() == nil {
						p.Refresh(project)
					}
				})
			}
		}
	}
}

// push evaluates every client of project, chunk by chunk, and hands each its set; clients whose
// sets are equal share one *Set, so the message is built once per distinct set.
func (p *Pusher) push(ctx context.Context, project uuid.UUID) error {
	start := time.Now()
	clients := p.reg.Clients(project)
	sets := interner{}
	for part := range slices.Chunk(clients, chunk) {
		anons, users := make([]string, len(part)), make([]string, len(part))
		for i, c := range part {
			anons[i], users[i] = c.Identity()
		}
		stamp := Stamp()
		err := p.store.EvaluateFlagsMany(ctx, project, anons, users, func(i int, set []byte) {
			part[i].PushFlags(sets.set(set), stamp)
		})
		if err != nil {
			return fmt.Errorf("push flags: %w", err)
		}
	}
	if p.obs != nil {
		p.obs.Pushed(project, len(clients), time.Since(start))
	}
	return nil
}
