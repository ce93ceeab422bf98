package segment_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	analytics "github.com/segmentio/analytics-go/v3"
)

// callbacks counts what analytics-go says it delivered, and closes all once want messages are.
type callbacks struct {
	ok, failed atomic.Int32
	want       int32
	all        chan struct{}
}

func (c *callbacks) Success(analytics.Message) {
	if c.ok.Add(1) == c.want {
		close(c.all)
	}
}
func (c *callbacks) Failure(analytics.Message, error) { c.failed.Add(1) }

// TestAnalyticsGo: Segment's own Go library, unchanged but for its endpoint, sends track, page,
// identify, alias, group and a batch of 1,000 tracks; the relay fails its first request on
// purpose (503 after storing it, an answer lost); the library re-sends, and everything is stored
// exactly once.
func TestAnalyticsGo(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	s := newStack(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if requests.Add(1) == 1 {
				next.ServeHTTP(discard{h: w.Header()}, r)
				http.Error(w, `{"error":"unavailable"}`, http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	cb := &callbacks{want: 1005, all: make(chan struct{})}
	client, err := analytics.NewWithConfig(s.key, analytics.Config{
		Endpoint: s.http.URL, Interval: 50 * time.Millisecond, BatchSize: 1000,
		RetryAfter: func(int) time.Duration { return 20 * time.Millisecond },
		Callback:   cb, Logger: testLogger{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs := []analytics.Message{
		analytics.Track{UserId: "g1", Event: "Signed Up", Properties: analytics.NewProperties().Set("plan", "pro")},
		analytics.Page{AnonymousId: "ga", Name: "Pricing", Properties: analytics.NewProperties().SetURL("https://shop.example/pricing").SetPath("/pricing").SetReferrer("https://news.example/")},
		analytics.Identify{UserId: "g1", AnonymousId: "ga", Traits: analytics.NewTraits().SetEmail("g1@example.com")},
		analytics.Alias{PreviousId: "gb", UserId: "g1"},
		analytics.Group{UserId: "g1", GroupId: "acme", Traits: analytics.NewTraits().SetName("Acme")},
	}
	for i := range 1000 {
		msgs = append(msgs, analytics.Track{AnonymousId: "bulk", Event: "Bulk", Properties: analytics.NewProperties().Set("i", i)})
	}
	for _, m := range msgs {
		if err := client.Enqueue(m); err != nil {
			t.Fatal(err)
		}
	}
	select { // Close would drop a batch waiting for its retry: wait for the library to deliver
	case <-cb.all:
	case <-time.After(30 * time.Second):
		t.Errorf("not delivered within 30 s")
	}
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	if cb.ok.Load() != int32(len(msgs)) || cb.failed.Load() != 0 {
		t.Fatalf("library: %d delivered, %d failed, want %d delivered", cb.ok.Load(), cb.failed.Load(), len(msgs))
	}
	if requests.Load() < 2 {
		t.Fatalf("%d requests: the failed one was not retried", requests.Load())
	}
	for _, c := range []struct {
		sql  string
		want int
	}{
		{`SELECT count(*) FROM beacon.events WHERE project_id = $1 AND name = 'Bulk'`, 1000},
		{`SELECT count(DISTINCT props->>'i') FROM beacon.events WHERE project_id = $1 AND name = 'Bulk'`, 1000},
		{`SELECT count(*) FROM beacon.events WHERE project_id = $1 AND name = 'Signed Up' AND user_id = 'g1' AND props->>'plan' = 'pro'`, 1},
		{`SELECT count(*) FROM beacon.events WHERE project_id = $1 AND name = '$pageview' AND props->>'path' = '/pricing' AND props->>'$lib' = 'analytics-go'`, 1},
		{`SELECT count(*) FROM beacon.events WHERE project_id = $1 AND name = '$group' AND props->>'$group_key' = 'acme'`, 1},
		{`SELECT count(*) FROM beacon.events WHERE project_id = $1`, 1003},
		{`SELECT count(*) FROM beacon.users WHERE project_id = $1 AND user_id = 'g1' AND traits->>'email' = 'g1@example.com'`, 1},
		{`SELECT count(*) FROM beacon.aliases WHERE project_id = $1 AND user_id = 'g1' AND anon_id IN ('ga', 'gb')`, 2},
	} {
		if n := s.count(t, c.sql, s.project); n != c.want {
			t.Errorf("%s: %d, want %d", c.sql, n, c.want)
		}
	}
}

type testLogger struct{ t *testing.T }

func (l testLogger) Logf(format string, args ...any) { l.t.Log(fmt.Sprintf(format, args...)) }
func (l testLogger) Errorf(format string, args ...any) {
	l.t.Log("error: " + fmt.Sprintf(format, args...))
}
