package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/beacon-analytics/beacon/internal/wsclient"
)

// load is the load generator: conns WebSocket clients, each sending events as fast as its window
// of unacknowledged messages allows.
type load struct {
	window atomic.Uint64
	ids    *idGen
	acked  atomic.Int64 // events acknowledged, all clients
	sent   atomic.Int64
	errs   atomic.Int64 // {"type":"error"} replies
	errMsg atomic.Value // the first of them
	closes atomic.Int64 // connections that ended before stop
	cancel context.CancelFunc
	wg     sync.WaitGroup
	conns  []*websocket.Conn
}

// startLoad dials conns clients (each its own session and anon id) and starts sending.
func startLoad(ctx context.Context, url func(i int) string, conns, window int) (*load, error) {
	l := &load{ids: newIDGen(), conns: make([]*websocket.Conn, conns)}
	l.window.Store(uint64(window))
	if err := dialAll(ctx, url, l.conns); err != nil {
		return nil, err
	}
	run, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	for i, c := range l.conns {
		l.wg.Go(func() { l.client(run, c, i) })
	}
	return l, nil
}

// stop ends every client and waits for them.
func (l *load) stop() {
	l.cancel()
	for _, c := range l.conns {
		c.CloseNow()
	}
	l.wg.Wait()
}

var ackPrefix = []byte(`{"type":"ack","seq":`)

func (l *load) client(ctx context.Context, c *websocket.Conn, i int) {
	ring := samples(uint64(i), ringSize)
	var acked atomic.Uint64
	wake := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				if ctx.Err() == nil {
					l.closes.Add(1)
				}
				return
			}
			switch {
			case bytes.HasPrefix(data, ackPrefix):
				n, _ := strconv.ParseUint(string(bytes.TrimSuffix(data[len(ackPrefix):], []byte("}"))), 10, 64)
				if old := acked.Load(); n > old {
					acked.Store(n)
					l.acked.Add(int64(n - old))
					select {
					case wake <- struct{}{}:
					default:
					}
				}
			case bytes.HasPrefix(data, []byte(`{"type":"error"`)):
				if l.errs.Add(1) == 1 {
					l.errMsg.Store(string(data))
				}
			}
		}
	}()
	buf := make([]byte, 0, 512)
	for seq := uint64(1); ctx.Err() == nil; seq++ {
		for seq-acked.Load() > l.window.Load() {
			select {
			case <-wake:
			case <-done:
				return
			case <-ctx.Done():
				return
			}
		}
		now := time.Now()
		buf = appendMessage(buf[:0], &ring[seq%ringSize], l.ids.next(now), now, seq)
		if err := c.Write(ctx, websocket.MessageText, buf); err != nil {
			return
		}
		l.sent.Add(1)
	}
	<-done
}

// dialAll connects len(out) clients, 64 at a time, spreading them over loopback source addresses
// so 10,000s of connections do not run out of ephemeral ports.
func dialAll(ctx context.Context, url func(i int) string, out []*websocket.Conn) error {
	sem := make(chan struct{}, 64)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for i := range out {
		select {
		case err := <-errs:
			wg.Wait()
			closeAll(out)
			return err
		case sem <- struct{}{}:
		}
		wg.Go(func() {
			defer func() { <-sem }()
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			c, _, err := wsclient.Dial(dctx, url(i), &websocket.DialOptions{HTTPClient: httpClients[i%len(httpClients)]})
			if err != nil {
				select {
				case errs <- fmt.Errorf("dial client %d: %w", i, err):
				default:
				}
				return
			}
			c.SetReadLimit(1 << 20)
			out[i] = c
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		closeAll(out)
		return err
	default:
	}
	return nil
}

func closeAll(cs []*websocket.Conn) {
	for _, c := range cs {
		if c != nil {
			c.CloseNow()
		}
	}
}

// httpClients dial from 127.0.0.1 … 127.0.0.8: each source address has its own ephemeral ports.
var httpClients = func() []*http.Client {
	var out []*http.Client
	for k := 1; k <= 8; k++ {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(k))}, Timeout: 10 * time.Second}
		out = append(out, &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}})
	}
	return out
}()
