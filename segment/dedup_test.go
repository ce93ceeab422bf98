package segment_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestDedup: a batch re-sent (a library's retry: same messageIds, a later sentAt, so another
// skew-corrected timestamp) is stored once, and so is a messageId repeated within a batch.
func TestDedup(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	orig := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)
	batch := func(sentAt time.Time) map[string]any {
		return map[string]any{"sentAt": sentAt.UTC().Format(time.RFC3339Nano), "batch": []any{
			map[string]any{"type": "track", "event": "e", "userId": "u", "messageId": "d1", "timestamp": orig},
			map[string]any{"type": "page", "anonymousId": "a", "messageId": "d2", "timestamp": orig},
			map[string]any{"type": "track", "event": "e", "userId": "u", "messageId": "d1", "timestamp": orig},
		}}
	}
	for i := range 3 {
		if a := s.postJSON(t, "/v1/batch", batch(time.Now().Add(time.Duration(i)*time.Second))); a.Status != 200 || a.Accepted != 3 {
			t.Fatalf("send %d: %+v", i, a)
		}
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1`, s.project); n != 2 {
		t.Errorf("%d events stored, want 2", n)
	}
}

// TestFailedRequestRetried: the relay fails a request on purpose (503, as during a database
// outage) after storing it; the re-send is stored once.
func TestFailedRequestRetried(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	s := newStack(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 { // the first request is handled, but its answer is lost
				next.ServeHTTP(discard{h: w.Header()}, r)
				http.Error(w, `{"error":"unavailable"}`, http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	b := map[string]any{"batch": []any{track("r1"), track("r2")}}
	if a := s.postJSON(t, "/v1/batch", b); a.Status != 503 {
		t.Fatalf("first: %+v", a)
	}
	if a := s.postJSON(t, "/v1/batch", b); a.Status != 200 || a.Accepted != 2 {
		t.Fatalf("retry: %+v", a)
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1`, s.project); n != 2 {
		t.Errorf("%d events stored, want 2", n)
	}
}

// discard is a ResponseWriter whose answer goes nowhere.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h.Clone() }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}
