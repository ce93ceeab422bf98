package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"time"
)

// dashDB and dashNoBrowser are set by flags registered here (main.go parses them): a copy of the
// kept data set under another name (e.g. one migrated to a branch's schema while another engineer
// measures the original), and the API timings without the Chromium ones.
var (
	dashDB        = flag.String("dash-db", "", "dashboard: measure this database instead of beacon_dashboard_<N> (a copy made with CREATE DATABASE … TEMPLATE; it must exist)")
	dashNoBrowser = flag.Bool("dash-no-browser", false, "dashboard: skip the Chromium page-load and live-tail measurements")
)

// dashDBName is the kept data set's database: -dash-db, else beacon_dashboard_<n>.
func dashDBName(n int64) string {
	if *dashDB != "" {
		return *dashDB
	}
	return fmt.Sprintf("beacon_dashboard_%d", n)
}

// benchDashboard measures issue 12's speed targets on a kept data set (bench/dashdata.go): the
// overview's API calls through a real relay and a signed-in session (dashapi.go), the overview
// page complete and the live tail in headless Chromium (dashbrowser.go), and, for the record,
// the analytics views' own queries in SQL.
func benchDashboard(ctx context.Context, e *env) error {
	ds, err := e.openDataset(ctx)
	if err != nil {
		return err
	}
	defer ds.close()
	e.printDataset(ds)
	if err := timeViews(ctx, e, ds); err != nil {
		return err
	}
	r, err := e.startRelay(ctx, ds.db.url)
	if err != nil {
		return err
	}
	defer r.stop()
	ds.settle(ctx, e)
	acct, err := e.dashAccount(ctx, ds.db.url)
	if err != nil {
		return err
	}
	if err := benchOverviewAPI(ctx, e, r, acct); err != nil {
		return err
	}
	if *dashNoBrowser {
		e.printf("\n(Chromium measurements skipped: -dash-no-browser.)\n")
		return nil
	}
	return benchBrowser(ctx, e, r, acct)
}

// benchDashLoad only loads (or resumes, or tops up) the data set: `go run ./bench dashload`
// prepares it ahead of a measurement.
func benchDashLoad(ctx context.Context, e *env) error {
	ds, err := e.openDataset(ctx)
	if err != nil {
		return err
	}
	defer ds.close()
	e.printDataset(ds)
	return nil
}

func (e *env) printDataset(ds *dataset) {
	e.printf("\n### Dashboard\n\n")
	how := fmt.Sprintf("loaded at this run in %s", ds.loaded.Round(time.Second))
	if ds.reused {
		how = fmt.Sprintf("kept from an earlier run (topped up with %d events to now, aggregates refreshed, in %s)", ds.toppedUp, ds.loaded.Round(time.Second))
	}
	e.printf("Data: database `%s`, %s: %d synthetic events in one project (UTC), event *i* stamped %s + *i* × %d µs "+
		"(the %d days before the load, then topped up to now at the same rate on every run), inserted on the server "+
		"(`INSERT … SELECT generate_series`, a day's worth per statement and transaction, %d at a time) through beacon.events' "+
		"triggers; ~10 events per session, 100,000 anonymous ids, a fifth of sessions identified, 60 %% page views with path, "+
		"referrer (5 sources), browser, device and OS; then `CALL beacon.maintain()`, `analytics.refresh()` and "+
		"`beacon.refresh_analytics()`, as the relay's tickers do.\n",
		ds.db.name, how, ds.events, ds.start.UTC().Format("2006-01-02 15:04 UTC"), ds.step, dashDays, max(e.o.dashWorkers, 1))
	e.printf("\nEvents in the project at this run: %d (counted in analytics.hourly_events).\n", ds.inProject)
	if ds.chunksDone < ds.chunks {
		e.printf("\n**Incomplete data set** (`-dash-no-load`): %d of the %d days loaded (the most recent first), so ranges reaching further back hold fewer events than the full set.\n",
			ds.chunksDone, ds.chunks)
	}
	if ds.loadedAt != ds.version {
		e.printf("\n**Note:** loaded at schema version %d, measured at %d: the rollups were written by the older triggers (`-dash-reload` loads anew).\n", ds.loadedAt, ds.version)
	}
}

