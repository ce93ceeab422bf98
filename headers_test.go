package main

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestWriteTimeoutFreesPipeliningReader: a client that pipelines requests for a large answer and
// never reads gets its connection closed once the write timeout passes; the handler is not pinned.
func TestWriteTimeoutFreesPipeliningReader(t *testing.T) {
	t.Parallel()
	failed := make(chan error, 1)
	big := []byte(strings.Repeat("m", 1<<20))
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for range 64 { // 64 MiB: far more than any socket buffer holds
			if _, err := w.Write(big); err != nil {
				failed <- err
				return
			}
		}
		failed <- nil
	})
	srv := httptest.NewServer(secure(h, 200*time.Millisecond, false))
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(strings.Repeat("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 50))); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-failed:
		if err == nil {
			t.Fatal("64 MiB written to a client that reads nothing")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler is still blocked writing 10 s after a 200 ms write timeout")
	}
}

// TestWriteTimeoutSparesWebSockets: an upgrade request gets no write deadline (the WebSocket
// bounds its own writes), so a connection held longer than the timeout still writes.
func TestWriteTimeoutSparesWebSockets(t *testing.T) {
	t.Parallel()
	wrote := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			wrote <- err
			return
		}
		defer conn.Close()
		time.Sleep(300 * time.Millisecond) // the deadline under test, not a wait for a signal
		_, err = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n\r\n")
		if err == nil {
			err = brw.Flush()
		}
		wrote <- err
	})
	srv := httptest.NewServer(secure(h, 100*time.Millisecond, false))
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.Contains(line, "101") {
		t.Fatalf("read %q, %v", line, err)
	}
	if err := <-wrote; err != nil {
		t.Fatalf("write after the HTTP write timeout failed on an upgraded connection: %v", err)
	}
}

// TestSecurityHeadersOnEveryRoute: every route answers with the headers; HSTS only over TLS;
// the dashboard is cacheable, API answers are not.
func TestSecurityHeadersOnEveryRoute(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	for _, tls := range []bool{false, true} {
		h := secure(mux, time.Second, tls)
		for _, path := range []string{"/", "/index.html", "/healthz", "/readyz", "/metrics", "/v1/events", "/ws"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			checkSecurityHeaders(t, path, rec.Header(), tls)
		}
	}
}

func checkSecurityHeaders(t *testing.T, path string, h http.Header, tls bool) {
	t.Helper()
	want := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"X-Frame-Options":        "DENY",
	}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("%s: %s = %q, want %q", path, k, h.Get(k), v)
		}
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("%s: Content-Security-Policy = %q", path, h.Get("Content-Security-Policy"))
	}
	if got := h.Get("Strict-Transport-Security") != ""; got != tls {
		t.Errorf("%s: HSTS sent %v, want %v (TLS %v)", path, got, tls, tls)
	}
	api := path != "/" && path != "/index.html"
	if got := h.Get("Cache-Control") == "no-store"; got != api {
		t.Errorf("%s: Cache-Control %q, want no-store %v", path, h.Get("Cache-Control"), api)
	}
}
