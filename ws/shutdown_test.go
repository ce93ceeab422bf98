package ws_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/ws"
)

// Shutdown under load: the client keeps sending; every event sent before the signal and every
// acknowledged event is stored, the final ack comes before the 1001 close.
func TestShutdownLosesNothingSentBeforeIt(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	p := s.project(t)
	c := s.dial(t, p, "sd")
	c.next("flags")

	var sent atomic.Int64
	stopSending := make(chan struct{})
	senderDone := make(chan struct{})
	go func() {
		defer close(senderDone)
		for i := 1; i <= 200_000; i++ {
			select {
			case <-stopSending:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := c.c.Write(ctx, websocket.MessageText, []byte(`{"type":"event","event":"load","seq":`+strconv.Itoa(i)+`,"id":"`+uuid.Must(uuid.NewV7()).String()+`"}`))
			cancel()
			if err != nil {
				return
			}
			sent.Store(int64(i))
		}
	}()
	waitFor(t, "load", func() bool { return sent.Load() >= 3000 })
	beforeSignal := sent.Load()
	shutdownErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		shutdownErr <- s.edge.Shutdown(ctx)
	}()

	var lastAck float64
	for m := range c.msgs {
		if m["type"] == "ack" {
			lastAck = m["seq"].(float64)
		}
	}
	close(stopSending)
	<-senderDone
	if code := websocket.CloseStatus(<-c.done); code != websocket.StatusGoingAway {
		t.Fatalf("close code = %v, want 1001", code)
	}
	if err := <-shutdownErr; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if lastAck < float64(beforeSignal) {
		t.Fatalf("final ack %v < %d events sent before the signal", lastAck, beforeSignal)
	}
	stored := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1`, p)
	if float64(stored) < lastAck {
		t.Fatalf("stored %d < acked %v", stored, lastAck)
	}
	if n := s.count(t, `SELECT count(DISTINCT event_id) FROM beacon.events WHERE project_id = $1`, p); n != stored {
		t.Fatalf("duplicates: %d distinct of %d", n, stored)
	}
	t.Logf("sent before signal %d, acked %v, stored %d", beforeSignal, lastAck, stored)
}
