package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// TestTokenCommands runs `beacon token create|list|revoke` as an operator would and uses the
// token against a relay with production's grants: it reads its project, is refused once revoked.
func TestTokenCommands(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	owner := []string{"DATABASE_URL=" + db.URL}
	project := strings.TrimSpace(string(runBeacon(t, "", owner, "project", "create", "--name", "Shop")))

	for _, tc := range []struct{ args []string }{
		{[]string{"--project", project, "--scope", "admin"}},
		{[]string{"--project", project, "--scope", "read", "--expires", "400d"}},
		{[]string{"--project", "nope", "--scope", "read"}},
	} {
		cmd := command(owner...)
		cmd.Args = append(cmd.Args, append([]string{"token", "create"}, tc.args...)...)
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("token create %v succeeded: %s", tc.args, out)
		}
	}
	out := string(runBeacon(t, "", owner, "token", "create", "--project", project, "--scope", "read", "--expires", "30d", "--name", "ci"))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	token := lines[0]
	id := strings.TrimSuffix(strings.Fields(lines[1])[2], ":")
	if !strings.HasPrefix(token, "bct_") || len(id) != 36 {
		t.Fatalf("token create printed %q", out)
	}
	if list := string(runBeacon(t, "", owner, "token", "list", "--project", project)); !strings.Contains(list, id+"\tread\tci\t") || strings.Contains(list, token) {
		t.Errorf("token list: %s", list)
	}

	login := db.LoginAs(t, "beacon_relay")
	u, _ := url.Parse(login)
	if _, err := db.Pool.Exec(context.Background(), "GRANT beacon_api TO "+pgx.Identifier{u.User.Username()}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	r := startRelay(t, freePort(t), "DATABASE_URL="+login)
	get := func() int {
		req, _ := http.NewRequest("GET", r.base+"/api/projects/"+project+"/flags", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(); s != http.StatusOK {
		t.Errorf("GET with the token: %d", s)
	}
	runBeacon(t, "", owner, "token", "revoke", id)
	if s := get(); s != http.StatusUnauthorized {
		t.Errorf("GET with the revoked token: %d", s)
	}
}

func TestIdentitySettingsAreChecked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ env, want string }{
		{"SESSION_REAUTH_WINDOW=10s", "SESSION_REAUTH_WINDOW must be between 1m and SESSION_LIFETIME"},
		{"SESSION_REAUTH_WINDOW=13h", "SESSION_REAUTH_WINDOW must be between 1m and SESSION_LIFETIME"},
		{"SESSION_MAX_PER_ACCOUNT=-1", "SESSION_MAX_PER_ACCOUNT must be between 0 (no limit) and 1000"},
		{"SESSION_MAX_PER_ACCOUNT=many", `SESSION_MAX_PER_ACCOUNT="many" is not a valid integer`},
		{"SIGNIN_BANNER=" + strings.Repeat("x", 10001), "SIGNIN_BANNER must be UTF-8 text of at most 10000 bytes"},
	} {
		var stderr bytes.Buffer
		cmd := command("DATABASE_URL=postgres://x/y", tc.env)
		cmd.Stderr = &stderr
		if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%s: %v %q, want %q", tc.env[:min(len(tc.env), 40)], err, stderr.String(), tc.want)
		}
	}
}
