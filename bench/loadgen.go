package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// load is the load generator: conns WebSocket clients, each sending events as fast as its window
// of unacknowledged messages allows.
//
// It is meant to cost this machine as little as a client on another machine would (nothing), so
// PostgreSQL and the relay get the cores: each client speaks RFC 6455 itself over its TCP
// connection (wsConn) instead of through coder/websocket, appends each event as a ready masked
// frame (the sample's pre-encoded JSON, then ts, id and seq) and writes everything its window
// allows in one write, and reads acks without allocating. The relay sees the same frames (one
// event per text frame, masked, no compression) as from a browser.
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
	conns  []*wsConn
}

// startLoad dials conns clients (each its own session and anon id) and starts sending.
func startLoad(ctx context.Context, url func(i int) string, conns, window int) (*load, error) {
	l := &load{ids: newIDGen(), conns: make([]*wsConn, conns)}
	l.window.Store(uint64(window))
	if err := dialRaw(ctx, url, l.conns); err != nil {
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
		c.close()
	}
	l.wg.Wait()
}

var (
	ackPrefix   = []byte(`{"type":"ack","seq":`)
	errorPrefix = []byte(`{"type":"error"`)
)

// maxBurst bounds the bytes of frames one client writes at once.
const maxBurst = 32 << 10

func (l *load) client(ctx context.Context, c *wsConn, i int) {
	ring := frameTemplates(samples(uint64(i), ringSize))
	var acked atomic.Uint64
	wake := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := c.readMessages(func(msg []byte) {
			switch {
			case bytes.HasPrefix(msg, ackPrefix):
				n, _ := strconv.ParseUint(bytesString(bytes.TrimSuffix(msg[len(ackPrefix):], []byte("}"))), 10, 64)
				if old := acked.Load(); n > old {
					acked.Store(n)
					l.acked.Add(int64(n - old))
					select {
					case wake <- struct{}{}:
					default:
					}
				}
			case bytes.HasPrefix(msg, errorPrefix):
				if l.errs.Add(1) == 1 {
					l.errMsg.Store(string(msg))
				}
			}
		})
		if err != nil && ctx.Err() == nil {
			l.closes.Add(1)
		}
	}()
	buf := make([]byte, 0, maxBurst+1024)
	var ts []byte
	var seq uint64 // last sent
	for ctx.Err() == nil {
		var n uint64 // events the window allows now
		if limit := acked.Load() + l.window.Load(); limit > seq {
			n = limit - seq
		}
		if n == 0 {
			select {
			case <-wake:
			case <-done:
				return
			case <-ctx.Done():
				return
			}
			continue
		}
		now := time.Now()
		ts = strconv.AppendInt(ts[:0], now.UnixMilli(), 10)
		buf = buf[:0]
		for ; n > 0 && len(buf) < maxBurst; n-- {
			seq++
			buf = c.appendFrame(buf, &ring[seq%ringSize], ts, l.ids.next(now), seq)
		}
		if err := c.write(buf); err != nil {
			return
		}
	}
	<-done
}

// frameTemplate is a sample's event message up to its time: `{"type":"event","event":…,"props":…,"ts":`.
type frameTemplate []byte

func frameTemplates(s []sample) []frameTemplate {
	out := make([]frameTemplate, len(s))
	for i := range s {
		b := append([]byte(`{"type":"event","event":"`), s[i].name...)
		b = append(b, `","props":`...)
		b = append(b, s[i].props...)
		out[i] = append(b, `,"ts":`...)
	}
	return out
}

// wsConn is the client end of one WebSocket, spoken directly: the handshake by hand, masked text
// frames out, the relay's unmasked frames in (pings answered).
type wsConn struct {
	nc   net.Conn
	br   *bufio.Reader
	wmu  sync.Mutex // frames from the sender and pongs from the reader
	mask uint64     // xorshift state for the sender's mask keys
}

// dialWS opens a WebSocket to rawURL (ws://host:port/path?query) from the local address.
func dialWS(ctx context.Context, rawURL string, local net.IP) (*wsConn, error) {
	u, err := neturl.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: local}}
	nc, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	var key [16]byte
	rand.Read(key[:])
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key[:]) + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		nc.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 16<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	// Sec-WebSocket-Accept (a SHA-1 of the key) is not checked: it guards against caches that
	// do not speak WebSocket, and there is none between here and the relay on loopback.
	if resp.StatusCode != http.StatusSwitchingProtocols || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		nc.Close()
		return nil, fmt.Errorf("handshake: %s %s", resp.Status, body)
	}
	_ = nc.SetDeadline(time.Time{})
	return &wsConn{nc: nc, br: br, mask: binary.LittleEndian.Uint64(key[:]) | 1}, nil
}

