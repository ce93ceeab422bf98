package store_test

import (
	"context"
	"testing"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/store"
)

// TestKeepFreshAsRelay: the relay's every-second call runs as beacon_relay and refreshes.
func TestKeepFreshAsRelay(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	p := createProject(t, db)
	if _, err := db.Pool.Exec(context.Background(), `UPDATE beacon.settings SET refresh_interval = '0'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(context.Background(), `
		INSERT INTO beacon.events (project_id, event_id, session_id, anon_id, name, props, ts, received_at)
		VALUES ($1, gen_random_uuid(), 's', 'a', 'e', '{}', now(), now())`, p); err != nil {
		t.Fatal(err)
	}
	st := store.New(relayPool(t, db.LoginAs(t, "beacon_relay")))
	if err := st.KeepFresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM beacon.daily_stats WHERE project_id = $1`, p); n != 1 {
		t.Errorf("%d daily rows of the new event's project after KeepFresh, want 1", n)
	}
}
