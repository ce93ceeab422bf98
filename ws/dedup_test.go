package ws_test

import (
	"encoding/binary"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/ws"
)

// A message re-sent with the same id is stored once whatever its id's version and whether a ts
// came with it: the cases where the relay's clock decides ts, so each copy got another ts and
// beacon.events' (project_id, event_id, ts) could not see the duplicate. The second POST needs
// no wait: the relay's clock has moved on by the time it arrives (ts has µs precision), which is
// all the 1.1 s apart of the report did.
func TestResentEventIsStoredOnce(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	p := s.project(t)
	postURL := strings.Replace(s.url("/v1/events", p, "server"), "ws://", "http://", 1)
	v7of2100 := uuidV7At(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)).String()
	cases := []struct{ name, id, extra string }{
		{"UUIDv4 id, no ts", uuid.NewString(), ``},
		{"ts in 2100 (server time), UUIDv4 id", uuid.NewString(), `,"ts":4102444800000`},
		{"ts in 2100, UUIDv7 id of now", uuid.Must(uuid.NewV7()).String(), `,"ts":4102444800000`},
		{"UUIDv7 id of 2100, no ts", v7of2100, ``},
		{"ts a day and a second ahead, UUIDv4 id", uuid.NewString(), `,"ts":` + millis(time.Now().Add(24*time.Hour+time.Second))},
	}
	for _, tc := range cases {
		body := `[{"type":"event","event":"order","id":"` + tc.id + `"` + tc.extra + `}]`
		for range 2 {
			if resp, out := post(t, postURL, "application/json", body, nil); resp.StatusCode != http.StatusOK || out["accepted"] != float64(1) {
				t.Fatalf("%s: %d %v", tc.name, resp.StatusCode, out)
			}
		}
		if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE event_id = $1`, tc.id); n != 1 {
			t.Errorf("%s: POSTed twice, stored %d times", tc.name, n)
		}
	}
}

// The SDK re-sends what was not acknowledged after a reconnect; a server-side WebSocket sender
// with UUIDv4 ids and no ts must not get those stored twice.
func TestResentAfterReconnectIsStoredOnce(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	p := s.project(t)
	ids := make([]string, 50)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	for round := range 2 { // the second connection re-sends everything the first sent
		c := s.dial(t, p, "anon-re")
		for i, id := range ids {
			c.send(map[string]any{"type": "event", "event": "tick", "id": id, "seq": i + 1})
		}
		c.waitAck(float64(len(ids)))
		_ = c.c.CloseNow()
		if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1`, p); n != len(ids) {
			t.Fatalf("after connection %d: %d rows, want %d", round+1, n, len(ids))
		}
	}
}

func millis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// uuidV7At is a UUIDv7 whose time is t.
func uuidV7At(t time.Time) uuid.UUID {
	u := uuid.New()
	binary.BigEndian.PutUint16(u[4:6], uint16(t.UnixMilli()))
	binary.BigEndian.PutUint32(u[0:4], uint32(t.UnixMilli()>>16))
	u[6] = 0x70 | u[6]&0x0f
	return u
}
