package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/internal/wsclient"
)

// cluster is a PostgreSQL cluster of this test's own, so it can be stopped and started.
type cluster struct {
	env  []string
	url  string
	data string // data directory
	port int
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	dir, err := os.MkdirTemp("", "beacon-pgrestart-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // the postgres OS user must reach it
		t.Fatal(err)
	}
	port := freePort(t)
	c := &cluster{
		env:  append(os.Environ(), "PGPORT="+strconv.Itoa(port), "BEACON_PGDATA="+filepath.Join(dir, "pg15")),
		url:  "postgres://beacon:beacon@localhost:" + strconv.Itoa(port) + "/beacon?sslmode=disable",
		data: filepath.Join(dir, "pg15"),
		port: port,
	}
	c.run(t, "up")
	t.Cleanup(func() {
		c.run(t, "down")
		os.RemoveAll(dir)
	})
	return c
}

func (c *cluster) run(t *testing.T, verb string, args ...string) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.Command("bash", append([]string{filepath.Join(filepath.Dir(file), "infra", "pg.sh"), verb}, args...)...)
	cmd.Env = c.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pg.sh %s: %v\n%s", verb, err, out)
	}
}

// TestPostgresRestartUnderLoad: a fast stop and start of PostgreSQL mid-stream. /readyz reports
// the outage while it lasts; the relay reconnects; acknowledged events survive; the client's
// re-sends end exactly-once; the flag listener is back and delivers a change.
func TestPostgresRestartUnderLoad(t *testing.T) {
	t.Parallel()
	pg := newCluster(t)
	mig := command("DATABASE_URL=" + pg.url)
	mig.Args = append(mig.Args, "migrate")
	if out, err := mig.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	db := &testdb.DB{URL: pg.url}
	r := startRelay(t, freePort(t), "DATABASE_URL="+pg.url, "RATE_LIMIT_CONN=0")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pool := connectPool(t, ctx, pg.url)
	db.Pool = pool
	project := createProject(t, db)

	const n = 30000
	var acked atomic.Int64
	stopAt := make(chan struct{})
	var once sync.Once
	sent := make(chan error, 1)
	go func() {
		sent <- reliableSend(ctx, func() string { return r.ws + "/ws?project=" + project + "&anon=pg" }, n, func(a int) {
			acked.Store(int64(a))
			if a >= 5000 {
				once.Do(func() { close(stopAt) })
			}
		})
	}()
	<-stopAt
	pool.Close()
	pg.run(t, "down") // pg_ctl stop -m fast
	ackedAtStop := acked.Load()
	waitHTTP(t, r.base+"/readyz", http.StatusServiceUnavailable)
	time.Sleep(time.Second) // an outage the client's writes run into
	pg.run(t, "up")
	waitHTTP(t, r.base+"/readyz", http.StatusOK)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	db.Pool = connectPool(t, ctx, pg.url)
	defer db.Pool.Close()
	if got := countEvents(t, db); got != n {
		t.Fatalf("rows = %d, want exactly %d (acknowledged at stop: %d)", got, n, ackedAtStop)
	}
	if got := countDistinct(t, db); got != n {
		t.Fatalf("distinct = %d, want %d", got, n)
	}

	c, _, err := wsclient.Dial(ctx, r.ws+"/ws?project="+project+"&anon=f", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	expectFlags(t, ctx, c, `{}`)
	if _, err := db.Pool.Exec(ctx, `INSERT INTO beacon.flags (project_id, key, enabled) VALUES ($1, 'after_restart', true)`, project); err != nil {
		t.Fatal(err)
	}
	expectFlags(t, ctx, c, `{"after_restart":true}`)
	t.Logf("stopped PostgreSQL with %d acknowledged; all %d stored once", ackedAtStop, n)
}
