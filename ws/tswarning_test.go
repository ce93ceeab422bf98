package ws_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/metrics"
	"github.com/beacon-analytics/beacon/protocol"
	"github.com/beacon-analytics/beacon/ws"
)

// A replaced ts is no longer silent: the WebSocket sender gets a warning frame with the seq (and
// the ack after it, as usual), the HTTP sender a "warnings" entry with the index; /metrics counts
// it by reason; the ts sent is kept in sent_ts. A plausible ts gets none of that, and an HTTP
// answer without warnings keeps the shape old senders know.
func TestReplacedTSWarnsCountsAndKeeps(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	s := newStack(t, ws.Config{Observer: m})
	p := s.project(t)
	now := time.Now()
	ahead := now.Add(72 * time.Hour).UnixMilli()

	c := s.dial(t, p, "warned")
	oldID, okID := uuid.NewString(), uuid.NewString()
	c.send(map[string]any{"type": "event", "event": "e", "id": oldID, "ts": 1, "seq": 1})
	w := c.next("warning")
	if w["seq"] != float64(1) || w["code"] != protocol.CodeTSReplaced || !strings.Contains(w["message"].(string), "MAX_EVENT_AGE") {
		t.Fatalf("warning = %v", w)
	}
	c.waitAck(1)
	c.send(map[string]any{"type": "event", "event": "e", "id": okID, "ts": now.UnixMilli(), "seq": 2})
	c.waitAck(2)

	url := strings.Replace(s.url("/v1/events", p, "poster"), "ws://", "http://", 1)
	body := `[{"type":"event","event":"ok","ts":` + itoa(now.UnixMilli()) + `},
		{"type":"event","event":"ahead","ts":` + itoa(ahead) + `},
		{"type":"event","event":""},
		{"type":"event","event":"old","ts":0}]`
	resp, out := post(t, url, "application/json", body, nil)
	if resp.StatusCode != http.StatusOK || out["accepted"] != float64(3) {
		t.Fatalf("status %d, answer %v", resp.StatusCode, out)
	}
	warnings, _ := out["warnings"].([]any)
	if len(warnings) != 2 {
		t.Fatalf("warnings = %v, want 2", out["warnings"])
	}
	got := map[float64]string{}
	for _, w := range warnings {
		w := w.(map[string]any)
		got[w["index"].(float64)] = w["code"].(string) + " " + w["message"].(string)
	}
	if !strings.HasPrefix(got[1], "ts_replaced ts "+itoa(ahead)) || !strings.HasPrefix(got[3], "ts_replaced ts 0 ") {
		t.Errorf("warnings by index = %v, want ts_replaced at 1 and 3", got)
	}
	_, out = post(t, url, "application/json", `[{"type":"event","event":"ok","ts":`+itoa(now.UnixMilli())+`}]`, nil)
	if _, ok := out["warnings"]; ok {
		t.Errorf("an answer without warnings carries the key: %v", out)
	}

	for _, tc := range []struct {
		where string
		want  *time.Time
	}{
		{`event_id = '` + oldID + `'`, ptrTime(time.UnixMilli(1))},
		{`event_id = '` + okID + `'`, nil},
		{`name = 'ahead'`, ptrTime(time.UnixMilli(ahead))},
		{`name = 'old'`, ptrTime(time.UnixMilli(0))},
		{`name = 'ok'`, nil},
	} {
		if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE `+tc.where+` AND sent_ts IS NOT DISTINCT FROM $1`, tc.want); n < 1 {
			t.Errorf("%s: sent_ts is not %v", tc.where, tc.want)
		}
	}

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`beacon_events_ts_replaced_total{reason="too_old"} 2`, `beacon_events_ts_replaced_total{reason="ahead"} 1`} {
		if !strings.Contains(rec.Body.String(), want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func ptrTime(t time.Time) *time.Time { return &t }
