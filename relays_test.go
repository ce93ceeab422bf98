package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/internal/wsclient"
)

// fleet is several relays on one database, reached either directly (each client picks a relay,
// as a DNS round robin would) or through a front such as nginx.
type fleet struct {
	relays []*relayProc
	front  string       // ws://host:port of the load balancer; "" to spread clients over the relays
	down   atomic.Int32 // 1 + index of the relay taken out, 0 while all run
}

// url returns the dial address for client i, as reliableSend wants it: a new pick at each dial,
// skipping a relay that was taken out, so a client of a stopped relay lands on another.
func (f *fleet) url(i int, query string) func() string {
	tries := 0
	return func() string {
		if f.front != "" {
			return f.front + "/ws?" + query
		}
		for {
			r := (i + tries) % len(f.relays)
			tries++
			if int(f.down.Load()) != r+1 {
				return f.relays[r].ws + "/ws?" + query
			}
		}
	}
}

// stop takes relay i out with SIGTERM, as a rolling restart does, and waits for a clean exit.
func (f *fleet) stop(t *testing.T, i int) {
	t.Helper()
	f.down.Store(int32(i + 1))
	r := f.relays[i]
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range r.logs { // drain to EOF so Wait can close the pipe
	}
	if err := r.cmd.Wait(); err != nil {
		t.Fatalf("relay %d after SIGTERM: %v", i, err)
	}
}

// TestThreeRelays: three relays on one PostgreSQL, clients spread over them. A flag change reaches
// every client on every relay; one relay stopped with SIGTERM while clients keep sending loses
// nothing acknowledged and its clients carry on through the others; and beacon.maintain() runs
// once per MAINTAIN_INTERVAL, not once per relay.
func TestThreeRelays(t *testing.T) {
	t.Parallel()
	f, db, project := startFleet(t)
	exerciseFleet(t, f, db, project)
}

// TestRelaysBehindNginx runs the same with every client going through nginx configured by
// infra/nginx/beacon.conf (the example operators copy), so the example is known to carry
// WebSockets, spread them and move them off a stopping relay.
func TestRelaysBehindNginx(t *testing.T) {
	t.Parallel()
	bin := nginxBinary(t)
	f, db, project := startFleet(t)
	f.front = startNginx(t, bin, f.relays)
	exerciseFleet(t, f, db, project)
}

func startFleet(t *testing.T) (*fleet, *testdb.DB, string) {
	t.Helper()
	db := testdb.New(t)
	project := createProject(t, db)
	env := []string{"DATABASE_URL=" + db.URL, "MAINTAIN_INTERVAL=1s", "TRUSTED_PROXIES=127.0.0.1/32", "SHUTDOWN_TIMEOUT=8s"}
	f := &fleet{}
	for range 3 {
		f.relays = append(f.relays, startRelay(t, freePort(t), env...))
	}
	return f, db, project
}

