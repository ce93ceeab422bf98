package pgbatch_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/pgbatch"
)

// TestRequestWaitsForEveryAnswer: Wait returns once every queued event is answered, each to its
// own callback: nil when committed, the *RowError of a row PostgreSQL refused.
func TestRequestWaitsForEveryAnswer(t *testing.T) {
	t.Parallel()
	_, b, project := setup(t, pgbatch.Config{BatchSize: 100, FlushInterval: 5 * time.Millisecond})
	req := pgbatch.NewRequest(b, 3)
	answers := map[int]*pgbatch.RowError{}
	for i := range 3 {
		ev := event(project, i)
		if i == 1 {
			ev.Props = []byte(`{"bad":"\u0000"}`) // jsonb refuses it: 22P05
		}
		if err := req.Add(context.Background(), ev, func(rowErr *pgbatch.RowError) { answers[i] = rowErr }); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := req.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if len(answers) != 3 || answers[0] != nil || answers[2] != nil || answers[1] == nil || answers[1].Code != "22P05" {
		t.Fatalf("answers = %v", answers)
	}
}

// TestRequestTimeoutNeverBlocksTheBatcher: a Wait that gives up leaves the answers to come on a
// channel with room for them, so the batcher still commits and closes (setup's cleanup).
func TestRequestTimeoutNeverBlocksTheBatcher(t *testing.T) {
	t.Parallel()
	_, b, project := setup(t, pgbatch.Config{BatchSize: 100, FlushInterval: time.Second})
	req := pgbatch.NewRequest(b, 2)
	for i := range 2 {
		if err := req.Add(context.Background(), event(project, i), func(*pgbatch.RowError) { t.Error("answered after Wait gave up") }); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := req.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want the deadline's error", err)
	}
}
