package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// apiCall is one dashboard API request with a browser's cookies; it returns the answer, its
// body and the cookies it set.
type apiCall struct {
	t       *testing.T
	base    string
	cookies map[string]*http.Cookie
	csrf    string
}

func (c *apiCall) do(method, path, body string) (*http.Response, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", c.base)
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for _, k := range c.cookies {
		req.AddCookie(k)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, k := range resp.Cookies() {
		c.cookies[k.Name] = k
	}
	return resp, b
}

func signedIn(t *testing.T, base, email, password string) *apiCall {
	t.Helper()
	c := &apiCall{t: t, base: base, cookies: map[string]*http.Cookie{}}
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	resp, b := c.do("POST", "/api/session", string(body))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign in %s: %d %s", email, resp.StatusCode, b)
	}
	var s struct{ CSRF string }
	_ = json.Unmarshal(b, &s)
	c.csrf = s.CSRF
	return c
}

// TestDashboardReadsFromReplica: with READ_DATABASE_URL the dashboard's reads are served by a
// streaming replica (Beacon-Read-From: replica, with its lag), and the primary answers when the
// replica cannot: a browser's own change not replayed there yet, a replica further behind than
// READ_MAX_LAG, a membership it does not have yet. Replay is paused on the replica to make it
// behind on purpose; events sent to the primary reach the Events page from the replica.
func TestDashboardReadsFromReplica(t *testing.T) {
	t.Parallel()
	primary := newCluster(t)
	replica := newReplica(t, primary)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	owner := []string{"DATABASE_URL=" + primary.url}
	runBeacon(t, "", owner, "migrate")
	project := strings.TrimSpace(string(runBeacon(t, "", owner, "project", "create", "--name", "Shop")))
	runBeacon(t, "a perfectly fine passphrase\n", owner, "account", "create", "--email", "ada@example.com", "--role", "owner")
	const maxLag = 3 * time.Second
	relay := startRelay(t, freePort(t), append(owner, "READ_DATABASE_URL="+replica.url, "READ_MAX_LAG="+maxLag.String())...)

	ada := signedIn(t, relay.base, "ada@example.com", "a perfectly fine passphrase")
	flags := "/api/projects/" + project + "/flags"
	readFrom := func(c *apiCall, path string) (string, []byte) {
		t.Helper()
		resp, b := c.do("GET", path, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		from := resp.Header.Get("Beacon-Read-From")
		if lag, err := strconv.ParseFloat(resp.Header.Get("Beacon-Read-Lag"), 64); from == "replica" && (err != nil || lag < 0) {
			t.Fatalf("GET %s from the replica: lag header %q", path, resp.Header.Get("Beacon-Read-Lag"))
		}
		return from, b
	}
	// The sign-in set the read-your-writes position; once replayed, reads come from the replica.
	if _, ok := ada.cookies["beacon_read_after"]; !ok {
		t.Fatalf("sign-in set no beacon_read_after cookie: %v", ada.cookies)
	}
	waitFor(t, "reads from the replica", func() bool { from, _ := readFrom(ada, flags); return from == "replica" })

	// Replay paused: ada's new flag is on the primary only. Her next read goes to the primary (her
	// own change); a browser without that position reads the replica's older state, until the
	// replica is further behind than READ_MAX_LAG.
	replica.run(t, "psql", "-c", "SELECT pg_wal_replay_pause()") // a superuser's function
	paused := time.Now()
	if resp, b := ada.do("POST", flags, `{"key":"new-checkout"}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create flag: %d %s", resp.StatusCode, b)
	}
	if from, b := readFrom(ada, flags); from != "primary" || !strings.Contains(string(b), "new-checkout") {
		t.Errorf("ada's read after her change: from %s, %s; want the primary, with the flag", from, b)
	}
	other := &apiCall{t: t, base: relay.base, cookies: map[string]*http.Cookie{"beacon_session": ada.cookies["beacon_session"]}}
	if from, b := readFrom(other, flags); from != "replica" || strings.Contains(string(b), "new-checkout") {
		t.Errorf("a read without ada's position %v after the pause: from %s, %s; want the replica, without the flag", time.Since(paused), from, b)
	}
	// Bob is made a member while the replica cannot know it: the replica refuses him, the primary answers.
	runBeacon(t, "another fine passphrase here\n", owner, "account", "create", "--email", "bob@example.com", "--role", "viewer", "--project", project)
	bob := signedIn(t, relay.base, "bob@example.com", "another fine passphrase here")
	delete(bob.cookies, "beacon_read_after")
	if from, b := readFrom(bob, flags); from != "primary" || !strings.Contains(string(b), "new-checkout") {
		t.Errorf("a new member's read: from %s, %s; want the primary's answer", from, b)
	}
	time.Sleep(time.Until(paused.Add(maxLag + 500*time.Millisecond)))
	if from, _ := readFrom(other, flags); from != "primary" {
		t.Errorf("replica paused %v (READ_MAX_LAG %v): read from %s, want the primary", time.Since(paused), maxLag, from)
	}

	// Replay resumed: everyone reads the replica again, with the flag; events sent to the primary
	// through the relay reach the Events page there.
	replica.run(t, "psql", "-c", "SELECT pg_wal_replay_resume()")
	waitFor(t, "ada's reads back on the replica", func() bool {
		from, b := readFrom(ada, flags)
		return from == "replica" && strings.Contains(string(b), "new-checkout")
	})
	const n = 150
	if err := reliableSend(ctx, func() string { return relay.ws + "/ws?project=" + project + "&session=s&anon=a" }, n, func(int) {}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the events on the replica's Events page", func() bool {
		from, b := readFrom(ada, "/api/projects/"+project+"/events?limit=200")
		var page struct{ Events []json.RawMessage }
		_ = json.Unmarshal(b, &page)
		return from == "replica" && len(page.Events) == n
	})
}
