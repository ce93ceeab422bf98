package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/internal/wsclient"
)

// The binary is tested as operators run it: built once, started as a process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "beacon-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "beacon")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testMetricsToken guards /metrics on PORT in tests: the default METRICS_ADDR, one fixed port,
// cannot be shared by relays running in parallel.
const testMetricsToken = "test-metrics-token"

func command(env ...string) *exec.Cmd {
	cmd := exec.Command(binary)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "GODEBUG=" + os.Getenv("GODEBUG"),
		"METRICS_ADDR=", "METRICS_TOKEN=" + testMetricsToken}, env...)
	return cmd
}

func TestBadConfigStopsStartWithOneLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{nil, "DATABASE_URL is required"},
		{[]string{"DATABASE_URL=postgres://x/y", "PORT=abc"}, `PORT="abc" is not a valid integer`},
		{[]string{"DATABASE_URL=postgres://x/y", "PORT=70000"}, "PORT must be between 1 and 65535"},
		{[]string{"DATABASE_URL=postgres://x/y", "FLUSH_INTERVAL=soon"}, `FLUSH_INTERVAL="soon" is not a valid duration`},
		{[]string{"DATABASE_URL=postgres://x/y", "LOG_LEVEL=loud"}, `LOG_LEVEL="loud"`},
		{[]string{"DATABASE_URL=postgres://x/y", "ALLOWED_ORIGINS=example.com"}, "ALLOWED_ORIGINS"},
		{[]string{"DATABASE_URL=mysql://x/y"}, "DATABASE_URL must be a postgres:// URL"},
		{[]string{"DATABASE_URL=postgres://x/y", "READ_DATABASE_URL=replica:5432"}, "READ_DATABASE_URL must be a postgres:// URL"},
		{[]string{"DATABASE_URL=postgres://x/y", "READ_MAX_LAG=100ms"}, "READ_MAX_LAG must be at least 1s"},
		{[]string{"DATABASE_URL=postgres://x/y", "TLS_CERT_FILE=/c.pem"}, "TLS_CERT_FILE must be set together with TLS_KEY_FILE"},
		{[]string{"DATABASE_URL=postgres://x/y", "METRICS_ADDR=9090"}, "METRICS_ADDR must be host:port"},
		{[]string{"DATABASE_URL=postgres://x/y", "METRICS_ADDR=:0"}, "METRICS_ADDR must be host:port"},
		{[]string{"DATABASE_URL=postgres://x/y", "METRICS_TOKEN="}, "METRICS_TOKEN is required when METRICS_ADDR is empty"},
		{[]string{"DATABASE_URL=postgres://x/y", "HTTP_WRITE_TIMEOUT=1ms"}, "HTTP_WRITE_TIMEOUT must be at least 100ms"},
		{[]string{"DATABASE_URL=postgres://x/y", "AUDIT_STREAM=audit.log"}, "AUDIT_STREAM must be empty (off), stdout, or an absolute file path"},
		{[]string{"DATABASE_URL=postgres://x/y", "REJECT_LOG_INTERVAL=10ms"}, "REJECT_LOG_INTERVAL must be at least 1s"},
		{[]string{"DATABASE_URL=postgres://x/y", "TRUSTED_PROXIES=10.0.0.0/8,proxy.local"}, `TRUSTED_PROXIES: "proxy.local" is not a CIDR`},
		{[]string{"DATABASE_URL=postgres://x/y", "RATE_LIMIT_ADDR_BURST=10"}, "RATE_LIMIT_ADDR_BURST must be at least 1000"},
		{[]string{"DATABASE_URL=postgres://x/y", "MAX_CONNECTIONS_PER_ADDR=-1"}, "MAX_CONNECTIONS_PER_ADDR must be 0 (no limit) or positive"},
		{[]string{"DATABASE_URL=postgres://x/y", "MAX_CONNECTIONS=2000000000"}, "MAX_CONNECTIONS=2000000000 exceeds the open-files hard limit (RLIMIT_NOFILE)"},
	} {
		cmd := command(tc.env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if err == nil || len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
			t.Errorf("env %v: err %v, stderr %q, want one line containing %q", tc.env, err, stderr.String(), tc.want)
		}
	}
}

