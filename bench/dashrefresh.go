package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

const dashProject = "00000000-0000-4000-8000-00000000da5b"

// generateSQL inserts events number lo..hi-1 of n spread evenly over the 30 days before now,
// on the server: ~10 events per session, 100,000 anonymous ids, a fifth of sessions identified
// (20,000 users), 60 % page views with page, referrer, browser, device and OS props.
const generateSQL = `
INSERT INTO beacon.events (project_id, event_id, session_id, anon_id, user_id, name, props, ts, received_at)
SELECT $1, gen_random_uuid(), 's-' || (i / 10), 'a-' || ((i / 10) * 7919 % 100000),
       CASE WHEN (i / 10) % 5 = 0 THEN 'u-' || ((i / 10) * 7919 % 20000) END,
       (ARRAY['$pageview','$pageview','$pageview','$pageview','$pageview','$pageview','click','click','scroll','signup'])[1 + (i * 2654435761) % 10],
       jsonb_build_object(
           'path', (ARRAY['/','/pricing','/docs','/docs/api','/blog/self-hosting','/signup','/login','/settings','/changelog','/integrations'])[1 + (i / 10 * 31 + i) % 10],
           'referrer', (ARRAY['','https://www.google.com/','https://news.ycombinator.com/','https://github.com/','https://duckduckgo.com/'])[1 + (i / 10) % 5],
           'browser', (ARRAY['Chrome','Firefox','Safari','Edge'])[1 + (i / 10) % 4],
           'device', (ARRAY['desktop','mobile','tablet'])[1 + (i / 10) % 3],
           'os', (ARRAY['Windows','macOS','Linux','iOS','Android'])[1 + (i / 10) % 5],
           'title', 'Beacon – a page title of realistic length'),
       t, t
FROM generate_series($2::bigint, $3::bigint - 1) i,
     LATERAL (SELECT $5::timestamptz + i * ($4::bigint * interval '1 microsecond')) x (t)`

