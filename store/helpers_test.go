package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/store"
)

func relayPool(t *testing.T, u string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func createProject(t *testing.T, db *testdb.DB, origins ...string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := db.Pool.QueryRow(context.Background(), `INSERT INTO beacon.projects (name, allowed_origins)
		VALUES ('t', $1) RETURNING project_id`, append([]string{}, origins...)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func queryInt(t *testing.T, db *testdb.DB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

type events []store.Event

func (s events) Len() int               { return len(s) }
func (s events) Row(i int) *store.Event { return &s[i] }

func newEvents(project uuid.UUID, names ...string) events {
	now := time.Now()
	out := make(events, len(names))
	for i, n := range names {
		out[i] = store.Event{ProjectID: project, EventID: uuid.Must(uuid.NewV7()), SessionID: "s", AnonID: "a",
			Name: n, Props: []byte(`{"i":1}`), TS: now, ReceivedAt: now}
	}
	return out
}