func exerciseFleet(t *testing.T, f *fleet, db *testdb.DB, project string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()

	// One flag watcher per relay: directly, or through the front (least_conn gives each relay one).
	var watchers []*websocket.Conn
	for i := range f.relays {
		c, _, err := wsclient.Dial(ctx, f.url(i, "project="+project+"&anon=w"+strconv.Itoa(i))(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		expectFlags(t, ctx, c, `{}`)
		watchers = append(watchers, c)
	}
	for _, r := range f.relays {
		waitMetric(t, r.base+"/metrics", "beacon_ws_connections 1")
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO beacon.flags (project_id, key, enabled) VALUES ($1, 'fleet', true)`, project); err != nil {
		t.Fatal(err)
	}
	for _, c := range watchers {
		expectFlags(t, ctx, c, `{"fleet":true}`)
	}

	// Six senders at about 500 events/s each, so they are still sending when relay 1 gets its
	// SIGTERM (at a quarter of the events acknowledged) and after its drain (a quarter of
	// SHUTDOWN_TIMEOUT): its senders must reconnect to the others to finish.
	const senders, each = 6, 4000
	var acked [senders]atomic.Int64
	total := func() (n int64) {
		for i := range acked {
			n += acked[i].Load()
		}
		return n
	}
	stopAt := make(chan struct{})
	var once sync.Once
	errs := make(chan error, senders)
	var dials atomic.Int64
	for s := range senders {
		url := f.url(s, fmt.Sprintf("project=%s&session=s%d&anon=a%d", project, s, s))
		go func() {
			errs <- reliableSend(ctx, func() string { dials.Add(1); return url() }, each, func(a int) {
				time.Sleep(time.Duration(int64(a)-acked[s].Swap(int64(a))) * 2 * time.Millisecond)
				if total() >= senders*each/4 {
					once.Do(func() { close(stopAt) })
				}
			})
		}()
	}
	<-stopAt
	atSignal, signalled := total(), time.Now()
	f.stop(t, 1)
	t.Logf("relay 1 took %v to stop", time.Since(signalled).Round(time.Millisecond))
	ackedAtStop := total()
	if got := countEvents(t, db); int64(got) < ackedAtStop {
		t.Fatalf("after SIGTERM %d rows < %d acknowledged", got, ackedAtStop)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE beacon.flags SET enabled = false WHERE project_id = $1 AND key = 'fleet'`, project); err != nil {
		t.Fatal(err)
	}
	for range senders {
		if err := <-errs; err != nil {
			t.Fatalf("sender: %v", err)
		}
	}
	if got, distinct := countEvents(t, db), countDistinct(t, db); got != senders*each || distinct != senders*each {
		t.Fatalf("rows %d, distinct ids %d, want exactly %d", got, distinct, senders*each)
	}
	if dials.Load() <= senders {
		t.Fatalf("%d dials by %d senders: relay 1's senders finished before it stopped, so no reconnect was tested", dials.Load(), senders)
	}
	watchAfterStop(t, ctx, f, project, watchers)
	checkMaintainOnce(t, db, time.Since(start))
	t.Logf("SIGTERM to relay 1 at %d of %d acknowledged, stopped at %d; %d dials by %d senders; all stored once",
		atSignal, senders*each, ackedAtStop, dials.Load(), senders)
}

// watchAfterStop: the watchers still connected get the flag turned off; the one whose relay
// stopped was closed with 1001 (going away) and, reconnecting, gets the current set.
func watchAfterStop(t *testing.T, ctx context.Context, f *fleet, project string, watchers []*websocket.Conn) {
	t.Helper()
	moved := 0
	for i, c := range watchers {
		flags, err := nextFlags(ctx, c)
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusGoingAway {
				t.Fatalf("watcher %d: %v, want flags or close 1001", i, err)
			}
			moved++
			if c, _, err = wsclient.Dial(ctx, f.url(i, "project="+project+"&anon=w"+strconv.Itoa(i))(), nil); err != nil {
				t.Fatalf("watcher %d reconnecting: %v", i, err)
			}
			defer c.CloseNow()
			flags, err = nextFlags(ctx, c)
		}
		if err != nil || flags != `{"fleet":false}` {
			t.Fatalf("watcher %d: flags %s (%v), want {\"fleet\":false}", i, flags, err)
		}
	}
	if moved != 1 {
		t.Fatalf("%d watchers were closed by the stopping relay, want 1 (one per relay)", moved)
	}
}

// checkMaintainOnce: three relays each ticked every second for the whole test, yet no two
// scheduled runs of beacon.maintain() started within 90 % of the interval of each other.
func checkMaintainOnce(t *testing.T, db *testdb.DB, elapsed time.Duration) {
	t.Helper()
	runs := queryInt(t, db, `SELECT count(*) FROM beacon.maintenance_runs`)
	tooClose := queryInt(t, db, `SELECT count(*) FROM (
		SELECT started_at - lag(started_at) OVER (ORDER BY started_at) AS gap FROM beacon.maintenance_runs) g
		WHERE gap < interval '900 milliseconds'`)
	if runs < 2 || tooClose != 0 || runs > int(elapsed/(900*time.Millisecond))+1 {
		t.Fatalf("%d scheduled maintain runs in %v, %d of them too close to the one before; want one per second at most",
			runs, elapsed.Round(time.Second), tooClose)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM beacon.maintenance_log WHERE error IS NOT NULL`); n != 0 {
		t.Fatalf("%d maintenance steps failed", n)
	}
}

// nginxBinary finds nginx (infra/test-deps.sh installs Debian's). Outside CI a machine without
// it skips the test; in CI its absence is a failure, so the example config is always exercised.
func nginxBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("nginx is not installed (infra/test-deps.sh installs it)")
	}
	t.Skip("nginx is not installed; `just test` installs it (infra/test-deps.sh)")
	return ""
}

var (
	upstreamServers = regexp.MustCompile(`(?m)^(\s*)server 10\.0\.0\.\d+:4000 (.*)$`)
	listen8080      = regexp.MustCompile(`(?m)^(\s*)listen 8080;$`)
)

// startNginx runs nginx in the foreground with infra/nginx/beacon.conf in its http block, the
// example's upstream servers replaced by relays, and returns the ws:// address it listens on.
func startNginx(t *testing.T, bin string, relays []*relayProc) string {
	t.Helper()
	example, err := os.ReadFile("infra/nginx/beacon.conf")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(upstreamServers.FindAll(example, -1)); n != len(relays) || !listen8080.Match(example) {
		t.Fatalf("infra/nginx/beacon.conf changed shape: %d upstream server lines, listen 8080 %v", n, listen8080.Match(example))
	}
	k := 0
	conf := upstreamServers.ReplaceAllFunc(example, func(line []byte) []byte {
		addr := strings.TrimPrefix(relays[k].base, "http://")
		k++
		return upstreamServers.ReplaceAll(line, []byte("${1}server "+addr+" ${2}"))
	})
	port := freePort(t)
	conf = listen8080.ReplaceAll(conf, []byte("${1}listen 127.0.0.1:"+strconv.Itoa(port)+";"))

	// Not t.TempDir: nginx's workers run as nobody when the tests run as root, and must reach it.
	dir, err := os.MkdirTemp("", "beacon-nginx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	main := fmt.Sprintf(`daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/beacon.conf;
}
`, dir)
	for name, body := range map[string][]byte{"beacon.conf": conf, "nginx.conf": []byte(main)} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("nginx: %s", stderr.String())
		}
	})
	waitHTTP(t, "http://127.0.0.1:"+strconv.Itoa(port)+"/readyz", 200)
	return "ws://127.0.0.1:" + strconv.Itoa(port)
}
