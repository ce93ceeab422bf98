package store_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/protocol"
	"github.com/beacon-analytics/beacon/store"
)

// ingestAsRelay writes one batch the way pgbatch does: Copy, and CopyDedup when Copy found a
// duplicate (23505).
func ingestAsRelay(t *testing.T, in *store.Ingest, rows events) {
	t.Helper()
	ctx := context.Background()
	write := func(f func(*store.Batch, context.Context, store.Rows) error) error {
		return in.Write(ctx, func(b *store.Batch) error { return f(b, ctx, rows) })
	}
	err := write((*store.Batch).Copy)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		err = write((*store.Batch).CopyDedup)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestResendWithinWindowIsStoredOnce resolves each message's ts with the protocol's rule at the
// server times the test picks (a re-send 1.1 s, an hour or 23 h later) and stores both copies as
// beacon_relay: whatever the ts resolves to, the event is stored once.
func TestResendWithinWindowIsStoredOnce(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	in := store.NewIngest(relayPool(t, db.LoginAs(t, "beacon_relay")))
	project := createProject(t, db)
	r0 := time.Now().Add(-23 * time.Hour).Truncate(time.Millisecond).Add(123456) // a relay clock, ns and all
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	aheadAt0 := r0.Add(24*time.Hour + 30*time.Minute) // over the 1-day limit at r0, within it an hour later
	cases := []struct {
		name  string
		ts    string
		id    uuid.UUID
		later time.Duration
	}{
		{"UUIDv4, no ts, 1.1 s later", ``, uuid.New(), 1100 * time.Millisecond},
		{"UUIDv4, no ts, 23 h later", ``, uuid.New(), 23 * time.Hour},
		{"ts in 2100, UUIDv4", `4102444800000`, uuid.New(), 1100 * time.Millisecond},
		{"ts in 2100, UUIDv7 of now", `4102444800000`, v7At(r0), 1100 * time.Millisecond},
		{"UUIDv7 of 2100, no ts", ``, v7At(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)), 1100 * time.Millisecond},
		{"ts over the limit, plausible on re-send", ms(aheadAt0), uuid.New(), time.Hour},
		{"ts over the limit, plausible on re-send, UUIDv7 of now", ms(aheadAt0), v7At(r0), time.Hour},
		{"UUIDv7 over the limit, plausible on re-send", ``, v7At(aheadAt0), time.Hour},
		{"client ts (the SDK)", ms(r0.Add(-time.Second)), v7At(r0), time.Hour},
	}
	for _, tc := range cases {
		var copies events
		for _, received := range []time.Time{r0, r0.Add(tc.later)} {
			ts, e := protocol.DefaultLimits.ResolveTS([]byte(tc.ts), tc.id, received)
			if e != nil {
				t.Fatal(e)
			}
			copies = append(copies, store.Event{ProjectID: project, EventID: tc.id, Name: "n", Props: []byte(`{}`), TS: ts.Time, SentTS: ts.Sent, ReceivedAt: received})
		}
		ingestAsRelay(t, in, copies[:1])
		ingestAsRelay(t, in, copies[1:])
		if n := queryInt(t, db, `SELECT count(*) FROM beacon.events WHERE event_id = $1`, tc.id); n != 1 {
			t.Errorf("%s: stored %d times (ts %v then %v)", tc.name, n, copies[0].TS, copies[1].TS)
		}
	}
	// The SDK's events (client ts in the past) do not pay for beacon.event_ids.
	if n := queryInt(t, db, `SELECT count(*) FROM beacon.event_ids WHERE event_id = $1`, cases[len(cases)-1].id); n != 0 {
		t.Errorf("an event with a client ts was keyed by id")
	}
}

// Repeats of an id within one batch keep the first; past the window (after the maintain step
// purged the id) a re-send is stored again, as docs/protocol.md says.
func TestEventIDsRepeatAndWindow(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	in := store.NewIngest(relayPool(t, db.LoginAs(t, "beacon_relay")))
	project := createProject(t, db)
	id := uuid.New()
	now := time.Now()
	ev := func(received time.Time, name string) store.Event {
		return store.Event{ProjectID: project, EventID: id, Name: name, Props: []byte(`{}`), TS: received, ReceivedAt: received}
	}
	ingestAsRelay(t, in, events{ev(now, "first"), newEvents(project, "other")[0], ev(now.Add(time.Millisecond), "repeat")})
	if n := queryInt(t, db, `SELECT count(*) FROM beacon.events WHERE event_id = $1 AND name = 'first'`, id); n != 1 ||
		queryInt(t, db, `SELECT count(*) FROM beacon.events`) != 2 {
		t.Fatalf("repeat within a batch: want the first copy and the other event only")
	}
	if _, err := db.Pool.Exec(context.Background(), `UPDATE beacon.event_ids SET received_at = received_at - interval '26 hours'`); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, `SELECT beacon.purge_event_ids()::int`); n != 2 {
		t.Fatalf("purged %d ids, want 2", n)
	}
	ingestAsRelay(t, in, events{ev(now.Add(26*time.Hour), "after the window")})
	if n := queryInt(t, db, `SELECT count(*) FROM beacon.events WHERE event_id = $1`, id); n != 2 {
		t.Fatalf("re-send after the window stored %d times in all, want 2 (documented)", n)
	}
}

// v7At is a UUIDv7 whose time is t.
func v7At(t time.Time) uuid.UUID {
	u := uuid.New()
	ms := uint64(t.UnixMilli())
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	u[6] = 0x70 | u[6]&0x0f
	return u
}
