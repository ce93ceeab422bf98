package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/store"
)

func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	_ = json.Unmarshal([]byte(want), &w)
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// TestClientStatementsAsRelay runs every shared-pool statement as beacon_relay.
func TestClientStatementsAsRelay(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := store.New(relayPool(t, db.LoginAs(t, "beacon_relay")))
	project := createProject(t, db, "https://shop.example.com")

	origins, found, err := st.ProjectOrigins(ctx, project.String())
	if err != nil || !found || !reflect.DeepEqual(origins, []string{"https://shop.example.com"}) {
		t.Fatalf("ProjectOrigins = %v, %v, %v", origins, found, err)
	}
	if _, found, err := st.ProjectOrigins(ctx, uuid.NewString()); err != nil || found {
		t.Fatalf("unknown project: found %v, err %v", found, err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO beacon.flags (project_id, key, enabled) VALUES ($1, 'x', true)`, project); err != nil {
		t.Fatal(err)
	}
	user, set, err := st.Connect(ctx, project, "anon-1")
	if err != nil || user != "" {
		t.Fatalf("Connect before identify = %q, %v", user, err)
	}
	jsonEqual(t, set, `{"x":true}`)
	if err := st.Identify(ctx, project.String(), "anon-1", "u1", "", []byte(`{"plan":"pro"}`)); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM beacon.users WHERE user_id = 'u1' AND traits->>'plan' = 'pro'`); n != 1 {
		t.Fatalf("users = %d, want 1", n)
	}
	var pgErr *pgconn.PgError
	if err := st.Identify(ctx, project.String(), "anon-2", "u2", "", []byte(`{"bad":"\u0000"}`)); !errors.As(err, &pgErr) || pgErr.Code[:2] != "22" {
		t.Fatalf("identify with a NUL in traits: %v, want a class 22 *pgconn.PgError", err)
	}
	if user, _, err := st.Connect(ctx, project, "anon-1"); err != nil || user != "u1" {
		t.Fatalf("Connect after identify = %q, %v", user, err)
	}
	set, err = st.EvaluateFlags(ctx, project, "anon-1", "u1")
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, set, `{"x":true}`)
	got := map[int]string{}
	err = st.EvaluateFlagsMany(ctx, project, []string{"a", "b", "c"}, []string{"", "u1", ""}, func(i int, set []byte) {
		got[i] = string(set)
	})
	if err != nil || len(got) != 3 {
		t.Fatalf("EvaluateFlagsMany: %v, %v", got, err)
	}
	for _, s := range got {
		jsonEqual(t, []byte(s), `{"x":true}`)
	}
	// The second call within the interval finds it claimed: one run, finished.
	for range 2 {
		if err := st.Maintain(ctx, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	var runs, finished int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*), count(finished_at) FROM beacon.maintenance_runs`).Scan(&runs, &finished); err != nil || runs != 1 || finished != 1 {
		t.Fatalf("maintenance runs %d, finished %d (%v); want 1, 1", runs, finished, err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestIngestStatementsAsRelay runs the batcher's writes as beacon_relay: COPY, the ON CONFLICT
// path (twice in one transaction, as isolation does), savepoints and dead letters.
func TestIngestStatementsAsRelay(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool := relayPool(t, db.LoginAs(t, "beacon_relay"))
	in := store.NewIngest(pool)
	project := createProject(t, db)
	write := func(f func(b *store.Batch) error) error { return in.Write(ctx, f) }
	first := newEvents(project, "a", "b")
	if err := write(func(b *store.Batch) error { return b.Copy(ctx, first) }); err != nil {
		t.Fatal(err)
	}
	var pgErr *pgconn.PgError
	if err := write(func(b *store.Batch) error { return b.Copy(ctx, first) }); !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("re-COPY: %v, want 23505", err)
	}
	more := append(events{first[0]}, newEvents(project, "c")...)
	again := append(events{first[1]}, newEvents(project, "d")...)
	err := write(func(b *store.Batch) error {
		if err := b.CopyDedup(ctx, more); err != nil {
			return err
		}
		return b.CopyDedup(ctx, again)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM beacon.events`); n != 4 {
		t.Fatalf("events = %d, want 4", n)
	}
	bad := newEvents(project, "e", "f")
	bad[0].Props = []byte(`{"nul":"\u0000"}`)
	bad[1].UserID = "u9"
	err = write(func(b *store.Batch) error {
		err := b.Savepoint(ctx, func(sp *store.Batch) error { return sp.Copy(ctx, bad) })
		if !errors.As(err, &pgErr) || pgErr.Code != "22P05" {
			t.Fatalf("COPY of a NUL: %v, want 22P05", err)
		}
		return b.Reject(ctx, bad, pgErr.Code, pgErr.Message)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM beacon.events_rejected WHERE error_code = '22P05'
		AND project_id = $1 AND error_message <> ''`, project); n != 2 {
		t.Fatalf("dead letters = %d, want 2", n)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM beacon.events_rejected WHERE (event_id = $1 AND user_id = 'u9'
		AND name = 'f' AND ts IS NOT NULL) OR (event_id = $2 AND user_id IS NULL AND props = $3)`,
		bad[1].EventID, bad[0].EventID, string(bad[0].Props)); n != 2 {
		t.Fatal("dead letter columns not as sent")
	}
	// Dead letters are write-only for the relay, like events.
	var pgErr2 *pgconn.PgError
	if _, err := pool.Exec(ctx, `SELECT count(*) FROM beacon.events_rejected`); !errors.As(err, &pgErr2) || pgErr2.Code != "42501" {
		t.Fatalf("relay reading beacon.events_rejected: %v, want 42501", err)
	}
}
