package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// TestAuditStreamFromTheBinary runs `beacon serve` with AUDIT_STREAM as an operator would: sign-ins
// (and a failure) and a flag change made through the API reach the file once each, in order,
// across a restart of the relay, with rows written while it was down; SIGHUP reopens the file.
func TestAuditStreamFromTheBinary(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	owner := []string{"DATABASE_URL=" + db.URL}
	project := strings.TrimSpace(string(runBeacon(t, "", owner, "project", "create", "--name", "Shop")))
	runBeacon(t, "a perfectly fine passphrase\n", owner, "account", "create", "--email", "ada@example.com", "--role", "owner")
	login := db.LoginAs(t, "beacon_relay")
	u, _ := url.Parse(login)
	if _, err := db.Pool.Exec(context.Background(), "GRANT beacon_api TO "+pgx.Identifier{u.User.Username()}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	env := []string{"DATABASE_URL=" + login, "AUDIT_STREAM=" + path, "LOG_LEVEL=info"}

	r := startRelay(t, freePort(t), env...)
	signIn(t, r.base, "wrong password", http.StatusUnauthorized)
	c, csrf := signIn(t, r.base, "a perfectly fine passphrase", http.StatusOK)
	req, _ := http.NewRequest("POST", r.base+"/api/projects/"+project+"/flags", strings.NewReader(`{"key":"new-checkout"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	req.AddCookie(c)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create flag: %v %v", resp, err)
	}
	waitStream(t, db, path)
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Wait(); err != nil {
		t.Fatalf("relay exit: %v", err)
	}

	// Written while no relay streams, then picked up by the next one.
	runBeacon(t, "another fine passphrase here\n", owner, "account", "create", "--email", "bob@example.com", "--role", "viewer", "--project", project)
	r = startRelay(t, freePort(t), env...)
	signIn(t, r.base, "a perfectly fine passphrase", http.StatusOK)
	got := waitStream(t, db, path)
	for _, action := range []string{"sign_in_failed", "sign_in", "flag_created", "account_created", "membership_added"} {
		if !slices.Contains(got, action) {
			t.Errorf("stream lacks %s: %v", action, got)
		}
	}

	// logrotate: move the file, SIGHUP, and the next rows go to a new file.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, r, "reopened the audit stream file on SIGHUP")
	signIn(t, r.base, "a perfectly fine passphrase", http.StatusOK)
	deadline := time.Now().Add(15 * time.Second)
	for len(streamLines(t, path)) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if len(streamLines(t, path)) == 0 || len(streamLines(t, path+".1")) != len(got) {
		t.Fatalf("after SIGHUP: new file %v, rotated file %d lines (want %d)", streamLines(t, path), len(streamLines(t, path+".1")), len(got))
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("reopened file mode %v (%v), want 0600", st.Mode(), err)
	}
}

// signIn signs in as ada (accepting no banner: none is set) and checks the status.
func signIn(t *testing.T, base, password string, status int) (*http.Cookie, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": "ada@example.com", "password": password})
	resp, b := post(t, base+"/api/session", string(body), nil)
	if resp.StatusCode != status {
		t.Fatalf("sign in: %d %s, want %d", resp.StatusCode, b, status)
	}
	var s struct{ CSRF string }
	_ = json.Unmarshal(b, &s)
	if cs := resp.Cookies(); len(cs) == 1 {
		return cs[0], s.CSRF
	}
	return nil, ""
}

type streamLine struct {
	ID     int64  `json:"id"`
	Action string `json:"action"`
}

func streamLines(t *testing.T, path string) []streamLine {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []streamLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l streamLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

// waitStream waits until the file holds every audit row, once each, in the stream's order, and
// returns their actions.
func waitStream(t *testing.T, db *testdb.DB, path string) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rows, err := db.Pool.Query(context.Background(), `SELECT audit_id FROM beacon.audit ORDER BY coalesce(xact, '0'::xid8), audit_id`)
		if err != nil {
			t.Fatal(err)
		}
		want, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			t.Fatal(err)
		}
		lines := streamLines(t, path)
		var ids []int64
		var actions []string
		for _, l := range lines {
			ids, actions = append(ids, l.ID), append(actions, l.Action)
		}
		if slices.Equal(ids, want) {
			return actions
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream file holds %v, want every audit row once in order %v", ids, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
