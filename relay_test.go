package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/internal/wsclient"
)

// relayProc is a running `beacon serve`.
type relayProc struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:PORT
	ws   string // ws://127.0.0.1:PORT
	logs chan string
}

func startRelay(t *testing.T, port int, env ...string) *relayProc {
	t.Helper()
	// env comes last: a test's own setting wins over these defaults.
	cmd := command(append([]string{"PORT=" + strconv.Itoa(port), "HOST=127.0.0.1", "MAINTAIN_INTERVAL=1s", "LOG_LEVEL=warn"}, env...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &relayProc{cmd: cmd, base: "http://127.0.0.1:" + strconv.Itoa(port),
		ws: "ws://127.0.0.1:" + strconv.Itoa(port), logs: make(chan string, 1000)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case r.logs <- sc.Text():
			default: // keep the newest lines only when nobody reads
			}
		}
		close(r.logs)
	}()
	t.Cleanup(func() { r.kill() })
	waitHTTP(t, r.base+"/readyz", http.StatusOK)
	return r
}

func (r *relayProc) kill() {
	if r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Kill()
		for range r.logs {
		}
		_ = r.cmd.Wait()
	}
}

// reliableSend delivers every event exactly as an SDK would: with ids and seqs, a window of
// unacknowledged messages, and after any connection loss a reconnect that re-sends all that is
// not acknowledged yet. progress is called with the number acknowledged so far.
func reliableSend(ctx context.Context, url func() string, n int, progress func(acked int)) error {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.Must(uuid.NewV7()).String()
	}
	acked := make([]bool, n)
	done := 0
	for done < n {
		if ctx.Err() != nil {
			return fmt.Errorf("%d of %d acknowledged: %w", done, n, ctx.Err())
		}
		c, _, err := wsclient.Dial(ctx, url(), nil)
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		done = sendOnce(ctx, c, ids, acked, done, progress)
		_ = c.CloseNow()
	}
	return nil
}

// sendOnce runs one connection until everything is acknowledged or the connection fails. An
// error reply for a seq arrives before the ack that covers it: a retryable one (rate_limited,
// unavailable) puts that event back in line, anything else fails the test's delivery.
func sendOnce(ctx context.Context, c *websocket.Conn, ids []string, acked []bool, done int, progress func(int)) int {
	type reply struct {
		Type string `json:"type"`
		Seq  uint64 `json:"seq"`
		Code string `json:"code"`
	}
	replies := make(chan reply, 1000)
	go func() {
		defer close(replies)
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			var m reply
			if json.Unmarshal(data, &m) == nil && (m.Type == "ack" || m.Type == "error") {
				replies <- m
			}
		}
	}()
	var todo []int
	for i, a := range acked {
		if !a {
			todo = append(todo, i)
		}
	}
	var seqIdx []int // seq-1 → event index
	retried := map[uint64]bool{}
	var lastAck uint64
	for done < len(ids) {
		for len(seqIdx) < len(todo) && uint64(len(seqIdx))-lastAck < 500 {
			i := todo[len(seqIdx)]
			msg := fmt.Sprintf(`{"type":"event","event":"fault","id":%q,"seq":%d,"props":{"i":%d,"path":"/checkout","referrer":"https://example.com/"}}`,
				ids[i], len(seqIdx)+1, i)
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := c.Write(wctx, websocket.MessageText, []byte(msg))
			cancel()
			if err != nil {
				return done
			}
			seqIdx = append(seqIdx, i)
		}
		m, ok := <-replies
		if !ok {
			return done
		}
		if m.Type == "error" {
			if m.Code != "rate_limited" && m.Code != "unavailable" {
				panic("event rejected: " + m.Code)
			}
			retried[m.Seq] = true
			todo = append(todo, seqIdx[m.Seq-1])
			continue
		}
		for s := lastAck + 1; s <= m.Seq && int(s) <= len(seqIdx); s++ {
			if i := seqIdx[s-1]; !acked[i] && !retried[s] {
				acked[i] = true
				done++
			}
		}
		lastAck = max(lastAck, m.Seq)
		progress(done)
	}
	return done
}

