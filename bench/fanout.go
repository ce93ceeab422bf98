package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
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
	var baseMem memStats
	if e.o.profile != "" {
		if baseMem, err = r.memstats(ctx); err != nil {
			return err
		}
	}
	var breakdown []string
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
		e.printf("Alone: the same `beacon.evaluate_flags_many` call the relay makes, for all N clients, timed from this process right after. " +
			"CPU: µs per client per change spent by the relay, this process (the clients) and PostgreSQL.\n\n")
		e.printf("| clients | relay VmRSS | per connection | first ms | p50 ms | p99 ms | max ms | slowest change's p99 ms | evaluation alone ms | CPU µs per client: relay, clients, PostgreSQL |\n" +
			"|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
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
		if e.o.profile != "" {
			m, err := r.memstats(ctx)
			if err != nil {
				return err
			}
			kib := func(a, b uint64) string { return fmt.Sprintf("%.1f", (float64(a)-float64(b))/float64(n-1)/1024) }
			breakdown = append(breakdown, fmt.Sprintf("| %d | %s | %s | %s | %s | %s |", n, kib(m.StackInuse, baseMem.StackInuse),
				kib(m.HeapAlloc, baseMem.HeapAlloc), kib(m.HeapInuse, baseMem.HeapInuse),
				kib(m.HeapIdle-m.HeapReleased, baseMem.HeapIdle-baseMem.HeapReleased), kib(m.Sys, baseMem.Sys)))
		}
		if !timeFlags {
			e.printf("| %d | %s | %.1f KiB |\n", n, mib(now), per)
			continue
		}
		var profiled chan struct{} // closed when the CPU profile of the changes is saved
		if e.o.profile != "" && n == largest {
			for _, p := range []string{"heap", "goroutine"} {
				path := filepath.Join(e.o.profile, fmt.Sprintf("relay-%dclients.%s.pprof", n, p))
				if err := r.saveProfile(ctx, p, path); err != nil {
					return err
				}
				e.logf("wrote %s", path)
			}
			path := filepath.Join(e.o.profile, fmt.Sprintf("relay-%dclients-flags.cpu.pprof", n))
			profiled = make(chan struct{})
			go func() { // covers the changes below; waited for before the relay stops
				defer close(profiled)
				if err := r.cpuProfile(ctx, time.Duration(e.o.flagRuns)*time.Second, path); err != nil {
					e.logf("%v", err)
					return
				}
				e.logf("wrote %s", path)
			}()
		}
		var all []time.Duration
		var worstP99, first time.Duration
		first = time.Hour
		pm := postmasterPID(e.o.pgdata)
		c0, t0 := takeCPU(r.pid, pm), time.Now()
		for range e.o.flagRuns {
			lat, err := f.change(ctx, d, project)
			if err != nil {
				return fmt.Errorf("%d clients: %w", n, err)
			}
			slices.Sort(lat)
			worstP99 = max(worstP99, quantile(lat, 0.99))
			first = min(first, lat[0])
			all = append(all, lat...)
			if err := sleep(ctx, 500*time.Millisecond); err != nil {
				return err
			}
		}
		secs := time.Since(t0).Seconds()
		cpu := cpuBetween(c0, takeCPU(r.pid, pm), secs)
		if profiled != nil {
			<-profiled
		}
		perClient := func(cores float64) string { return f2(cores * secs * 1e6 / float64(e.o.flagRuns*n)) }
		alone, err := evaluateAlone(ctx, d, project, n)
		if err != nil {
			return err
		}
		slices.Sort(all)
		e.printf("| %d | %s | %.1f KiB | %s | %s | %s | %s | %s | %s | %s, %s, %s |\n", n, mib(now), per, ms(first),
			ms(quantile(all, 0.5)), ms(quantile(all, 0.99)), ms(all[len(all)-1]), ms(worstP99), ms(alone),
			perClient(cpu.relay), perClient(cpu.bench), perClient(cpu.postgres))
	}
	e.printf("\nTargets: p99 ≤ 50 ms at 10,000 clients; ≤ 25 KB (24.4 KiB) per connection at 10,000.\n")
	if len(breakdown) > 0 {
		e.printf("\nWhere the memory is (runtime.MemStats of the relay, KiB per connection above the one-client baseline):\n\n"+
			"| clients | goroutine stacks | live heap | heap in use | heap idle, not returned | Sys |\n|---:|---:|---:|---:|---:|---:|\n%s\n",
			strings.Join(breakdown, "\n"))
	}
	return nil
}

// evaluateAlone times the relay's flag evaluation for n clients, as the pusher calls it (in
// chunks of 5,000), best of three.
func evaluateAlone(ctx context.Context, d *db, project string, n int) (time.Duration, error) {
	best := time.Hour
	for range 3 {
		start := time.Now()
		for lo := 0; lo < n; lo += 5000 {
			var anons, users []string
			for i := lo; i < min(lo+5000, n); i++ {
				anons, users = append(anons, "a-"+itoa(i)), append(users, "")
			}
			rows, err := d.pool.Query(ctx, `SELECT idx, flags::text FROM beacon.evaluate_flags_many($1, $2, $3)`, project, anons, users)
			if err != nil {
				return 0, fmt.Errorf("evaluate alone: %w", err)
			}
			for rows.Next() {
			}
			if err := rows.Err(); err != nil {
				return 0, fmt.Errorf("evaluate alone: %w", err)
			}
		}
		best = min(best, time.Since(start))
	}
	return best, nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
