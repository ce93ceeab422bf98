package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
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

func command(env ...string) *exec.Cmd {
	cmd := exec.Command(binary)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "GODEBUG=" + os.Getenv("GODEBUG")}, env...)
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
		{[]string{"DATABASE_URL=postgres://x/y", "TLS_CERT_FILE=/c.pem"}, "TLS_CERT_FILE must be set together with TLS_KEY_FILE"},
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
		resp, err := http.Get(url)
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
