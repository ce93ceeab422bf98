package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/beacon-analytics/beacon/api"
	"github.com/beacon-analytics/beacon/api/password"
	"github.com/beacon-analytics/beacon/internal/testdb"
)

// testIterations keeps PBKDF2 cheap in tests; password's own test runs the real count.
const testIterations = 1_000

// env is one test's database and API server, reached over real HTTP.
type env struct {
	t   *testing.T
	db  *testdb.DB
	srv *httptest.Server
	api *api.Server
}

func defaultConfig() api.Config {
	return api.Config{
		IdleTimeout: 15 * time.Minute, Lifetime: 12 * time.Hour,
		LockoutThreshold: 5, LockoutWindow: 15 * time.Minute, LockoutDuration: 15 * time.Minute,
		Iterations: testIterations,
	}
}

// newEnv starts the API on a pool of a login in beacon_api only, as production's grants allow.
func newEnv(t *testing.T, cfg api.Config) *env {
	t.Helper()
	db := testdb.New(t)
	pool, err := pgxpool.New(context.Background(), db.LoginAs(t, "beacon_api"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	// Every test's reads take the replica path (reads.go) on a pool of their own on the primary:
	// read-only transactions acting for the principal checked on the primary, so a GET handler
	// that writes, or a principal the read path loses, fails here. replica_test.go in the main
	// package runs them on a real streaming replica.
	if cfg.Reads == nil {
		reads, err := pgxpool.New(context.Background(), db.LoginAs(t, "beacon_api"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(reads.Close)
		cfg.Reads = reads
	}
	a := api.New(pool, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return &env{t: t, db: db, srv: srv, api: a}
}

func (e *env) exec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.db.Pool.Exec(context.Background(), sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

func scalar[T any](e *env, sql string, args ...any) T {
	e.t.Helper()
	var v T
	if err := e.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// account creates an account as the CLI does and returns its id.
func (e *env) account(email, pw string, admin bool) string {
	e.t.Helper()
	return e.accountWith(email, pw, admin, testIterations)
}

// accountWith creates an account whose hash has the given iterations.
func (e *env) accountWith(email, pw string, admin bool, iterations int) string {
	e.t.Helper()
	h, err := password.Hash(password.Normalize(pw), iterations)
	if err != nil {
		e.t.Fatal(err)
	}
	return scalar[string](e, `SELECT beacon.create_account($1, $2, $3)::text`, email, h, admin)
}

func (e *env) project(name string) string {
	e.t.Helper()
	return scalar[string](e, `INSERT INTO beacon.projects (name) VALUES ($1) RETURNING project_id::text`, name)
}

// auditCount counts audit rows of an action (for an account, when given).
func (e *env) auditCount(action, account string) int {
	e.t.Helper()
	return scalar[int](e, `SELECT count(*)::int FROM beacon.audit WHERE action = $1 AND ($2 = '' OR account_id::text = $2)`, action, account)
}

// browser is a client with a cookie jar, sending what a same-origin fetch sends.
type browser struct {
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar}}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("body %q: %v", a.body, err)
	}
	return m
}

func (a answer) code(t *testing.T) string {
	t.Helper()
	e, _ := a.json(t)["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// do sends a request; headers are pairs of name, value.
func (b *browser) do(method, path string, body any, headers ...string) answer {
	b.e.t.Helper()
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, rd)
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Origin", b.e.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, out}
}

// signIn posts the credentials and keeps the CSRF token of a success.
func (b *browser) signIn(email, pw string) answer {
	b.e.t.Helper()
	a := b.do("POST", "/api/session", map[string]string{"email": email, "password": pw})
	if a.status == http.StatusOK {
		b.csrf, _ = a.json(b.e.t)["csrf"].(string)
	}
	return a
}

func (b *browser) mustSignIn(email, pw string) {
	b.e.t.Helper()
	if a := b.signIn(email, pw); a.status != http.StatusOK {
		b.e.t.Fatalf("sign in %s: %d %s", email, a.status, a.body)
	}
}

// send is do with the CSRF token of b's session, as every state-changing request carries.
func (b *browser) send(method, path string, body any) answer {
	b.e.t.Helper()
	return b.do(method, path, body, "X-CSRF-Token", b.csrf)
}
