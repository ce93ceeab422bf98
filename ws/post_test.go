package ws_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/protocol"
	"github.com/beacon-analytics/beacon/ws"
)

func post(t *testing.T, url, contentType, body string, header http.Header) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("response body: %v", err)
	}
	return resp, out
}

func TestHTTPIngest(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	p := s.project(t, "https://app.example.com")
	url := strings.Replace(s.url("/v1/events", p, "beacon-anon"), "ws://", "http://", 1)
	id := uuid.Must(uuid.NewV7()).String()
	body := `[
		{"type":"event","event":"page","id":"` + id + `","props":{"path":"/"}},
		{"type":"identify","userId":"u-7","traits":{"plan":"free"}},
		{"type":"event","event":"signup"},
		{"type":"event","event":""},
		{"type":"nope"}
	]`
	// sendBeacon posts text/plain from the page's origin.
	resp, out := post(t, url, "text/plain;charset=UTF-8", body, http.Header{"Origin": {"https://app.example.com"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %v", resp.StatusCode, out)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatal("no CORS header for the allowed origin")
	}
	errs := out["errors"].([]any)
	if out["accepted"] != float64(3) || len(errs) != 2 ||
		errs[0].(map[string]any)["index"] != float64(3) || errs[0].(map[string]any)["code"] != protocol.CodeBadEvent ||
		errs[1].(map[string]any)["code"] != protocol.CodeUnknownType {
		t.Fatalf("result = %v", out)
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1 AND anon_id = 'beacon-anon'`, p); n != 2 {
		t.Fatalf("rows = %d, want 2", n)
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1 AND name = 'signup' AND user_id = 'u-7'`, p); n != 1 {
		t.Fatal("event after identify in the same body lacks the user id")
	}
	// The same body again (a beacon retried): the event with an id is not stored twice.
	post(t, url, "application/json", body, nil)
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE event_id = $1`, id); n != 1 {
		t.Fatalf("re-posted event stored %d times", n)
	}

	for _, tc := range []struct {
		name, url, body string
		header          http.Header
		status          int
	}{
		{"not an array", url, `{"type":"event"}`, nil, http.StatusBadRequest},
		{"not JSON", url, `nope`, nil, http.StatusBadRequest},
		{"wrong origin", url, `[]`, http.Header{"Origin": {"https://evil.example.com"}}, http.StatusForbidden},
		{"unknown project", strings.Replace(url, p.String(), uuid.NewString(), 1), `[]`, nil, http.StatusNotFound},
		{"too large", url, `[` + strings.Repeat(`{"type":"ping"},`, 70000) + `{"type":"ping"}]`, nil, http.StatusRequestEntityTooLarge},
	} {
		resp, out := post(t, tc.url, "application/json", tc.body, tc.header)
		if resp.StatusCode != tc.status || out["error"] == "" {
			t.Errorf("%s: %d %v, want %d", tc.name, resp.StatusCode, out, tc.status)
		}
	}
}

// During a database outage a POST is answered 503 with Retry-After within CommitTimeout, not held
// until the database is back; its events are stored once it is (the sender re-sends; ids dedup).
func TestHTTPIngestAnswersWithinCommitTimeoutDuringAnOutage(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{CommitTimeout: 300 * time.Millisecond})
	p := s.project(t)
	url := strings.Replace(s.url("/v1/events", p, "outage"), "ws://", "http://", 1)
	release := s.db.HoldEvents(t) // every COPY waits, as for a database that is down
	id := uuid.Must(uuid.NewV7()).String()
	body := `[{"type":"event","event":"held","id":"` + id + `"}]`
	start := time.Now()
	resp, out := post(t, url, "application/json", body, nil)
	took := time.Since(start)
	if resp.StatusCode != http.StatusServiceUnavailable || out["error"] != protocol.CodeUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("during the outage: %d %v (Retry-After %q), want 503 unavailable with Retry-After",
			resp.StatusCode, out, resp.Header.Get("Retry-After"))
	}
	if took > 5*time.Second {
		t.Fatalf("answered after %v, want about the 300ms commit timeout", took)
	}
	release()
	// The sender re-sends as Retry-After asks. The first re-send may still meet the relay's
	// backlog (the held batch is retried with backoff) and be answered 503 within the 300 ms
	// commit timeout on a busy machine: a sender re-sends again, and the id keeps it once.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, out = post(t, url, "application/json", body, nil)
		if resp.StatusCode == http.StatusOK && out["accepted"] == float64(1) {
			break
		}
		if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("after the outage: %d %v", resp.StatusCode, out)
		}
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE event_id = $1`, id); n != 1 {
		t.Fatalf("event stored %d times, want once", n)
	}
}

// A visitor identified on the WebSocket who closes the tab: the events its sendBeacon POSTs carry
// the same user_id as the WebSocket's rows (the POST looks the anon id's user up, as a connect does).
func TestHTTPIngestCarriesTheUserOfAnIdentifiedAnonID(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	p := s.project(t)
	c := s.dial(t, p, "tab")
	c.next("flags")
	c.send(map[string]any{"type": "identify", "userId": "u-beacon", "seq": 1})
	c.send(map[string]any{"type": "event", "event": "on-ws", "seq": 2})
	c.waitAck(2)
	url := strings.Replace(s.url("/v1/events", p, "tab"), "ws://", "http://", 1)
	resp, out := post(t, url, "text/plain;charset=UTF-8", `[{"type":"event","event":"on-beacon"}]`, nil)
	if resp.StatusCode != http.StatusOK || out["accepted"] != float64(1) {
		t.Fatalf("POST: %d %v", resp.StatusCode, out)
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1 AND user_id = 'u-beacon'`, p); n != 2 {
		t.Fatalf("%d of the 2 events (WebSocket, POST) carry the user, want both", n)
	}
	// An anon id never identified stays anonymous on the POST path too.
	other := strings.Replace(s.url("/v1/events", p, "stranger"), "ws://", "http://", 1)
	post(t, other, "application/json", `[{"type":"event","event":"anonymous"}]`, nil)
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1 AND name = 'anonymous' AND user_id IS NULL`, p); n != 1 {
		t.Fatalf("the stranger's event: %d anonymous rows, want 1", n)
	}
}