// viewQuery is one query on an analytics view, as a BI tool or the API's SQL makes it.
type viewQuery struct {
	name, view, sql string
}

var viewQueries = []viewQuery{
	{"events over time (hourly, 7 days)", "analytics.hourly_events",
		`SELECT hour, sum(events) FROM analytics.hourly_events WHERE project_id = $1 AND hour >= now() - interval '7 days' GROUP BY hour ORDER BY hour`},
	{"daily figures (30 days)", "analytics.daily",
		`SELECT day, events, pageviews, visitors, users, sessions FROM analytics.daily WHERE project_id = $1 AND day > current_date - 30 ORDER BY day`},
	{"distinct visitors (30 days)", "analytics.visitors",
		`SELECT * FROM analytics.visitors($1, current_date - 29, current_date)`},
	{"top pages (30 days, daily rollup)", "analytics.daily_pageviews",
		`SELECT value, sum(pageviews) FROM analytics.daily_pageviews WHERE project_id = $1 AND dimension = 'page' AND day > current_date - 30 GROUP BY value ORDER BY 2 DESC LIMIT 10`},
	{"top events (30 days)", "analytics.top_events",
		`SELECT name, events_30d, events_7d, events_24h FROM analytics.top_events WHERE project_id = $1 ORDER BY events_30d DESC LIMIT 10`},
	{"top referrers (30 days)", "analytics.top_referrers",
		`SELECT referrer, pageviews_30d, pageviews_7d FROM analytics.top_referrers WHERE project_id = $1 ORDER BY rank LIMIT 10`},
}

// timeViews times each view query in SQL, without the API: what the rollups cost by themselves.
func timeViews(ctx context.Context, e *env, ds *dataset) error {
	runs := e.o.dashRuns
	e.printf("\n**Analytics views in SQL** (no API), each run %d times after 3 warm-ups, one at a time:\n\n", runs)
	e.printf("A query whose runs took more than %s in all is not run again (n).\n\n", e.o.dashBudget)
	e.printf("| query | view | rows | n | p50 ms | p95 ms | max ms |\n|---|---|---:|---:|---:|---:|---:|\n")
	for _, q := range viewQueries {
		var exists bool
		if err := ds.db.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL OR to_regproc($1) IS NOT NULL`, q.view).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			e.printf("| %s | %s (missing) | | | | | |\n", q.name, q.view)
			continue
		}
		var times []time.Duration
		var rows int
		var spent time.Duration
		for i := range runs + 3 {
			if spent > e.o.dashBudget && len(times) > 0 {
				break
			}
			t0 := time.Now()
			r, err := ds.db.pool.Query(ctx, q.sql, dashProject)
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			for rows = 0; r.Next(); rows++ {
			}
			if err := r.Err(); err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			spent += time.Since(t0)
			if i >= 3 || spent > e.o.dashBudget {
				times = append(times, time.Since(t0))
			}
		}
		slices.Sort(times)
		e.printf("| %s | %s | %d | %d | %s | %s | %s |\n", q.name, q.view, rows, len(times), ms(quantile(times, 0.5)), ms(quantile(times, 0.95)), ms(times[len(times)-1]))
	}
	return nil
}

// settle waits (at most a minute) until no other session of the database has been at work for
// two seconds: the relay's first refreshes after its start must not run during the timings.
func (ds *dataset) settle(ctx context.Context, e *env) {
	quiet := 0
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && quiet < 4; {
		var busy int
		if err := ds.db.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'`).Scan(&busy); err != nil {
			return
		}
		if quiet++; busy > 0 {
			quiet = 0
		}
		time.Sleep(500 * time.Millisecond)
	}
	if quiet < 4 {
		e.logf("dashboard: the database was still busy after a minute; measuring anyway")
	}
}
