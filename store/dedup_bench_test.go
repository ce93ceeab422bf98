package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/store"
)

// BenchmarkCopyKeyedByID is what beacon.event_ids costs Copy: 5,000-row batches whose ts is the
// client's (the SDK: nothing extra) or the relay's clock (server-side senders: a second COPY into
// beacon.event_ids). go test ./store -run '^$' -bench CopyKeyed -benchtime 40x -count 3
func BenchmarkCopyKeyedByID(b *testing.B) {
	for _, keyed := range []bool{false, true} {
		b.Run(fmt.Sprintf("keyed=%v", keyed), func(b *testing.B) {
			db := testdb.New(b)
			in := store.NewIngest(db.Pool)
			var project uuid.UUID
			if err := db.Pool.QueryRow(context.Background(), `INSERT INTO beacon.projects (name) VALUES ('b') RETURNING project_id`).Scan(&project); err != nil {
				b.Fatal(err)
			}
			const n = 5000
			rows := make(events, n)
			ctx := context.Background()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				now := time.Now()
				for i := range rows {
					ts := now.Add(-time.Second)
					if keyed {
						ts = now
					}
					rows[i] = store.Event{ProjectID: project, EventID: uuid.New(), SessionID: fmt.Sprint("s", i%100), AnonID: "a",
						Name: "$pageview", Props: []byte(`{"path":"/pricing","referrer":"https://example.com/a/b","browser":"Firefox","n":12345}`), TS: ts, ReceivedAt: now}
				}
				b.StartTimer()
				if err := in.Write(ctx, func(tx *store.Batch) error { return tx.Copy(ctx, rows) }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
