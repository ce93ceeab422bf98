package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/internal/wsclient"
)

// TestRelayAsLeastPrivilegeRole runs the relay as production does: a LOGIN role in the
// beacon_relay group, which may not read beacon.events. Ingest (both the COPY and the dedup
// path), identify, flag evaluation and maintenance must all work with that.
func TestRelayAsLeastPrivilegeRole(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	project := createProject(t, db)
	r := startRelay(t, freePort(t), "DATABASE_URL="+db.LoginAs(t, "beacon_relay"), "MAINTAIN_INTERVAL=1s")

	c, _, err := wsclient.Dial(ctx, r.ws+"/ws?project="+project+"&anon=least", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	expectFlags(t, ctx, c, `{}`)
	id := uuid.Must(uuid.NewV7()).String()
	send := func(seq int, msg string) {
		if err := c.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(msg, seq))); err != nil {
			t.Fatal(err)
		}
	}
	send(1, `{"type":"event","event":"a","id":"`+id+`","seq":%d}`)
	send(2, `{"type":"identify","userId":"u1","traits":{"plan":"pro"},"seq":%d}`)
	send(3, `{"type":"event","event":"a","id":"`+id+`","seq":%d}`) // a re-send: the dedup path
	send(4, `{"type":"event","event":"b","seq":%d}`)
	waitAckOn(t, ctx, c, 4)
	if n := queryInt(t, db, `SELECT count(*) FROM beacon.events`); n != 2 {
		t.Fatalf("rows = %d, want 2", n)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM beacon.users WHERE user_id = 'u1'`); n != 1 {
		t.Fatal("identify did not store the user")
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO beacon.flags (project_id, key, enabled) VALUES ($1, 'x', true)`, project); err != nil {
		t.Fatal(err)
	}
	expectFlags(t, ctx, c, `{"x":true}`)
}

// waitAckOn reads c until an ack covers seq; an error reply fails the test.
func waitAckOn(t *testing.T, ctx context.Context, c *websocket.Conn, seq int) {
	t.Helper()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for ack %d: %v", seq, err)
		}
		var ack int
		if _, err := fmt.Sscanf(string(data), `{"type":"ack","seq":%d}`, &ack); err == nil && ack >= seq {
			return
		}
		if len(data) > 14 && string(data[:14]) == `{"type":"error` {
			t.Fatalf("error reply: %s", data)
		}
	}
}
