package sql_test

import (
	"context"
	"testing"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

func TestPartitionsAhead(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	var n int
	err := db.Pool.QueryRow(context.Background(), `
		SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'beacon.events'::regclass AND c.relname ~ '^events_[0-9]{8}$'`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n < 8 {
		t.Fatalf("daily partitions = %d, want at least 8 (yesterday to a week ahead)", n)
	}
}
