package ws_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/ws"
)

// A 90-day backfill sent through the relay (POST /v1/events, as an import would) ends, after one
// CALL beacon.maintain(), with nothing in beacon.events_default and every day in its own partition
// holding exactly the events sent for it — counted here, independently, as they are sent.
func TestBackfill90DaysThroughTheRelay(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	p := s.project(t)
	url := strings.Replace(s.url("/v1/events", p, "importer"), "ws://", "http://", 1)
	now := time.Now().UTC()
	sent := map[string]int{} // partition → events sent for its day
	for d := range 90 {
		var msgs []string
		for i := range d%4 + 1 {
			ts := now.AddDate(0, 0, -d).Add(-time.Duration(i) * 37 * time.Minute)
			msgs = append(msgs, fmt.Sprintf(`{"type":"event","event":"import","id":%q,"ts":%d,"props":{"day":%d}}`,
				uuid.Must(uuid.NewV7()), ts.UnixMilli(), d))
			sent["events_"+ts.Format("20060102")]++
		}
		resp, out := post(t, url, "application/json", "["+strings.Join(msgs, ",")+"]", nil)
		if resp.StatusCode != http.StatusOK || out["accepted"] != float64(len(msgs)) {
			t.Fatalf("day -%d: status %d, answer %v", d, resp.StatusCode, out)
		}
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.events_default`); n == 0 {
		t.Fatal("nothing landed in events_default: the backfill tests nothing")
	}

	s.exec(t, `CALL beacon.maintain()`)
	if n := s.count(t, `SELECT count(*) FROM beacon.maintenance_log WHERE error IS NOT NULL`); n != 0 {
		t.Fatalf("%d maintain() steps failed", n)
	}
	check := func(when string) {
		t.Helper()
		if n := s.count(t, `SELECT count(*) FROM beacon.events_default`); n != 0 {
			t.Errorf("%s: %d events in events_default, want 0", when, n)
		}
		rows, err := s.db.Pool.Query(context.Background(), `
			SELECT tableoid::regclass::text, count(*)::int FROM beacon.events WHERE project_id = $1 GROUP BY 1`, p)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for rows.Next() {
			var part string
			var n int
			if err := rows.Scan(&part, &n); err != nil {
				t.Fatal(err)
			}
			got[strings.TrimPrefix(part, "beacon.")] = n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(sent) {
			t.Errorf("%s: events in %d tables, want %d days", when, len(got), len(sent))
		}
		for part, n := range sent {
			if got[part] != n {
				t.Errorf("%s: %s holds %d events, want %d", when, part, got[part], n)
			}
		}
	}
	check("after maintain()")
	s.exec(t, `CALL beacon.maintain()`)
	check("after a second maintain()")

	// The analytics figures of those days equal the same independent count: analytics.daily (its
	// window, view_days = 90 days up to today), hourly_events summed per day, and top_events'
	// 30-day count (the 30 calendar days ending today).
	perDay := map[string]int{}
	last30 := 0
	for part, n := range sent {
		day, _ := time.Parse("20060102", strings.TrimPrefix(part, "events_"))
		perDay[day.Format(time.DateOnly)] = n
		if !day.Before(now.Truncate(24*time.Hour).AddDate(0, 0, -29)) {
			last30 += n
		}
	}
	for name, q := range map[string]string{
		"analytics.daily":         `SELECT day::text, events::int FROM analytics.daily WHERE project_id = $1`,
		"analytics.hourly_events": `SELECT (hour AT TIME ZONE 'UTC')::date::text, sum(events)::int FROM analytics.hourly_events WHERE project_id = $1 GROUP BY 1`,
	} {
		got := dayCounts(t, s, q, p)
		if len(got) < 88 {
			t.Errorf("%s has %d days of the backfill, want at least 88", name, len(got))
		}
		for day, n := range got {
			if perDay[day] != n {
				t.Errorf("%s: %d events on %s, %d sent", name, n, day, perDay[day])
			}
		}
	}
	if n := s.count(t, `SELECT events_30d FROM analytics.top_events WHERE project_id = $1 AND name = 'import'`, p); n != last30 {
		t.Errorf("top_events.events_30d = %d, %d sent in the last 30 days", n, last30)
	}
}

// dayCounts runs q (rows of day text, count) for project p.
func dayCounts(t *testing.T, s *stack, q string, p uuid.UUID) map[string]int {
	t.Helper()
	rows, err := s.db.Pool.Query(context.Background(), q, p)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var day string
		var n int
		if err := rows.Scan(&day, &n); err != nil {
			t.Fatal(err)
		}
		got[day] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}
