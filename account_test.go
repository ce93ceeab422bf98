package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// TestAccountCreateAndSignIn runs the binary as an operator would: `beacon account create`
// with the password on standard input, then `beacon serve` as a login in beacon_relay and
// beacon_api (production's grants), and signs in through /api/ over HTTP.
func TestAccountCreateAndSignIn(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	owner := []string{"DATABASE_URL=" + db.URL}
	project := strings.TrimSpace(string(runBeacon(t, "", owner, "project", "create", "--name", "Shop")))

	// Refused: a weak password (with the reason), a password as an argument, no password.
	for _, tc := range []struct {
		stdin, want string
		args        []string
	}{
		{"short\n", "password refused: it has 5 characters; use at least 15", nil},
		{"1qaz2wsx3edc4rfv\n", "common or breached", nil},
		{"", "no password on standard input", nil},
		{"a perfectly fine passphrase\n", "usage:", []string{"--password", "x"}},
		{"a perfectly fine passphrase\n", "--project is required", []string{"--role", "viewer"}},
	} {
		args := append([]string{"account", "create", "--email", "ada@example.com", "--role", "owner"}, tc.args...)
		cmd := command(owner...)
		cmd.Args = append(cmd.Args, args...)
		cmd.Stdin = strings.NewReader(tc.stdin)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("account create %v < %q: %v %s, want %q", tc.args, tc.stdin, err, out, tc.want)
		}
	}
	admin := strings.TrimSpace(string(runBeacon(t, "a perfectly fine passphrase\n", owner, "account", "create", "--email", "ada@example.com", "--role", "owner")))
	viewer := strings.TrimSpace(string(runBeacon(t, "another fine passphrase here\r\n", owner, "account", "create",
		"--email", "bob@example.com", "--role", "viewer", "--project", project)))
	if len(admin) != 36 || len(viewer) != 36 {
		t.Fatalf("account create printed %q, %q, want ids", admin, viewer)
	}

	login := db.LoginAs(t, "beacon_relay")
	u, _ := url.Parse(login)
	if _, err := db.Pool.Exec(context.Background(), "GRANT beacon_api TO "+pgx.Identifier{u.User.Username()}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	r := startRelay(t, freePort(t), "DATABASE_URL="+login)

	resp, body := post(t, r.base+"/api/session", `{"email":"bob@example.com","password":"another fine passphrase here"}`, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign in: %d %s", resp.StatusCode, body)
	}
	for h, want := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Content-Type": "application/json"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if resp.Header.Get("Content-Security-Policy") == "" {
		t.Error("no Content-Security-Policy")
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || cookies[0].Name != "beacon_session" {
		t.Fatalf("cookies %v", cookies)
	}
	req, _ := http.NewRequest("GET", r.base+"/api/projects", nil)
	req.AddCookie(cookies[0])
	got, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Body.Close()
	var list struct{ Projects []struct{ ID, Role string } }
	if err := json.NewDecoder(got.Body).Decode(&list); err != nil || len(list.Projects) != 1 || list.Projects[0].ID != project || list.Projects[0].Role != "viewer" {
		t.Errorf("projects: %d %+v %v", got.StatusCode, list, err)
	}
	resp, body = post(t, r.base+"/api/session", `{"email":"bob@example.com","password":"wrong"}`, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), `"bad_credentials"`) {
		t.Errorf("wrong password: %d %s", resp.StatusCode, body)
	}
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM beacon.audit WHERE action IN ('account_created', 'membership_added', 'sign_in', 'sign_in_failed')`).Scan(&n); err != nil || n != 5 {
		t.Errorf("%d audit rows, want 5: %v", n, err)
	}

	// A relay run with the owner's URL, as `just dev` does, serves the API too: the migration
	// made the owner a member of beacon_api.
	dev := startRelay(t, freePort(t), owner...)
	if resp, body := post(t, dev.base+"/api/session", `{"email":"ada@example.com","password":"a perfectly fine passphrase"}`, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("sign in through a relay on the owner's URL: %d %s", resp.StatusCode, body)
	}
}

// runBeacon runs the binary with env and args, stdin given, and returns its standard output.
func runBeacon(t *testing.T, stdin string, env []string, args ...string) []byte {
	t.Helper()
	cmd := command(env...)
	cmd.Args = append(cmd.Args, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("beacon %v: %v: %s", args, err, stderr.String())
	}
	return out
}

func post(t *testing.T, u, body string, c *http.Cookie) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if c != nil {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestSignInSettingsAreChecked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ env, want string }{
		{"SESSION_IDLE_TIMEOUT=10s", "SESSION_IDLE_TIMEOUT must be at least 1m"},
		{"SESSION_LIFETIME=5m", "SESSION_LIFETIME must be at least SESSION_IDLE_TIMEOUT"},
		{"SIGNIN_LOCKOUT_FAILURES=0", "SIGNIN_LOCKOUT_FAILURES must be at least 1"},
		{"SIGNIN_LOCKOUT_DURATION=soon", `SIGNIN_LOCKOUT_DURATION="soon" is not a valid duration`},
	} {
		var stderr bytes.Buffer
		cmd := command("DATABASE_URL=postgres://x/y", tc.env)
		cmd.Stderr = &stderr
		if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%s: %v %q, want %q", tc.env, err, stderr.String(), tc.want)
		}
	}
}
