package store_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/store"
)

// TestCopyIsNotStarvedByTheSharedPool: with every shared connection held (a reconnect storm of
// beacon.connect() calls), a client call waits, but a COPY on the writers' pool commits at once.
func TestCopyIsNotStarvedByTheSharedPool(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := url.Parse(db.LoginAs(t, "beacon_relay"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "2")
	u.RawQuery = q.Encode()
	shared, copyPool, err := store.OpenPools(ctx, u.String(), 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	defer copyPool.Close()
	project := createProject(t, db)
	for range 2 {
		c, err := shared.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
	}
	st := store.New(shared)
	short, stop := context.WithTimeout(ctx, 200*time.Millisecond)
	defer stop()
	if _, _, err := st.Connect(short, project, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Connect on an exhausted pool: %v, want it to wait out its deadline", err)
	}
	in := store.NewIngest(copyPool)
	start := time.Now()
	if err := in.Write(ctx, func(b *store.Batch) error { return b.Copy(ctx, newEvents(project, "a", "b")) }); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM beacon.events`); n != 2 {
		t.Fatalf("events = %d, want 2", n)
	}
	t.Logf("COPY committed in %v with the shared pool exhausted", time.Since(start))
}
