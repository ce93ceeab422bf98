package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/protocol"
	"github.com/beacon-analytics/beacon/store"
)

// sent_ts is written by every path an event takes as beacon_relay — COPY, the ON CONFLICT retry
// and the dead letters — NULL when the ts was kept, exact to the millisecond when replaced, up to
// the largest ts a client may send (protocol.MaxTSMillis, year 33658) and down to the epoch.
func TestSentTSStoredOnEveryPath(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in := store.NewIngest(relayPool(t, db.LoginAs(t, "beacon_relay")))
	project := createProject(t, db)
	evs := newEvents(project, "kept", "max", "epoch", "dedup", "dead")
	sent := map[string]time.Time{"max": time.UnixMilli(protocol.MaxTSMillis), "epoch": time.UnixMilli(0),
		"dedup": time.UnixMilli(1_234_567), "dead": time.UnixMilli(42)}
	for i := range evs {
		evs[i].SentTS = sent[evs[i].Name]
	}
	write := func(f func(b *store.Batch) error) {
		t.Helper()
		if err := in.Write(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	write(func(b *store.Batch) error { return b.Copy(ctx, evs[:3]) })
	write(func(b *store.Batch) error { return b.CopyDedup(ctx, evs[2:4]) }) // "epoch" again: skipped
	write(func(b *store.Batch) error { return b.Reject(ctx, evs[4:], "P0001", "test") })

	check := func(table, name string, want time.Time) {
		t.Helper()
		var got *time.Time
		if err := db.Pool.QueryRow(ctx, `SELECT sent_ts FROM beacon.`+table+` WHERE project_id = $1 AND name = $2`,
			project, name).Scan(&got); err != nil {
			t.Fatalf("%s %s: %v", table, name, err)
		}
		switch {
		case want.IsZero() && got != nil:
			t.Errorf("%s %s: sent_ts %v, want NULL", table, name, got)
		case !want.IsZero() && (got == nil || !got.Equal(want)):
			t.Errorf("%s %s: sent_ts %v, want %v", table, name, got, want)
		}
	}
	for _, name := range []string{"kept", "max", "epoch", "dedup"} {
		check("events", name, sent[name])
	}
	check("events_rejected", "dead", sent["dead"])
	if n := queryInt(t, db, `SELECT count(*) FROM analytics.events WHERE project_id = $1 AND sent_ts IS NOT NULL`, project); n != 3 {
		t.Errorf("analytics.events shows %d sent_ts, want 3", n)
	}
}