// benchRefresh loads synthetic history through the real triggers into a fresh database and
// times the refresh after a new hour at two history sizes.
func benchRefresh(ctx context.Context, e *env) error {
	d, err := e.freshDB(ctx, 4)
	if err != nil {
		return err
	}
	defer e.drop(d)
	n := int64(e.o.dashRows)
	start := time.Now().Add(-30 * 24 * time.Hour).Truncate(time.Hour)
	step := int64(30*24*time.Hour/time.Microsecond) / n // µs between events
	if _, err := d.pool.Exec(ctx, `INSERT INTO beacon.projects (project_id, name) VALUES ($1, 'dashboard bench')`, dashProject); err != nil {
		return fmt.Errorf("project: %w", err)
	}
	if _, err := d.pool.Exec(ctx, `SELECT beacon.ensure_partitions(31, 2)`); err != nil {
		return fmt.Errorf("partitions: %w", err)
	}
	e.printf("\n### Dashboard refresh\n\n")
	e.printf("%d synthetic events over the 30 days before now in one project, inserted on the server (`INSERT … SELECT generate_series`, "+
		"one statement per day, 2 at a time) through beacon.events' triggers, the 10 most recent days first, then the 20 older ones; "+
		"after each part `beacon.fold_rollups()`, `beacon.refresh_daily()` and a refresh of every materialized view in schema beacon, "+
		"as `beacon.maintain()` does.\n\n", n)

	load := func(fromDay, toDay int) (time.Duration, error) {
		t0 := time.Now()
		per := n / 30
		days := make(chan int)
		errs := make(chan error, 2)
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for day := range days {
					lo, hi := int64(day)*per, int64(day+1)*per
					if day == 29 {
						hi = n
					}
					if _, err := d.pool.Exec(ctx, generateSQL, dashProject, lo, hi, step, start); err != nil {
						errs <- fmt.Errorf("generate day %d: %w", day, err)
						return
					}
				}
			})
		}
	feed:
		for day := fromDay; day < toDay; day++ {
			select {
			case days <- day:
			case err := <-errs:
				close(days)
				wg.Wait()
				return 0, err
			case <-ctx.Done():
				break feed
			}
		}
		close(days)
		wg.Wait()
		select {
		case err := <-errs:
			return 0, err
		default:
		}
		if _, err := d.pool.Exec(ctx, `SELECT beacon.fold_rollups()`); err != nil {
			return 0, fmt.Errorf("fold: %w", err)
		}
		if _, err := refreshAll(ctx, d); err != nil {
			return 0, err
		}
		return time.Since(t0), ctx.Err()
	}

	e.printf("**Refresh after one new hour of events** (%d events stamped in the last hour), with 10 and then 30 days of history "+
		"(the same recent days, plus older ones). Rows read: the rows the aggregate's query reads from tables (EXPLAIN ANALYZE of its SELECT; "+
		"for `beacon.refresh_daily()`, of `beacon.daily_counts` over the days it recounted). For comparison, the last row of each part counts "+
		"the whole window from scratch, which is what `REFRESH MATERIALIZED VIEW beacon.mv_daily` did before migration 015.\n\n", n/720)
	e.printf("| history | load time | fold_rollups() ms | rollup rows folded in | aggregate | refresh ms | days recounted | rows read |\n|---|---:|---:|---:|---|---:|---:|---:|\n")
	next := n
	for _, phase := range []struct {
		label    string
		from, to int
	}{{"10 days", 20, 30}, {"30 days", 0, 20}} {
		e.logf("dashboard: generating days %d–%d of 30 (%d events each)", phase.from+1, phase.to, n/30)
		took, err := load(phase.from, phase.to)
		if err != nil {
			return err
		}
		// One new hour: the next event numbers, stamped in the last hour.
		hour := n / 720
		hourStart := time.Now().Add(-time.Hour)
		if _, err := d.pool.Exec(ctx, generateSQL, dashProject, next, next+hour, int64(time.Hour/time.Microsecond)/hour,
			hourStart.Add(-time.Duration(next*(int64(time.Hour/time.Microsecond)/hour))*time.Microsecond)); err != nil {
			return fmt.Errorf("new hour: %w", err)
		}
		next += hour
		var pending int64
		if err := d.pool.QueryRow(ctx, `SELECT count(*) FROM beacon.rollup_pending`).Scan(&pending); err != nil {
			return err
		}
		t0 := time.Now()
		if _, err := d.pool.Exec(ctx, `SELECT beacon.fold_rollups()`); err != nil {
			return fmt.Errorf("fold: %w", err)
		}
		fold := time.Since(t0)
		views, err := refreshAll(ctx, d)
		if err != nil {
			return err
		}
		full, err := fullWindowCount(ctx, d)
		if err != nil {
			return err
		}
		for i, v := range append(views, full) {
			label, lt, fl, pd := "", "", "", ""
			if i == 0 {
				label, lt, fl, pd = phase.label, took.Round(time.Second).String(), ms(fold), fmt.Sprint(pending)
			}
			days := ""
			if v.days >= 0 {
				days = fmt.Sprint(v.days)
			}
			e.printf("| %s | %s | %s | %s | %s | %s | %s | %d |\n", label, lt, fl, pd, v.name, ms(v.took), days, v.rowsRead)
		}
	}

	return nil
}

type refreshed struct {
	name     string
	took     time.Duration
	days     int64 // (project, day) pairs recounted; -1 for a materialized view
	rowsRead int64
}

