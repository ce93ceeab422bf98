package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/beacon-analytics/beacon/internal/wsclient"
)

// dialEach connects len(out) clients with dial, 64 at a time; on an error it closes those dialed
// and returns it.
func dialEach[C any](ctx context.Context, out []C, dial func(ctx context.Context, i int) (C, error), closeOne func(C)) error {
	sem := make(chan struct{}, 64)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	fail := func(err error) error {
		wg.Wait()
		for _, c := range out {
			closeOne(c)
		}
		return err
	}
	for i := range out {
		select {
		case err := <-errs:
			return fail(err)
		case sem <- struct{}{}:
		}
		wg.Go(func() {
			defer func() { <-sem }()
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			c, err := dial(dctx, i)
			if err != nil {
				select {
				case errs <- fmt.Errorf("dial client %d: %w", i, err):
				default:
				}
				return
			}
			out[i] = c
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		return fail(err)
	default:
	}
	return nil
}

// dialRaw connects the load generator's own clients, spread over loopback source addresses
// 127.0.0.1–8 so 10,000s of connections do not run out of ephemeral ports.
func dialRaw(ctx context.Context, url func(i int) string, out []*wsConn) error {
	return dialEach(ctx, out, func(ctx context.Context, i int) (*wsConn, error) {
		return dialWS(ctx, url(i), net.IPv4(127, 0, 0, byte(1+i%8)))
	}, func(c *wsConn) {
		if c != nil {
			c.close()
		}
	})
}

// dialAll connects coder/websocket clients (the flag and connection benchmarks), spread over
// source addresses like dialRaw.
func dialAll(ctx context.Context, url func(i int) string, out []*websocket.Conn) error {
	return dialEach(ctx, out, func(ctx context.Context, i int) (*websocket.Conn, error) {
		c, _, err := wsclient.Dial(ctx, url(i), &websocket.DialOptions{HTTPClient: httpClients[i%len(httpClients)]})
		if err != nil {
			return nil, err
		}
		c.SetReadLimit(1 << 20)
		return c, nil
	}, func(c *websocket.Conn) {
		if c != nil {
			c.CloseNow()
		}
	})
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
