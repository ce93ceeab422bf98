package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ingestWindow is the unacknowledged events all clients together keep in flight; each client's
// window is its share (at least 8). 30,000 lets both COPY writers work on full 5,000-row batches
// while a third fills.
const ingestWindow = 30_000

// benchIngest runs, in each of several rounds, the raw ceiling, COPY into a bare table, the relay
// at each connection count and one-row INSERTs, and reports the ratios within each round (the
// machine is shared: neighbouring runs see the same load) and their medians.
func benchIngest(ctx context.Context, e *env) error {
	e.printf("\n### Ingest vs the ceiling\n\n")
	e.printf("%d rounds; in each, every line ran %s (relay runs after a 2 s warm-up, INSERT runs %s) against a fresh database cloned from the migrated template. "+
		"Events: 100–200 byte props, UUIDv7 ids, ts now, one session per client (100 sessions for COPY and INSERT). Relay with its defaults "+
		"(5,000-row batches, 50 ms flush, 2 COPY writers) and rate limits off. CPU: cores used during the run by the relay process, this process "+
		"(the load generator or the COPY/INSERT client), the bench cluster's PostgreSQL, and everything else on the machine.\n\n",
		e.o.rounds, e.o.dur, insertDur(e))
	e.printf("| round | run | rows/s | CPU µs per row | CPU (cores) |\n|---|---|---:|---:|---|\n")
	ratios := map[string][]float64{}
	var order []string
	perEvent := map[string][]float64{} // CPU µs per event of the relay and the load generator
	var perEventOrder []string
	addPerEvent := func(name string, v float64) {
		if _, ok := perEvent[name]; !ok {
			perEventOrder = append(perEventOrder, name)
		}
		perEvent[name] = append(perEvent[name], v)
	}
	add := func(name string, v float64) {
		if _, ok := ratios[name]; !ok {
			order = append(order, name)
		}
		ratios[name] = append(ratios[name], v)
	}
	for round := 1; round <= e.o.rounds; round++ {
		ceiling, err := e.copyRun(ctx, false, 100)
		if err != nil {
			return err
		}
		e.printf("| %d | ceiling: pgx.CopyFrom into beacon.events, 5,000-row batches, 2 writers | %.0f | %.1f | %s |\n", round, ceiling.rate(), ceiling.cost(), ceiling.cpu)
		bare, err := e.copyRun(ctx, true, 100)
		if err != nil {
			return err
		}
		e.printf("| %d | bare: the same COPY into a copy of beacon.events without indexes or triggers | %.0f | %.1f | %s |\n", round, bare.rate(), bare.cost(), bare.cpu)
		relay, relayCost := map[int]float64{}, map[int]float64{}
		for _, c := range e.o.conns {
			w := max(ingestWindow/c, 8)
			profile := ""
			if e.o.profile != "" && round == 1 {
				profile = filepath.Join(e.o.profile, fmt.Sprintf("relay-c%d.cpu.pprof", c))
			}
			res, err := e.relayRun(ctx, c, w, profile)
			if err != nil {
				return fmt.Errorf("relay with %d connections: %w", c, err)
			}
			relay[c] = res.rate()
			relayCost[c] = res.cost()
			addPerEvent(fmt.Sprintf("relay process (C=%d)", c), res.cpu.relay*1e6/res.rate())
			addPerEvent(fmt.Sprintf("load generator (C=%d)", c), res.cpu.bench*1e6/res.rate())
			e.printf("| %d | relay, %d WebSocket connections (window %d per connection) | %.0f | %.1f | %s |\n", round, c, w, res.rate(), res.cost(), res.cpu)
		}
		insert, err := e.insertRun(ctx)
		if err != nil {
			return err
		}
		e.printf("| %d | one-row INSERT in autocommit into beacon.events, 2 connections | %.0f | %.1f | %s |\n", round, insert.rate(), insert.cost(), insert.cpu)
		for _, c := range e.o.conns {
			add(fmt.Sprintf("relay (C=%d) / ceiling", c), relay[c]/ceiling.rate())
		}
		for _, c := range e.o.conns {
			add(fmt.Sprintf("relay (C=%d) / one-row INSERT", c), relay[c]/insert.rate())
		}
		add("ceiling (with the design) / bare", ceiling.rate()/bare.rate())
		for _, c := range e.o.conns {
			add(fmt.Sprintf("CPU per row: ceiling / relay (C=%d)", c), ceiling.cost()/relayCost[c])
		}
		add("CPU per row: bare / ceiling", bare.cost()/ceiling.cost())
		add("one-row INSERT / ceiling", insert.rate()/ceiling.rate())
	}
	targets := map[string]string{"relay (C=100) / ceiling": "≥ 0.6", "relay (C=100) / one-row INSERT": "≥ 10", "ceiling (with the design) / bare": "≥ 0.5"}
	e.printf("\n| ratio (same round) | median | per round | target |\n|---|---:|---|---|\n")
	for _, name := range order {
		e.printf("| %s | %.2f | %s | %s |\n", name, median(ratios[name]), joinf(ratios[name]), targets[name])
	}
	e.printf("\n| CPU µs per committed event | median | per round |\n|---|---:|---|\n")
	for _, name := range perEventOrder {
		e.printf("| %s | %.2f | %s |\n", name, median(perEvent[name]), joinf(perEvent[name]))
	}
	return nil
}

