package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/internal/wsclient"
)

// TestLiveCountsWebSockets runs the binary and watches GET /api/projects/{id}/live as the Live
// page does: a WebSocket to /ws raises the project's client count, its events show in the last
// 10 s and its anon id among the current visitors, and closing it brings the count back down.
func TestLiveCountsWebSockets(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	owner := []string{"DATABASE_URL=" + db.URL}
	project := strings.TrimSpace(string(runBeacon(t, "", owner, "project", "create", "--name", "Shop")))
	other := strings.TrimSpace(string(runBeacon(t, "", owner, "project", "create", "--name", "Blog")))
	runBeacon(t, "a perfectly fine passphrase\n", owner, "account", "create", "--email", "vic@example.com", "--role", "viewer", "--project", project)
	r := startRelay(t, freePort(t), owner...)

	resp, body := post(t, r.base+"/api/session", `{"email":"vic@example.com","password":"a perfectly fine passphrase"}`, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign in: %d %s", resp.StatusCode, body)
	}
	cookie := resp.Cookies()[0]
	type live struct {
		Clients         int     `json:"clients"`
		CurrentVisitors int     `json:"current_visitors"`
		EventsLast10s   int     `json:"events_last_10s"`
		EventsPerSecond float64 `json:"events_per_second"`
	}
	get := func(id string) (int, live) {
		t.Helper()
		req, _ := http.NewRequest("GET", r.base+"/api/projects/"+id+"/live", nil)
		req.AddCookie(cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var l live
		_ = json.NewDecoder(resp.Body).Decode(&l)
		return resp.StatusCode, l
	}
	// waitFor polls as the page does (every 2 s there; faster here) until ok, for 10 s at most.
	waitFor := func(what string, ok func(live) bool) live {
		t.Helper()
		var l live
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			if _, l = get(project); ok(l) {
				return l
			}
		}
		t.Fatalf("%s: last answer %+v", what, l)
		return l
	}
	if status, l := get(project); status != http.StatusOK || l != (live{}) {
		t.Fatalf("live before any client: %d %+v", status, l)
	}
	if status, _ := get(other); status != http.StatusNotFound {
		t.Errorf("live of a project the account is not a member of: %d, want 404", status)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := wsclient.Dial(ctx, r.ws+"/ws?project="+project+"&session=s1&anon=visitor-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	waitFor("one client", func(l live) bool { return l.Clients == 1 })
	for i := 1; i <= 5; i++ {
		msg := fmt.Sprintf(`{"type":"event","event":"click","seq":%d,"ts":%d}`, i, time.Now().UnixMilli())
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	l := waitFor("5 events and a visitor", func(l live) bool { return l.EventsLast10s == 5 && l.CurrentVisitors == 1 })
	if l.EventsPerSecond != 0.5 {
		t.Errorf("events per second %v, want 0.5 (5 in 10 s)", l.EventsPerSecond)
	}
	c.Close(websocket.StatusNormalClosure, "bye")
	waitFor("no client after close", func(l live) bool { return l.Clients == 0 })
}
