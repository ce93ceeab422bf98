package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// TestWritekeyCommands runs `beacon writekey create|list|revoke` as an operator would and uses the
// key against a relay with production's grants (beacon_relay): Segment's /v1/track stores with it
// and refuses it once revoked, at its next request.
func TestWritekeyCommands(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	owner := []string{"DATABASE_URL=" + db.URL}
	project := strings.TrimSpace(string(runBeacon(t, "", owner, "project", "create", "--name", "Shop")))
	for _, args := range [][]string{{"--project", "nope"}, {"--project", project, "--name", ""}} {
		cmd := command(owner...)
		cmd.Args = append(cmd.Args, append([]string{"writekey", "create"}, args...)...)
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("writekey create %v succeeded: %s", args, out)
		}
	}
	out := string(runBeacon(t, "", owner, "writekey", "create", "--project", project, "--name", "backend"))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[0]
	id := strings.TrimSuffix(strings.Fields(lines[1])[2], ":")
	if !strings.HasPrefix(key, "bwk_") || len(id) != 36 {
		t.Fatalf("writekey create printed %q", out)
	}
	r := startRelay(t, freePort(t), "DATABASE_URL="+db.LoginAs(t, "beacon_relay"))
	track := func() int {
		req, _ := http.NewRequest("POST", r.base+"/v1/track", strings.NewReader(`{"userId":"u1","event":"Paid","messageId":"m1"}`))
		req.SetBasicAuth(key, "")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := track(); s != http.StatusOK {
		t.Fatalf("track with the key: %d", s)
	}
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM beacon.events WHERE project_id = $1 AND name = 'Paid' AND user_id = 'u1'`, project).Scan(&n); err != nil || n != 1 {
		t.Errorf("stored %d events (%v), want 1", n, err)
	}
	if list := string(runBeacon(t, "", owner, "writekey", "list", "--project", project)); !strings.Contains(list, id+"\tbackend\t") || !strings.Contains(list, "\tactive\t") || strings.Contains(list, key) {
		t.Errorf("writekey list: %s", list)
	}
	runBeacon(t, "", owner, "writekey", "revoke", id)
	if s := track(); s != http.StatusUnauthorized {
		t.Errorf("track with the revoked key: %d", s)
	}
	if list := string(runBeacon(t, "", owner, "writekey", "list", "--project", project)); !strings.Contains(list, "\trevoked\t") {
		t.Errorf("writekey list after revoke: %s", list)
	}
	cmd := command(owner...)
	cmd.Args = append(cmd.Args, "writekey", "revoke", id)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "no active write key") {
		t.Errorf("second revoke: %v %s", err, out)
	}
}