func insertDur(e *env) time.Duration { return min(e.o.dur, 3*time.Second) }

// copyRun is one ceiling (or bare) run in a fresh database.
func (e *env) copyRun(ctx context.Context, bare bool, clients int) (copyResult, error) {
	d, project, err := e.freshProject(ctx, 4)
	if err != nil {
		return copyResult{}, err
	}
	defer e.drop(d)
	table := pgx.Identifier{"beacon", "events"}
	if bare {
		if err := makeBare(ctx, d); err != nil {
			return copyResult{}, err
		}
		table = pgx.Identifier{"bare", "events"}
	}
	e.logf("COPY into %s for %s", table.Sanitize(), e.o.dur)
	return e.copyFor(ctx, d, table, newRowSource(project, clients), 2, 5000, e.o.dur)
}

func (e *env) insertRun(ctx context.Context) (copyResult, error) {
	d, project, err := e.freshProject(ctx, 4)
	if err != nil {
		return copyResult{}, err
	}
	defer e.drop(d)
	dur := insertDur(e)
	e.logf("one-row INSERTs for %s", dur)
	return e.insertFor(ctx, d, newRowSource(project, 100), 2, dur)
}

func (e *env) freshProject(ctx context.Context, conns int32) (*db, uuid.UUID, error) {
	d, err := e.freshDB(ctx, conns)
	if err != nil {
		return nil, uuid.Nil, err
	}
	id, err := d.project(ctx)
	if err != nil {
		e.drop(d)
		return nil, uuid.Nil, err
	}
	return d, uuid.MustParse(id), nil
}

// relayRun starts a relay on a fresh database, connects `conns` load-generator clients and
// measures acknowledged (committed) events per second after a warm-up.
func (e *env) relayRun(ctx context.Context, conns, window int, profile string) (copyResult, error) {
	d, project, err := e.freshProject(ctx, 4)
	if err != nil {
		return copyResult{}, err
	}
	defer e.drop(d)
	r, err := e.startRelay(ctx, d.url)
	if err != nil {
		return copyResult{}, err
	}
	defer r.stop()
	e.logf("relay: %d connections, window %d, for %s", conns, window, e.o.dur)
	l, err := startLoad(ctx, func(i int) string {
		return r.wsURL(project.String(), "s-"+itoa(i), "a-"+itoa(i))
	}, conns, window)
	if err != nil {
		return copyResult{}, err
	}
	defer l.stop()
	if err := sleep(ctx, 2*time.Second); err != nil {
		return copyResult{}, err
	}
	pm := postmasterPID(e.o.pgdata)
	a0, c0, t0 := l.acked.Load(), takeCPU(r.pid, pm), time.Now()
	if profile != "" {
		// The load generator is this process: profile it over the same span as the relay.
		lgPath := filepath.Join(filepath.Dir(profile), strings.Replace(filepath.Base(profile), "relay-", "loadgen-", 1))
		lg, err := os.Create(lgPath)
		if err != nil {
			return copyResult{}, err
		}
		defer lg.Close()
		if err := pprof.StartCPUProfile(lg); err != nil {
			return copyResult{}, err
		}
		err = r.cpuProfile(ctx, e.o.dur-time.Second, profile)
		pprof.StopCPUProfile()
		if err != nil {
			return copyResult{}, err
		}
		e.logf("wrote %s and %s", profile, lgPath)
	}
	if err := sleep(ctx, e.o.dur-time.Since(t0)); err != nil {
		return copyResult{}, err
	}
	a1, c1, secs := l.acked.Load(), takeCPU(r.pid, pm), time.Since(t0).Seconds()
	if n := l.errs.Load(); n > 0 {
		return copyResult{}, fmt.Errorf("%d error replies from the relay, the first: %v\n%s", n, l.errMsg.Load(), r.logs)
	}
	if n := l.closes.Load(); n > 0 {
		return copyResult{}, fmt.Errorf("%d connections closed by the relay\n%s", n, r.logs)
	}
	l.stop()
	r.stop()
	rows, err := d.count(ctx)
	if err != nil {
		return copyResult{}, err
	}
	if rows < l.acked.Load() {
		return copyResult{}, fmt.Errorf("%d events acknowledged but only %d rows stored", l.acked.Load(), rows)
	}
	return copyResult{rows: a1 - a0, secs: secs, cpu: cpuBetween(c0, c1, secs)}, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