// refreshAll brings the dashboard's aggregates up to date as beacon.refresh_views does: first
// beacon.refresh_daily() (the changed days of beacon.daily_stats), then every materialized view
// of schema beacon, concurrently; it counts the rows each one's query reads.
func refreshAll(ctx context.Context, d *db) ([]refreshed, error) {
	// The days refresh_daily will recount (no identity changes in this benchmark), for EXPLAIN.
	var projects, days string
	if err := d.pool.QueryRow(ctx, `SELECT coalesce(array_agg(project_id)::text, '{}'), coalesce(array_agg(day)::text, '{}')
		FROM beacon.daily_dirty WHERE day >= beacon.view_since()`).Scan(&projects, &days); err != nil {
		return nil, err
	}
	var out []refreshed
	t0 := time.Now()
	var recounted int64
	if err := d.pool.QueryRow(ctx, `SELECT beacon.refresh_daily()`).Scan(&recounted); err != nil {
		return nil, fmt.Errorf("refresh_daily: %w", err)
	}
	took := time.Since(t0)
	read, err := rowsRead(ctx, d, `SELECT * FROM beacon.daily_counts($1::uuid[], $2::date[])`, projects, days)
	if err != nil {
		return nil, fmt.Errorf("explain daily_counts: %w", err)
	}
	out = append(out, refreshed{"beacon.refresh_daily()", took, recounted, read})

	rows, err := d.pool.Query(ctx, `SELECT format('%I.%I', schemaname, matviewname), definition FROM pg_matviews
		WHERE schemaname = 'beacon' ORDER BY matviewname`)
	if err != nil {
		return nil, err
	}
	type mv struct{ name, def string }
	var views []mv
	var v mv
	if _, err := pgx.ForEachRow(rows, []any{&v.name, &v.def}, func() error { views = append(views, v); return nil }); err != nil {
		return nil, err
	}
	for _, v := range views {
		t0 := time.Now()
		if _, err := d.pool.Exec(ctx, `REFRESH MATERIALIZED VIEW CONCURRENTLY `+v.name); err != nil {
			if _, err := d.pool.Exec(ctx, `REFRESH MATERIALIZED VIEW `+v.name); err != nil { // first refresh cannot be concurrent
				return nil, fmt.Errorf("refresh %s: %w", v.name, err)
			}
		}
		took := time.Since(t0)
		read, err := rowsRead(ctx, d, strings.TrimSuffix(strings.TrimSpace(v.def), ";"))
		if err != nil {
			return nil, fmt.Errorf("explain %s: %w", v.name, err)
		}
		out = append(out, refreshed{v.name, took, -1, read})
	}
	if _, err := d.pool.Exec(ctx, `UPDATE beacon.rollup_state SET dirty = false, refreshed_at = now()`); err != nil {
		return nil, err
	}
	return out, nil
}

// fullWindowCount times beacon.daily_counts over every day of the window that has data — the
// from-scratch count REFRESH MATERIALIZED VIEW beacon.mv_daily made every refresh before
// migration 015 — and counts the rows it reads. It changes nothing.
func fullWindowCount(ctx context.Context, d *db) (refreshed, error) {
	var projects, days string
	if err := d.pool.QueryRow(ctx, `SELECT coalesce(array_agg(project_id)::text, '{}'), coalesce(array_agg(day)::text, '{}')
		FROM beacon.daily_stats`).Scan(&projects, &days); err != nil {
		return refreshed{}, err
	}
	t0 := time.Now()
	var n int64
	if err := d.pool.QueryRow(ctx, `SELECT count(*) FROM beacon.daily_counts($1::uuid[], $2::date[])`, projects, days).Scan(&n); err != nil {
		return refreshed{}, fmt.Errorf("full window count: %w", err)
	}
	took := time.Since(t0)
	read, err := rowsRead(ctx, d, `SELECT * FROM beacon.daily_counts($1::uuid[], $2::date[])`, projects, days)
	if err != nil {
		return refreshed{}, fmt.Errorf("explain full window count: %w", err)
	}
	return refreshed{"whole window from scratch (the former mv_daily refresh)", took, n, read}, nil
}

// rowsRead runs EXPLAIN ANALYZE on query and sums the rows its scan nodes returned.
func rowsRead(ctx context.Context, d *db, query string, args ...any) (int64, error) {
	var plan []byte
	if err := d.pool.QueryRow(ctx, `EXPLAIN (ANALYZE, FORMAT JSON) `+query, args...).Scan(&plan); err != nil {
		return 0, err
	}
	var doc []struct{ Plan map[string]any }
	if err := json.Unmarshal(plan, &doc); err != nil || len(doc) == 0 {
		return 0, fmt.Errorf("plan: %v", err)
	}
	var walk func(map[string]any) int64
	walk = func(n map[string]any) int64 {
		var sum int64
		if t, _ := n["Node Type"].(string); strings.HasSuffix(t, "Scan") && !strings.HasPrefix(t, "Bitmap Index") &&
			t != "Function Scan" && t != "CTE Scan" && t != "Subquery Scan" && t != "Values Scan" {
			rowsF, _ := n["Actual Rows"].(float64)
			loops, _ := n["Actual Loops"].(float64)
			sum += int64(rowsF * loops)
		}
		if kids, ok := n["Plans"].([]any); ok {
			for _, k := range kids {
				if m, ok := k.(map[string]any); ok {
					sum += walk(m)
				}
			}
		}
		return sum
	}
	return walk(doc[0].Plan), nil
}
