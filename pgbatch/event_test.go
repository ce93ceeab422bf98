package pgbatch_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/pgbatch"
)

// TestRowValues stores every column through both write paths (plain COPY, and the temp table after
// a duplicate) and reads each back.
func TestRowValues(t *testing.T) {
	t.Parallel()
	db, b, project := setup(t, pgbatch.Config{BatchSize: 10, FlushInterval: 10 * time.Millisecond})
	ts := time.Date(2026, 11, 29, 13, 14, 15, 123456789, time.UTC)
	recv := ts.Add(1500 * time.Microsecond)
	evs := []pgbatch.Event{
		{ProjectID: project, EventID: uuid.Must(uuid.NewV7()), SessionID: "s-é", AnonID: "a-1", UserID: "",
			Name: "$pageview", Props: []byte(`{"path":"/a","n":1}`), TS: ts, ReceivedAt: recv},
		{ProjectID: project, EventID: uuid.Must(uuid.NewV7()), SessionID: "", AnonID: "a-2", UserID: "user 42",
			Name: "signup", Props: []byte(`{}`), TS: ts, ReceivedAt: recv},
	}
	check := func() {
		t.Helper()
		for _, ev := range evs {
			var session, anon, name, props string
			var user *string
			var gotTS, gotRecv time.Time
			var gotProject uuid.UUID
			if err := db.Pool.QueryRow(context.Background(), `SELECT project_id, session_id, anon_id, user_id, name,
				props::text, ts, received_at FROM beacon.events WHERE event_id = $1`, ev.EventID).Scan(
				&gotProject, &session, &anon, &user, &name, &props, &gotTS, &gotRecv); err != nil {
				t.Fatal(err)
			}
			wantUser := (*string)(nil)
			if ev.UserID != "" {
				wantUser = &ev.UserID
			}
			if gotProject != ev.ProjectID || session != ev.SessionID || anon != ev.AnonID || name != ev.Name ||
				(user == nil) != (wantUser == nil) || user != nil && *user != *wantUser ||
				!gotTS.Equal(ev.TS.Truncate(time.Microsecond)) || !gotRecv.Equal(ev.ReceivedAt.Truncate(time.Microsecond)) {
				t.Fatalf("stored %v %q %q %v %q %s %v %v for %+v", gotProject, session, anon, user, name, props, gotTS, gotRecv, ev)
			}
		}
	}
	for i, err := range addAll(t, b, evs) {
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	check()
	// A re-sent event in the batch sends it through the temp table.
	evs = append(evs, pgbatch.Event{ProjectID: project, EventID: uuid.Must(uuid.NewV7()), AnonID: "a-3", UserID: "u",
		Name: "click", Props: []byte(`{"b":true}`), TS: ts, ReceivedAt: recv})
	for i, err := range addAll(t, b, evs) {
		if err != nil {
			t.Fatalf("re-sent event %d: %v", i, err)
		}
	}
	check()
	if n := count(t, db, project); n != 3 {
		t.Fatalf("rows = %d, want 3", n)
	}
}
