package sql_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// No value in a row may make a COPY fail: not an infinite timestamp, not a huge id or name, not
// props that are not an object. The rows land; the triggers leave out what they cannot use; the
// next maintain() runs clean.
func TestOddRowsNeverFailACopy(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := newProject(t, db.Pool)
	exec(t, db.Pool, `UPDATE beacon.settings SET refresh_interval = '0'`)
	now := pgtype.Timestamptz{Time: time.Now(), Valid: true}
	inf := pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}
	ninf := pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
	long := strings.Repeat("x", 5000)
	// 950 characters but ~2,850 bytes, varied enough not to compress: over the B-tree entry limit
	// (2,704 bytes) of the sessions and daily-id keys.
	wide := make([]rune, 950)
	for i := range wide {
		wide[i] = rune(0x4e00 + (i*7919)%20000)
	}
	cjk := string(wide)
	rows := [][]any{
		{mustUUID(p), newUUID(), "s", "a", nil, "future", map[string]any{}, inf, now},
		{mustUUID(p), newUUID(), "s", "a", nil, "past", map[string]any{}, ninf, now},
		{mustUUID(p), newUUID(), long, long, &long, long, map[string]any{"path": long}, now, now},
		{mustUUID(p), newUUID(), cjk, cjk, nil, "wide", map[string]any{}, now, now},
		{mustUUID(p), newUUID(), cjk, "a", &cjk, "wide", map[string]any{}, now, now},
		{mustUUID(p), newUUID(), "s", "a", nil, "$pageview", []byte(`[1, 2]`), now, now},
		{mustUUID(p), newUUID(), "s", "a", nil, "$pageview", []byte(`"just a string"`), now, now},
		{mustUUID(p), newUUID(), "s", "a", nil, "$pageview", map[string]any{"url": "not a url", "referrer": "::"}, now, now},
	}
	if _, err := db.Pool.CopyFrom(ctx(t), pgx.Identifier{"beacon", "events"}, eventColumns, pgx.CopyFromRows(rows)); err != nil {
		t.Fatalf("COPY of odd rows failed: %v", err)
	}
	if n := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.events WHERE project_id = $1`, p); n != len(rows) {
		t.Errorf("%d events landed, want %d", n, len(rows))
	}
	if n := scalar[int](t, db.Pool, `SELECT count(*) FROM beacon.events_default WHERE NOT isfinite(ts)`); n != 2 {
		t.Errorf("%d infinite-ts events in the default partition, want 2", n)
	}
	exec(t, db.Pool, `CALL beacon.maintain()`)
	if errs := scalar[[]string](t, db.Pool, `SELECT coalesce(array_agg(step || ': ' || error), '{}') FROM beacon.maintenance_log WHERE error IS NOT NULL`); len(errs) > 0 {
		t.Errorf("maintain failed: %v", errs)
	}
	if got := scalar[string](t, db.Pool, `SELECT event_count || ' ' || exit_event FROM beacon.sessions WHERE session_id = 's'`); got != "3 $pageview" {
		t.Errorf("session s = %q, want the 3 finite events", got)
	}
	if n := scalar[int](t, db.Pool, `
		SELECT (SELECT count(*) FROM beacon.sessions WHERE octet_length(session_id) > 1000 OR octet_length(anon_id) > 1000 OR octet_length(user_id) > 1000)
		     + (SELECT count(*) FROM beacon.rollup_daily_ids WHERE octet_length(id) > 1000)`); n != 0 {
		t.Errorf("%d sessions or daily ids with an id over 1,000 bytes, want none", n)
	}
}
