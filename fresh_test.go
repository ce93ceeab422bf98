package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/store"
)

// TestRelayScheduleKeepsDailyFresh drives the relay's freshness loop (every, with store.KeepFresh
// as beacon_relay) one tick at a time: new events reach analytics.hourly_events on the next tick
// and analytics.daily on the first tick once refresh_interval has passed since its last refresh —
// the bound docs/bi.md states (refresh_interval, default 2 s, plus the 1 s tick). The passing of
// the interval is simulated by moving the last refresh back, not slept.
func TestRelayScheduleKeepsDailyFresh(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	pool, err := pgxpool.New(context.Background(), db.LoginAs(t, "beacon_relay"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool)

	ticks, done := make(chan time.Time), make(chan error)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		every(ctx, ticks, func(ctx context.Context) error { err := st.KeepFresh(ctx); done <- err; return err }, slog.New(slog.DiscardHandler))
	}()
	defer func() { cancel(); <-stopped }()
	tick := func() {
		t.Helper()
		ticks <- time.Now()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(time.Minute):
			t.Fatal("keep_fresh did not return within a minute")
		}
	}
	count := func(sql string, args ...any) int {
		t.Helper()
		var n int
		if err := db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	var p string
	if err := db.Pool.QueryRow(context.Background(), `INSERT INTO beacon.projects (name) VALUES ('fresh') RETURNING project_id::text`).Scan(&p); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(context.Background(), `UPDATE beacon.settings SET refresh_interval = '10 minutes'`); err != nil {
		t.Fatal(err) // longer than any test run: only the simulated passing of it may let daily refresh
	}
	if _, err := db.Pool.Exec(context.Background(), `UPDATE beacon.freshness SET refreshed_at = '-infinity'`); err != nil {
		t.Fatal(err) // the first tick refreshes everything, whenever the template was built
	}
	tick()
	if _, err := db.Pool.Exec(context.Background(), `
		INSERT INTO beacon.events (project_id, event_id, session_id, anon_id, name, props, ts, received_at)
		SELECT $1, gen_random_uuid(), 's', 'a', 'e', '{}', now(), now() FROM generate_series(1, 3)`, p); err != nil {
		t.Fatal(err)
	}
	tick()
	if n := count(`SELECT coalesce(sum(events), 0) FROM analytics.hourly_events WHERE project_id = $1`, p); n != 3 {
		t.Errorf("hourly_events = %d on the tick after the commit, want 3", n)
	}
	if n := count(`SELECT count(*) FROM analytics.daily WHERE project_id = $1`, p); n != 0 {
		t.Errorf("daily refreshed before refresh_interval passed")
	}
	if _, err := db.Pool.Exec(context.Background(), `UPDATE beacon.freshness SET refreshed_at = refreshed_at - interval '10 minutes'`); err != nil {
		t.Fatal(err)
	}
	tick()
	if n := count(`SELECT coalesce(sum(events), 0) FROM analytics.daily WHERE project_id = $1`, p); n != 3 {
		t.Errorf("daily events = %d on the first tick after refresh_interval, want 3", n)
	}
	if n := count(`SELECT count(*) FROM analytics.freshness WHERE view_name = 'daily' AND as_of >= (SELECT max(received_at) FROM beacon.events)`); n != 1 {
		t.Errorf("analytics.freshness does not show daily as of after the events")
	}
}