// TestRelayKilledUnderLoad: SIGKILL mid-stream, restart; acknowledged events survive, and a
// client that re-sends its unacknowledged ones ends with every event stored exactly once.
func TestRelayKilledUnderLoad(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	project := createProject(t, db)
	port := freePort(t)
	env := []string{"DATABASE_URL=" + db.URL}
	r := startRelay(t, port, env...)

	const n = 20000
	var acked atomic.Int64
	killAt := make(chan struct{})
	var once sync.Once
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sent := make(chan error, 1)
	go func() {
		sent <- reliableSend(ctx, func() string { return r.ws + "/ws?project=" + project + "&session=s&anon=a" }, n, func(a int) {
			acked.Store(int64(a))
			if a >= 3000 {
				once.Do(func() { close(killAt) })
			}
		})
	}()
	<-killAt
	r.kill() // SIGKILL
	ackedBeforeKill := acked.Load()
	if got := countEvents(t, db); int64(got) < ackedBeforeKill {
		t.Fatalf("after SIGKILL %d rows < %d acknowledged", got, ackedBeforeKill)
	}
	startRelay(t, port, env...)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if got := countEvents(t, db); got != n {
		t.Fatalf("rows = %d, want exactly %d", got, n)
	}
	if got := countDistinct(t, db); got != n {
		t.Fatalf("distinct ids = %d, want %d", got, n)
	}
	t.Logf("killed with %d acknowledged; all %d stored once after restart", ackedBeforeKill, n)
}

// TestTwoRelaysShareFlags: a flag change reaches the clients of both relays.
func TestTwoRelaysShareFlags(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	project := createProject(t, db)
	env := []string{"DATABASE_URL=" + db.URL}
	a, b := startRelay(t, freePort(t), env...), startRelay(t, freePort(t), env...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var clients []*websocket.Conn
	for _, r := range []*relayProc{a, b} {
		c, _, err := wsclient.Dial(ctx, r.ws+"/ws?project="+project+"&anon=x", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		expectFlags(t, ctx, c, `{}`)
		clients = append(clients, c)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO beacon.flags (project_id, key, enabled) VALUES ($1, 'both', true)`, project); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		expectFlags(t, ctx, c, `{"both":true}`)
	}
}

func expectFlags(t *testing.T, ctx context.Context, c *websocket.Conn, want string) {
	t.Helper()
	got, err := nextFlags(ctx, c)
	if err != nil {
		t.Fatalf("waiting for flags %s: %v", want, err)
	}
	if got != want {
		t.Fatalf("flags %s, want %s", got, want)
	}
}

// nextFlags reads c until its next flags message and returns the set without spaces.
func nextFlags(ctx context.Context, c *websocket.Conn) (string, error) {
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return "", err
		}
		var m struct {
			Type  string          `json:"type"`
			Flags json.RawMessage `json:"flags"`
		}
		if json.Unmarshal(data, &m) == nil && m.Type == "flags" {
			return strings.ReplaceAll(string(m.Flags), " ", ""), nil
		}
	}
}

func createProject(t *testing.T, db *testdb.DB) string {
	t.Helper()
	var id string
	if err := db.Pool.QueryRow(context.Background(),
		`INSERT INTO beacon.projects (name) VALUES ('faults') RETURNING project_id::text`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func countEvents(t *testing.T, db *testdb.DB) int {
	t.Helper()
	return queryInt(t, db, `SELECT count(*) FROM beacon.events`)
}

func countDistinct(t *testing.T, db *testdb.DB) int {
	t.Helper()
	return queryInt(t, db, `SELECT count(DISTINCT event_id) FROM beacon.events`)
}

func queryInt(t *testing.T, db *testdb.DB, sql string) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func connectPool(t *testing.T, ctx context.Context, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	return pool
}

// TestTwoRelaysMaintainOnce: both relays call beacon.maintain() and beacon.keep_fresh() every
// second, yet a due refresh of the top lists runs once (the refresh lock, and nothing due after).
func TestTwoRelaysMaintainOnce(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `UPDATE beacon.rollup_state SET dirty = true, refreshed_at = now() - interval '2 minutes'`); err != nil {
		t.Fatal(err)
	}
	refreshedAt := func() time.Time {
		var at time.Time
		if err := db.Pool.QueryRow(ctx, `SELECT refreshed_at FROM beacon.freshness WHERE source = 'top'`).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	before := refreshedAt() // the template's migrate-time maintain() may have refreshed
	env := []string{"DATABASE_URL=" + db.URL, "MAINTAIN_INTERVAL=1s"}
	startRelay(t, freePort(t), env...)
	startRelay(t, freePort(t), env...)
	waitFor(t, "a refresh", func() bool { return refreshedAt().After(before) })
	first := refreshedAt()
	// Both relays tick at least twice more meanwhile.
	time.Sleep(2500 * time.Millisecond)
	if again := refreshedAt(); !again.Equal(first) {
		t.Fatalf("top lists refreshed again at %v after %v with nothing changed", again, first)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM beacon.maintenance_log WHERE error IS NOT NULL`); n != 0 {
		t.Fatalf("%d maintenance steps failed", n)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s not reached within 20s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
