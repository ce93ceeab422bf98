package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// fanout is a crowd of idle clients of one project that note when a flag push reaches them.
type fanout struct {
	conns   []*websocket.Conn
	initial atomic.Int64 // clients that received their connect-time flag set

	round  atomic.Int64 // current timed change; 0 before the first
	want   atomic.Bool  // the value the current change sets
	recv   []atomic.Int64
	seen   []atomic.Int64 // last round each client counted
	got    atomic.Int64
	target atomic.Int64
	done   chan struct{}

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// isOn reports whether a flags message has the bench flag on (jsonb's text form has a space).
func isOn(msg []byte) bool {
	return bytes.Contains(msg, []byte(`"bench": true`)) || bytes.Contains(msg, []byte(`"bench":true`))
}

// grow connects clients until there are n.
func (f *fanout) grow(ctx context.Context, r *relay, project string, n int) error {
	from := len(f.conns)
	more := make([]*websocket.Conn, n-from)
	if err := dialAll(ctx, func(i int) string {
		return r.wsURL(project, "s-"+itoa(from+i), "a-"+itoa(from+i))
	}, more); err != nil {
		return err
	}
	f.conns = append(f.conns, more...)
	// recv and seen are sized for the largest crowd up front (see benchFanout).
	run, cancel := context.WithCancel(context.Background())
	prev := f.cancel
	f.cancel = func() { cancel(); prev() }
	for i, c := range more {
		f.wg.Go(func() { f.read(run, c, from+i) })
	}
	deadline := time.Now().Add(2 * time.Minute)
	for f.initial.Load() < int64(n) {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d clients received their flags within 2 minutes", f.initial.Load(), n)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

func (f *fanout) read(ctx context.Context, c *websocket.Conn, i int) {
	first := true
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(data, []byte(`{"type":"flags"`)) {
			continue
		}
		now := time.Now().UnixNano()
		if first {
			first = false
			f.initial.Add(1)
			continue
		}
		rd := f.round.Load()
		if rd == 0 || isOn(data) != f.want.Load() || f.seen[i].Load() == rd {
			continue
		}
		f.seen[i].Store(rd)
		f.recv[i].Store(now)
		if f.got.Add(1) == f.target.Load() {
			close(f.done)
		}
	}
}

func (f *fanout) stop() {
	if f.cancel != nil {
		f.cancel()
	}
	closeAll(f.conns)
	f.wg.Wait()
}

// change flips the flag with a plain SQL UPDATE and returns, for every client, the time from just
// before COMMIT was sent to the push's arrival.
func (f *fanout) change(ctx context.Context, d *db, project string) ([]time.Duration, error) {
	n := len(f.conns)
	f.want.Store(!f.want.Load())
	f.got.Store(0)
	f.target.Store(int64(n))
	f.done = make(chan struct{})
	f.round.Add(1)
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `UPDATE beacon.flags SET enabled = $1 WHERE project_id = $2 AND key = 'bench'`, f.want.Load(), project); err != nil {
		_ = tx.Rollback(ctx)
		return nil, fmt.Errorf("update flag: %w", err)
	}
	t0 := time.Now().UnixNano()
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	select {
	case <-f.done:
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("%d of %d clients received the change within 30 s", f.got.Load(), n)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	lat := make([]time.Duration, n)
	for i := range lat {
		lat[i] = time.Duration(f.recv[i].Load() - t0)
	}
	return lat, nil
}

// benchFanout connects growing crowds of idle clients to one relay process and measures its
// resident memory per connection and (with timeFlags) the latency of flag pushes to all of them.
func benchFanout(ctx context.Context, e *env, timeFlags bool) error {
	d, projectID, err := e.freshProject(ctx, 4)
	if err != nil {
		return err
	}
	defer e.drop(d)
	project := projectID.String()
	if _, err := d.pool.Exec(ctx, `INSERT INTO beacon.flags (project_id, key, enabled) VALUES ($1, 'bench', false)`, project); err != nil {
		return fmt.Errorf("create flag: %w", err)
	}
	r, err := e.startRelay(ctx, d.url)
	if err != nil {
		return err
	}
	defer r.stop()
	largest := slices.Max(e.o.fanout)
	f := &fanout{recv: make([]atomic.Int64, largest), seen: make([]atomic.Int64, largest), cancel: func() {}}
	defer f.stop()

	// Baseline: the relay after serving one client, idle.
	if err := f.grow(ctx, r, project, 1); err != nil {
		return err
	}
	if err := sleep(ctx, 2*time.Second); err != nil {
		return err
	}
	base, err := rss(r.pid)
	if err != nil {
		return err
	}
	if timeFlags {
		e.printf("\n### Flag push latency and connection cost\n\n")
	} else {
		e.printf("\n### Connection cost\n\n")
	}
	e.printf("One relay process (defaults), N idle WebSocket clients of one project connected from this process. "+
		"Memory: the relay's VmRSS 3 s after the N-th client got its flags, minus its VmRSS with one client (%s). ", mib(base))
	if timeFlags {
		e.printf("Latency: from just before `COMMIT` of a plain SQL `UPDATE beacon.flags` (in this process) to the push's arrival at each client; "+
			"%d changes per N, all clients' arrivals pooled.\n\n", e.o.flagRuns)
		e.printf("| clients | relay VmRSS | per connection | p50 ms | p99 ms | max ms | slowest change's p99 ms |\n|---:|---:|---:|---:|---:|---:|---:|\n")
	} else {
		e.printf("\n\n| clients | relay VmRSS | per connection |\n|---:|---:|---:|\n")
	}
	for _, n := range e.o.fanout {
		e.logf("connecting %d clients", n)
		if err := f.grow(ctx, r, project, n); err != nil {
			return err
		}
		if err := sleep(ctx, 3*time.Second); err != nil {
			return err
		}
		now, err := rss(r.pid)
		if err != nil {
			return err
		}
		per := float64(now-base) / float64(n-1) / 1024
		if !timeFlags {
			e.printf("| %d | %s | %.1f KiB |\n", n, mib(now), per)
			continue
		}
		var all []time.Duration
		var worstP99 time.Duration
		for range e.o.flagRuns {
			lat, err := f.change(ctx, d, project)
			if err != nil {
				return fmt.Errorf("%d clients: %w", n, err)
			}
			slices.Sort(lat)
			worstP99 = max(worstP99, quantile(lat, 0.99))
			all = append(all, lat...)
			if err := sleep(ctx, 500*time.Millisecond); err != nil {
				return err
			}
		}
		slices.Sort(all)
		e.printf("| %d | %s | %.1f KiB | %s | %s | %s | %s |\n", n, mib(now), per,
			ms(quantile(all, 0.5)), ms(quantile(all, 0.99)), ms(all[len(all)-1]), ms(worstP99))
	}
	e.printf("\nTargets: p99 ≤ 50 ms at 10,000 clients; ≤ 25 KB (24.4 KiB) per connection at 10,000.\n")
	return nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func benchDashboard(ctx context.Context, e *env) error { return nil }
func benchOutage(ctx context.Context, e *env) error    { return nil }
