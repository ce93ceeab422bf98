package ws_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/beacon-analytics/beacon/internal/wsclient"
	"github.com/beacon-analytics/beacon/pgbatch"
	"github.com/beacon-analytics/beacon/ws"
)

// Writing happens only while something is queued: no writer goroutine is left once the initial
// flags are written, and a flag push, a reply and an ack each get writing going again. Not
// parallel: it counts every writer goroutine of the process.
func TestWriterRunsOnlyWhileSomethingIsQueued(t *testing.T) {
	s := newStack(t, ws.Config{})
	p := s.project(t)
	s.exec(t, `INSERT INTO beacon.flags (project_id, key, enabled) VALUES ($1, 'w', false)`, p)
	c := s.dial(t, p, "w1")
	idle := func(after string) {
		t.Helper()
		waitFor(t, "no writer after "+after, func() bool {
			return s.edge.WritersRunning() == 0 && ws.Goroutines("(*conn).write") == 0
		})
	}
	c.next("flags")
	idle("the initial flags")
	for _, on := range []bool{true, false, true} {
		s.exec(t, `UPDATE beacon.flags SET enabled = $2 WHERE project_id = $1`, p, on)
		if m := c.next("flags"); m["flags"].(map[string]any)["w"] != on {
			t.Fatalf("pushed %v, want w=%v", m["flags"], on)
		}
		idle("a flag push")
	}
	c.send(map[string]any{"type": "ping"})
	c.next("pong")
	idle("a pong")
	c.send(map[string]any{"type": "event", "event": "e", "seq": 1})
	c.waitAck(1)
	idle("an ack")
	// And the connection still works as a whole.
	s.exec(t, `UPDATE beacon.flags SET enabled = false WHERE project_id = $1`, p)
	if m := c.next("flags"); m["flags"].(map[string]any)["w"] != false {
		t.Fatalf("pushed %v", m["flags"])
	}
}

// Clients with equal flags share one frame, connect-time and pushed alike, and each gets it. Each
// change is made only once both clients have the previous push, so no two pushes race (a late
// push of an earlier change could otherwise hand one client a second, equal set).
func TestEqualFlagSetsShareOneFrame(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	p := s.project(t)
	a, b := s.dial(t, p, "sa"), s.dial(t, p, "sb")
	a.next("flags")
	b.next("flags")
	same := func(when, want string) {
		t.Helper()
		var frames [][]byte
		waitFor(t, "both sent", func() bool {
			frames = s.edge.SentFlagFrames(p)
			return len(frames) == 2 && bytes.Contains(frames[0], []byte(want)) && bytes.Contains(frames[1], []byte(want))
		})
		if !bytes.Equal(frames[0], frames[1]) || &frames[0][0] != &frames[1][0] {
			t.Fatalf("%s: the two clients' frames are not the same bytes: %q, %q", when, frames[0], frames[1])
		}
	}
	same("at connect", "{}")
	for _, change := range []struct {
		sql  string
		want bool
	}{
		{`INSERT INTO beacon.flags (project_id, key, enabled) VALUES ($1, 'shared', false)`, false},
		{`UPDATE beacon.flags SET enabled = true WHERE project_id = $1`, true},
	} {
		s.exec(t, change.sql, p)
		for _, c := range []*client{a, b} {
			if m := c.next("flags"); m["flags"].(map[string]any)["shared"] != change.want {
				t.Fatalf("after %s: pushed %v", change.sql, m["flags"])
			}
		}
		same("after "+change.sql, fmt.Sprintf(`"shared":%t`, change.want))
	}
}