func TestMigrateProjectServeAndSIGTERM(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	env := []string{"DATABASE_URL=" + db.URL}
	for range 2 { // idempotent
		cmd := command(env...)
		cmd.Args = append(cmd.Args, "migrate")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("migrate: %v: %s", err, out)
		}
	}
	cmd := command(env...)
	cmd.Args = append(cmd.Args, "project", "create", "--name", "Shop", "--origin", "https://shop.example.com")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("project create: %v", err)
	}
	id := strings.TrimSpace(string(out))
	if strings.Count(string(out), "\n") != 1 || len(id) != 36 {
		t.Fatalf("project create printed %q, want only the id", out)
	}

	port := freePort(t)
	srv := command(append(env, "PORT="+strconv.Itoa(port), "HOST=127.0.0.1")...)
	stderr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs <- sc.Text()
		}
		close(logs)
	}()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	waitHTTP(t, base+"/readyz", http.StatusOK)
	waitHTTP(t, base+"/healthz", http.StatusOK)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := wsclient.Dial(ctx, "ws://127.0.0.1:"+strconv.Itoa(port)+"/ws?project="+id+"&session=s&anon=a", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for i := 1; i <= 2000; i++ {
		msg := fmt.Sprintf(`{"type":"event","event":"e","seq":%d}`, i)
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	waitMetric(t, base+"/metrics", "beacon_events_committed_total 2000")
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var lastAck int
	var closeErr error
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			closeErr = err
			break
		}
		fmt.Sscanf(string(data), `{"type":"ack","seq":%d}`, &lastAck)
	}
	// Read the relay's log to its end before Wait, which closes the pipe.
	var all strings.Builder
	for l := range logs {
		all.WriteString(l + "\n")
	}
	if err := srv.Wait(); err != nil {
		t.Fatalf("relay exit: %v\n%s", err, all.String())
	}
	if websocket.CloseStatus(closeErr) != websocket.StatusGoingAway {
		t.Fatalf("close: %v, want 1001\n%s", closeErr, all.String())
	}
	if lastAck != 2000 {
		t.Fatalf("final ack %d, want 2000 (all sent before SIGTERM)", lastAck)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM beacon.events`).Scan(&n); err != nil || n != 2000 {
		t.Fatalf("rows = %d (%v), want 2000", n, err)
	}
	if !strings.Contains(all.String(), `"fips140_enabled"`) || !strings.Contains(all.String(), `"msg":"stopped"`) {
		t.Fatalf("logs lack the FIPS report or the stop:\n%s", all.String())
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitHTTP(t *testing.T, url string, status int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == status {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %d within 20s (last: %v %v)", url, status, resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitMetric waits until /metrics has a line starting with want.
func waitMetric(t *testing.T, url, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := getMetrics(url, testMetricsToken)
		if err == nil {
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			resp.Body.Close()
			for _, line := range strings.Split(body.String(), "\n") {
				if strings.HasPrefix(line, want) {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no line %q within 20s", url, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFIPSBuildRefusesFIPSOff(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "beacon-fips")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOFIPS140=v1.0.0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("GOFIPS140 build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"DATABASE_URL=postgres://x/y", "GODEBUG=fips140=off"}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "FIPS mode is off") {
		t.Fatalf("FIPS build with fips140=off: err %v, output %s", err, out)
	}
}

// waitLog reads r's log until a line contains every one of want.
func waitLog(t *testing.T, r *relayProc, want ...string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-r.logs:
			if !ok {
				t.Fatalf("log ended without a line containing %q", want)
			}
			all := true
			for _, w := range want {
				all = all && strings.Contains(line, w)
			}
			if all {
				return line
			}
		case <-timeout:
			t.Fatalf("no log line containing %q within 30s", want)
		}
	}
}

// sendEvents dials the relay and sends n events with seqs 1..n; nothing reads the replies.
func sendEvents(t *testing.T, ctx context.Context, r *relayProc, project string, n int) *websocket.Conn {
	t.Helper()
	c, _, err := wsclient.Dial(ctx, r.ws+"/ws?project="+project+"&anon=a", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	for i := 1; i <= n; i++ {
		if err := c.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(`{"type":"event","event":"e","seq":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// TestSecondSignalForcesExit: while the first SIGTERM's shutdown waits on a flush that cannot
// commit, a second one ends the process at once with a non-zero status, and says so.
func TestSecondSignalForcesExit(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	project := createProject(t, db)
	r := startRelay(t, freePort(t), "DATABASE_URL="+db.URL, "SHUTDOWN_TIMEOUT=10m", "LOG_LEVEL=info")
	db.HoldEvents(t)
	sendEvents(t, ctx, r, project, 3)
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitLog(t, r, `"phase":"http stop"`) // the first signal's shutdown is under way
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitLog(t, r, "second signal")
	for range r.logs {
	}
	err := r.cmd.Wait()
	if code := r.cmd.ProcessState.ExitCode(); code != 2 {
		t.Fatalf("exit: %v (code %d), want status 2", err, code)
	}
}

// TestShutdownPhasesHaveTheirShare: a WebSocket drain that cannot finish (its acks wait on a
// locked table) gets only its quarter of SHUTDOWN_TIMEOUT; the flush still has the rest, and
// commits once the table is free.
func TestShutdownPhasesHaveTheirShare(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	project := createProject(t, db)
	r := startRelay(t, freePort(t), "DATABASE_URL="+db.URL, "SHUTDOWN_TIMEOUT=6s", "LOG_LEVEL=info")
	release := db.HoldEvents(t)
	sendEvents(t, ctx, r, project, 3)
	waitMetric(t, r.base+"/metrics", "beacon_messages_total{type=\"event\"} 3")
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitLog(t, r, "ran out of time", `"phase":"websocket drain"`)
	release()
	waitLog(t, r, "shutdown phase done", `"phase":"batcher flush"`)
	for range r.logs {
	}
	if err := r.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	if n := countEvents(t, db); n != 3 {
		t.Fatalf("events = %d, want 3 flushed after the drain's share ran out", n)
	}
}

// TestMetricsAddrAndRejections: /metrics moves to METRICS_ADDR; an event a trigger bug refuses is
// acknowledged, kept in beacon.events_rejected, counted by code, and named by /readyz (still 200).
func TestMetricsAddrAndRejections(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	project := createProject(t, db)
	if _, err := db.Pool.Exec(ctx, `CREATE FUNCTION beacon.buggy() RETURNS trigger LANGUAGE plpgsql AS
		$$ BEGIN IF NEW.name = 'poison' THEN RAISE EXCEPTION 'buggy trigger'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER buggy BEFORE INSERT ON beacon.events FOR EACH ROW EXECUTE FUNCTION beacon.buggy()`); err != nil {
		t.Fatal(err)
	}
	metricsAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	r := startRelay(t, freePort(t), "DATABASE_URL="+db.URL, "METRICS_ADDR="+metricsAddr)
	c, _, err := wsclient.Dial(ctx, r.ws+"/ws?project="+project+"&anon=a", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for i, name := range []string{"poison", "fine"} {
		if err := c.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(`{"type":"event","event":"%s","seq":%d}`, name, i+1))); err != nil {
			t.Fatal(err)
		}
	}
	// The poison event is answered with an error saying why, and acknowledged with the rest.
	for acked := false; !acked; {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Type, Code string
			Seq        int
		}
		_ = json.Unmarshal(data, &m)
		switch {
		case m.Type == "error" && (m.Code != "rejected" || m.Seq != 1):
			t.Fatalf("error reply %s, want code rejected for seq 1", data)
		case m.Type == "ack":
			acked = m.Seq >= 2
		}
	}
	if n := countEvents(t, db); n != 1 {
		t.Fatalf("events = %d, want 1", n)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM beacon.events_rejected WHERE name = 'poison' AND error_code = 'P0001'`); n != 1 {
		t.Fatalf("dead letters = %d, want 1", n)
	}
	resp, err := http.Get(r.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "1 events rejected since start, last with SQLSTATE P0001") {
		t.Fatalf("/readyz: %d %q", resp.StatusCode, body)
	}
	waitMetric(t, "http://"+metricsAddr+"/metrics", `beacon_events_rejected_total{code="P0001"} 1`)
	resp, err = http.Get(r.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), "beacon_events_rejected_total") {
		t.Fatal("/metrics is still served on PORT with METRICS_ADDR set")
	}
}

// TestServeRefusesAnotherSchema: a relay whose binary carries another code package or another set
// of migrations than the database stops at start-up, naming the difference and the cure, and
// starts once `beacon migrate` has run.
func TestServeRefusesAnotherSchema(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, sql, want string
	}{
		{"another code package", `UPDATE beacon.schema_code SET sha256 = repeat('ab', 32)`, "code package abababababab; this binary carries"},
		{"a migration it lacks", `DELETE FROM beacon.schema_migrations WHERE version = (SELECT max(version) FROM beacon.schema_migrations)`, "run `beacon migrate`"},
	} {
		if _, err := db.Pool.Exec(ctx, tc.sql); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		// A relay that wrongly starts is killed after 30 s, failing the test rather than hanging it.
		runCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		cmd := exec.CommandContext(runCtx, binary)
		cmd.Env = command("DATABASE_URL="+db.URL, "PORT="+strconv.Itoa(freePort(t)), "HOST=127.0.0.1").Env
		out, err := cmd.CombinedOutput()
		timedOut := runCtx.Err() != nil
		cancel()
		if err == nil || timedOut {
			t.Fatalf("%s: serve started on a database with %s: %s", tc.name, tc.name, out)
		}
		if !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), "database schema at migration") {
			t.Fatalf("%s: serve said %q, want it to name the difference (%q)", tc.name, out, tc.want)
		}
		migrate := command("DATABASE_URL=" + db.URL)
		migrate.Args = append(migrate.Args, "migrate")
		if out, err := migrate.CombinedOutput(); err != nil {
			t.Fatalf("%s: migrate: %v: %s", tc.name, err, out)
		}
	}
	port := freePort(t)
	srv := command("DATABASE_URL="+db.URL, "PORT="+strconv.Itoa(port), "HOST=127.0.0.1")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/readyz", port), http.StatusOK)
}

// TestSecurityHeadersFromTheBinary: the served routes, dashboard included, carry the security
// headers, whatever their answer.
func TestSecurityHeadersFromTheBinary(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	project := createProject(t, db)
	r := startRelay(t, freePort(t), "DATABASE_URL="+db.URL)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/healthz"}, {"GET", "/readyz"}, {"GET", "/metrics"}, {"GET", "/ws?project=" + project},
		{"POST", "/v1/events?project=" + project}, {"OPTIONS", "/v1/events?project=" + project},
	} {
		req, _ := http.NewRequest(tc.method, r.base+tc.path, strings.NewReader("[]"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		checkSecurityHeaders(t, strings.SplitN(tc.path, "?", 2)[0], resp.Header, false)
	}
}

// getMetrics GETs a /metrics url with the bearer token (none when empty).
func getMetrics(url, token string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return http.DefaultClient.Do(req)
}

// TestMetricsAreNotPublicByDefault: unset, METRICS_ADDR is loopback only; served on PORT, /metrics
// answers 401 without the bearer token (a wrong one included) and 200 with it.
func TestMetricsAreNotPublicByDefault(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://x/y")
	for _, name := range []string{"METRICS_ADDR", "METRICS_TOKEN"} {
		t.Setenv(name, "") // restored after the test
		os.Unsetenv(name)
	}
	c, err := loadConfig()
	if err != nil || c.MetricsAddr != "127.0.0.1:9464" {
		t.Fatalf("default METRICS_ADDR %q (%v), want 127.0.0.1:9464", c.MetricsAddr, err)
	}
	db := testdb.New(t)
	r := startRelay(t, freePort(t), "DATABASE_URL="+db.URL)
	for token, want := range map[string]int{"": 401, "wrong": 401, testMetricsToken: 200} {
		resp, err := getMetrics(r.base+"/metrics", token)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("/metrics with token %q: %d, want %d", token, resp.StatusCode, want)
		}
	}
}