func (c *wsConn) close() { _ = c.nc.Close() }

func (c *wsConn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(b)
	return err
}

// nextMask advances an xorshift state and returns a masking key from it (RFC 6455 asks for
// unpredictable keys to protect proxies; an xorshift is plenty on loopback).
func nextMask(state *uint64) uint32 {
	x := *state
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	*state = x
	return uint32(x)
}

// appendFrame appends one event message as a masked text frame: the frameTemplate, then ts, id, seq.
func (c *wsConn) appendFrame(b []byte, t *frameTemplate, ts []byte, id [16]byte, seq uint64) []byte {
	var tail [128]byte // ts, id, seq: under 100 bytes
	rest := append(tail[:0], ts...)
	rest = append(rest, `,"id":"`...)
	rest = appendUUID(rest, id)
	rest = append(rest, `","seq":`...)
	rest = strconv.AppendUint(rest, seq, 10)
	rest = append(rest, '}')
	b = appendFrameHeader(b, 0x81, len(*t)+len(rest))
	key := nextMask(&c.mask)
	b = binary.LittleEndian.AppendUint32(b, key)
	start := len(b)
	b = append(b, *t...)
	b = append(b, rest...)
	maskBytes(b[start:], key)
	return b
}

// appendFrameHeader appends a client frame's first bytes up to its masking key.
func appendFrameHeader(b []byte, first byte, n int) []byte {
	switch {
	case n < 126:
		return append(b, first, 0x80|byte(n))
	case n <= 0xffff:
		return append(b, first, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, first, 0x80|127)
		return binary.BigEndian.AppendUint64(b, uint64(n))
	}
}

// maskBytes XORs p with the key (its bytes in little-endian order, as appendFrame writes them).
func maskBytes(p []byte, key uint32) {
	k := uint64(key) | uint64(key)<<32
	for len(p) >= 8 {
		binary.LittleEndian.PutUint64(p, binary.LittleEndian.Uint64(p)^k)
		p = p[8:]
	}
	for j := range p {
		p[j] ^= byte(key >> (8 * (j % 4)))
	}
}

// readMessages hands each text message from the relay to fn (the slice is reused) and answers
// pings, until the connection ends (a close frame or a read error).
func (c *wsConn) readMessages(fn func([]byte)) error {
	var msg, ctl []byte
	pongMask := uint64(time.Now().UnixNano()) | 1 // the reader's own key state
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(c.br, hdr[:2]); err != nil {
			return err
		}
		fin, op := hdr[0]&0x80 != 0, hdr[0]&0x0f
		if hdr[1]&0x80 != 0 {
			return errors.New("masked frame from the server")
		}
		n := int64(hdr[1] & 0x7f)
		switch n {
		case 126:
			if _, err := io.ReadFull(c.br, hdr[:2]); err != nil {
				return err
			}
			n = int64(binary.BigEndian.Uint16(hdr[:2]))
		case 127:
			if _, err := io.ReadFull(c.br, hdr[:8]); err != nil {
				return err
			}
			n = int64(binary.BigEndian.Uint64(hdr[:8]))
		}
		if n > 1<<20 || int64(len(msg))+n > 1<<20 {
			return fmt.Errorf("message of more than 1 MiB from the relay")
		}
		if op >= 8 { // control: ping, pong, close
			ctl = append(ctl[:0], make([]byte, n)...)
			if _, err := io.ReadFull(c.br, ctl); err != nil {
				return err
			}
			switch op {
			case 0x8:
				return errors.New("closed by the relay")
			case 0x9:
				pong := appendFrameHeader(nil, 0x8a, len(ctl))
				key := nextMask(&pongMask)
				pong = binary.LittleEndian.AppendUint32(pong, key)
				start := len(pong)
				pong = append(pong, ctl...)
				maskBytes(pong[start:], key)
				if err := c.write(pong); err != nil {
					return err
				}
			}
			continue
		}
		start := len(msg)
		msg = append(msg, make([]byte, n)...)
		if _, err := io.ReadFull(c.br, msg[start:]); err != nil {
			return err
		}
		if fin {
			fn(msg)
			msg = msg[:0]
		}
	}
}

func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