// Pings come from each connection's heartbeat: a client that reads (and so answers) gets them and stays;
// one that does not answer is closed with 1008.
func TestPingsKeepReadersAndCloseTheSilent(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{PingInterval: 50 * time.Millisecond, WriteTimeout: 300 * time.Millisecond})
	p := s.project(t)

	var pings atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reader, _, err := wsclient.Dial(ctx, s.url("/ws", p, "pinged"), &websocket.DialOptions{
		OnPingReceived: func(context.Context, []byte) bool { pings.Add(1); return true },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.CloseNow()
	readerDone := make(chan error, 1)
	go func() {
		for {
			if _, _, err := reader.Read(context.Background()); err != nil {
				readerDone <- err
				return
			}
		}
	}()

	silent, _, err := wsclient.Dial(ctx, s.url("/ws", p, "silent"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.CloseNow()

	waitFor(t, "5 pings", func() bool { return pings.Load() >= 5 })
	// The silent client, reading only now, finds its flags and then the server's 1008.
	time.Sleep(time.Second)
	var closeErr error
	for closeErr == nil {
		_, _, closeErr = silent.Read(ctx)
	}
	if code := websocket.CloseStatus(closeErr); code != websocket.StatusPolicyViolation {
		t.Fatalf("silent client: %v, want 1008", closeErr)
	}
	select {
	case err := <-readerDone:
		t.Fatalf("the reading client was closed: %v", err)
	default:
	}
	if err := reader.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
}

// A client that sends but never reads fills the socket; the blocked write is ended after
// WriteTimeout (the write's context) and the connection goes.
func TestBlockedWriteIsEnded(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{WriteTimeout: 300 * time.Millisecond, PingInterval: time.Hour})
	p := s.project(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	small := smallReceiveBuffer()
	opts := &websocket.DialOptions{HTTPClient: newHTTPClient(small)}
	c, _, err := wsclient.Dial(ctx, s.url("/ws", p, "deaf"), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	waitFor(t, "connected", func() bool { return s.edge.Connections() == 1 })
	// Each frame is answered with an error reply of ~150 bytes that the client never reads. The
	// client's writes have a minute: only the relay can end this connection within the test.
	bad := []byte(`{"type":"event","event":"","seq":1,"pad":"` + strings.Repeat("p", 20) + `"}`)
	flooded := make(chan struct{})
	go func() {
		defer close(flooded)
		for range 200_000 {
			if c.Write(ctx, websocket.MessageText, bad) != nil {
				return // the relay closed
			}
		}
	}()
	waitFor(t, "connection gone", func() bool { return s.edge.Connections() == 0 })
	<-flooded
}

// A client that never reads does not hold back the fan-out: its reading neighbour gets every
// push while the deaf one's socket is full, and the deaf one is closed after WriteTimeout.
func TestDeafClientDoesNotHoldBackTheFanOut(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{WriteTimeout: 300 * time.Millisecond, PingInterval: time.Hour})
	p := s.project(t)
	// 1,500 flags with 100-byte keys: a set of ~160 KB, so a few pushes fill the deaf socket.
	s.exec(t, `INSERT INTO beacon.flags (project_id, key, enabled)
		SELECT $1, lpad(i::text, 100, 'k'), false FROM generate_series(1, 1500) i`, p)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	small := smallReceiveBuffer()
	deaf, _, err := wsclient.Dial(ctx, s.url("/ws", p, "deaf"), &websocket.DialOptions{HTTPClient: newHTTPClient(small)})
	if err != nil {
		t.Fatal(err)
	}
	defer deaf.CloseNow()
	c := s.dial(t, p, "hears")
	c.next("flags")
	one := strings.Repeat("k", 99) + "1"
	for i := 0; s.edge.Connections() == 2; i++ {
		if i == 200 {
			t.Fatal("the deaf client is still connected after 200 pushes")
		}
		on := i%2 == 0
		s.exec(t, `UPDATE beacon.flags SET enabled = $2 WHERE project_id = $1`, p, on)
		start := time.Now()
		for {
			m := c.next("flags")
			if m["flags"].(map[string]any)[one] == on {
				break
			}
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("push %d took %v to reach the reading client", i, d)
		}
	}
	waitFor(t, "only the reading client left", func() bool { return s.edge.Connections() == 1 })
}

// A client that does not read holds up only its own writer: while its write is blocked on a full
// socket (for up to WriteTimeout), a neighbour's acks and pongs arrive at once.
func TestDeafClientDoesNotHoldBackAcks(t *testing.T) {
	t.Parallel()
	// Small buffers at both ends: the relay's writer to the deaf client blocks after a few KiB of
	// replies and stays blocked (WriteTimeout) while the neighbour is checked.
	s := newStackWith(t, ws.Config{WriteTimeout: 30 * time.Second, PingInterval: time.Hour},
		pgbatch.Config{BatchSize: 500, FlushInterval: 5 * time.Millisecond}, smallSendBuffers)
	p := s.project(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	deaf, _, err := wsclient.Dial(ctx, s.url("/ws", p, "deaf"), &websocket.DialOptions{HTTPClient: newHTTPClient(smallReceiveBuffer())})
	if err != nil {
		t.Fatal(err)
	}
	defer deaf.CloseNow()
	c := s.dial(t, p, "hears")
	c.next("flags")
	// Error replies pile up until the relay gives up on the deaf client (maxReplies); its writer
	// is then blocked on the full socket, and the connection waits on it.
	bad := []byte(`{"type":"event","event":""}`)
	go func() {
		for deaf.Write(ctx, websocket.MessageText, bad) == nil {
		}
	}()
	waitWithin(t, 30*time.Second, "the deaf client's writer blocked", func() bool { return s.edge.Closing() == 1 })
	for seq := 1; seq <= 20; seq++ {
		start := time.Now()
		c.send(map[string]any{"type": "event", "event": "e", "seq": seq})
		c.waitAck(float64(seq))
		c.send(map[string]any{"type": "ping"})
		c.next("pong")
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("ack %d took %v behind a deaf neighbour", seq, d)
		}
	}
	if s.edge.Closing() != 1 {
		t.Fatal("the deaf client's write ended before the neighbour was checked: the test proves nothing")
	}
	_ = deaf.CloseNow()
}

// An idle connection keeps one goroutine, its reader: no writer, and no pinger once a ping's round
// trip is over. Not parallel: it counts goroutines of the process.
func TestIdleConnectionKeepsOnlyItsReader(t *testing.T) {
	s := newStack(t, ws.Config{PingInterval: 20 * time.Millisecond})
	p := s.project(t)
	for _, anon := range []string{"i1", "i2"} {
		s.dial(t, p, anon).next("flags")
	}
	waitFor(t, "only the readers", func() bool {
		return ws.Goroutines("(*conn).serve") == 2 && ws.Goroutines("(*conn).write") == 0 &&
			ws.Goroutines("(*conn).heartbeat") == 0 && s.edge.Connections() == 2
	})
}

// newHTTPClient dials with d (for the WebSocket handshake).
func newHTTPClient(d *net.Dialer) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// smallReceiveBuffer dials with a 4 KiB socket receive buffer, so a client that does not read
// fills it, and the server's writes block, after a few KiB.
func smallReceiveBuffer() *net.Dialer {
	return &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
}
