package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// dashAcct is the account the API and browser measurements sign in with.
type dashAcct struct{ email, password string }

// dashAccount creates an owner account with `beacon account create`, as an operator does: the
// password on standard input.
func (e *env) dashAccount(ctx context.Context, dbURL string) (dashAcct, error) {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	a := dashAcct{email: fmt.Sprintf("bench-%d@example.com", time.Now().UnixNano()), password: "bench " + hex.EncodeToString(b)}
	cmd := exec.CommandContext(ctx, e.binary, "account", "create", "--email", a.email, "--role", "owner")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "DATABASE_URL=" + dbURL}
	cmd.Stdin = strings.NewReader(a.password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return a, fmt.Errorf("account create: %v\n%s", err, out)
	}
	return a, nil
}

// apiClient is a signed-in session of the dashboard's API: the cookie in its jar.
type apiClient struct {
	base string
	http *http.Client
}

// signIn is POST /api/session with the dashboard's Origin, as the page sends it.
func signIn(ctx context.Context, r *relay, a dashAcct) (*apiClient, error) {
	jar, _ := cookiejar.New(nil)
	c := &apiClient{base: "http://" + r.addr, http: &http.Client{Jar: jar, Timeout: 60 * time.Second}}
	body, _ := json.Marshal(map[string]string{"email": a.email, "password": a.password})
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+"/api/session", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", c.base)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("sign in: %s %s", resp.Status, b)
	}
	return c, nil
}

// get reads a whole answer; it returns the status and the body's size.
func (c *apiClient) get(ctx context.Context, path string) (int, int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, int(n), err
}

// apiCall is one request of the overview page, timed.
type apiCall struct {
	name, path string
	target     time.Duration // 0: none stated
	times      []time.Duration
	spent      time.Duration // warm-ups included
	timedOut   bool          // no answer within the client's timeout: not asked again
	status     int
	bytes      int
}

// overviewCalls are the requests timed: the contract's (docs: /work/overview-contract.md) when the
// relay answers ?range=, else main's older ?from=&to= equivalents (marked in the report).
func overviewCalls(ctx context.Context, c *apiClient) ([]*apiCall, bool, error) {
	p := "/api/projects/" + dashProject
	st, _, err := c.get(ctx, p+"/overview?range=30d")
	if err != nil {
		return nil, false, err
	}
	session := &apiCall{name: "baseline: GET /api/session (session check, no analytics)", path: "/api/session"}
	if st == http.StatusOK {
		return []*apiCall{
			{name: "overview, 30 days", path: p + "/overview?range=30d", target: 50 * time.Millisecond},
			{name: "overview, 7 days", path: p + "/overview?range=7d"},
			{name: "overview, today", path: p + "/overview?range=today"},
			{name: "overview, 24 hours", path: p + "/overview?range=24h"},
			{name: "overview, 12 months", path: p + "/overview?range=12mo"},
			{name: "overview, 30 days, source=news.ycombinator.com", path: p + "/overview?range=30d&source=news.ycombinator.com"},
			{name: "overview, 30 days, browser=Firefox", path: p + "/overview?range=30d&browser=Firefox"},
			{name: "CSV export: sources, 30 days", path: p + "/overview/sources.csv?range=30d"},
			{name: "current visitors", path: p + "/current"},
			session,
		}, true, nil
	}
	today := time.Now().UTC()
	day := func(back int) string { return today.AddDate(0, 0, -back).Format(time.DateOnly) }
	span := func(back int) string { return p + "/overview?from=" + day(back) + "&to=" + day(0) }
	return []*apiCall{
		{name: "overview, 30 days (from/to)", path: span(29), target: 50 * time.Millisecond},
		{name: "overview, 7 days (from/to)", path: span(6)},
		{name: "overview, today (from/to)", path: span(0)},
		{name: "overview, 365 days (from/to)", path: span(364)},
		session,
	}, false, nil
}

// benchOverviewAPI signs in over HTTP and times the overview's requests through the relay, round
// robin (so a busy moment of the shared machine hits every request alike), one at a time.
func benchOverviewAPI(ctx context.Context, e *env, r *relay, a dashAcct) error {
	c, err := signIn(ctx, r, a)
	if err != nil {
		return err
	}
	calls, contract, err := overviewCalls(ctx, c)
	if err != nil {
		return err
	}
	runs := e.o.dashRuns
	budget := e.o.dashBudget
	for i := range runs + 3 {
		for _, call := range calls {
			if call.timedOut || call.spent > budget { // a slow request is timed fewer times; the table gives n
				continue
			}
			t0 := time.Now()
			st, n, err := c.get(ctx, call.path)
			took := time.Since(t0)
			call.spent += took
			if err != nil && ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err)) {
				call.timedOut = true
				continue
			}
			if err != nil {
				return err
			}
			call.status, call.bytes = st, n
			if i >= 3 {
				call.times = append(call.times, took)
			}
		}
	}
	base := calls[len(calls)-1]
	slices.Sort(base.times)
	b50, b95 := quantile(base.times, 0.5), quantile(base.times, 0.95)
	api := "the overview contract's `?range=` API"
	if !contract {
		api = "this build's older `?from=&to=` overview (the contract's `?range=` answered otherwise)"
	}
	e.printf("\n**API through the relay**: `beacon serve` built from the tree on this database, an owner made with `beacon account create`, "+
		"signed in with `POST /api/session` (cookie); %s. Each request %d times after 3 warm-ups, round robin, one at a time, "+
		"over loopback with keep-alive; time to the last byte of the body. A request whose timed runs took more than %s in all is not run again (n).\n\n", api, runs, budget)
	e.printf("| request | status | bytes | n | p50 ms | p95 ms | max ms | p50 / session p50 | p95 / session p95 | target |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, call := range calls {
		path, _ := url.PathUnescape(strings.TrimPrefix(call.path, "/api/projects/"+dashProject))
		if len(call.times) == 0 {
			why := fmt.Sprintf("not timed: the 3 warm-ups alone took %s, over the budget", call.spent.Round(time.Second))
			if call.timedOut {
				why = "no answer within the client's 60 s timeout"
			}
			e.printf("| %s `%s` | | | 0 | %s | | | | | |\n", call.name, path, why)
			continue
		}
		slices.Sort(call.times)
		p50, p95 := quantile(call.times, 0.5), quantile(call.times, 0.95)
		target := ""
		if call.target > 0 {
			verdict := "met"
			if p95 > call.target {
				verdict = "missed"
			}
			target = fmt.Sprintf("p95 ≤ %s: %s", call.target, verdict)
		}
		e.printf("| %s `%s` | %d | %d | %d | %s | %s | %s | %.1f | %.1f | %s |\n", call.name, path, call.status, call.bytes, len(call.times),
			ms(p50), ms(p95), ms(call.times[len(call.times)-1]), ratio(p50, b50), ratio(p95, b95), target)
	}
	return nil
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func sum(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}
