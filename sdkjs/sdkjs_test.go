package sdkjs

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/beacon-analytics/beacon/internal/testhttp"
)

// serveOver starts Serve in front of a stand-in for the dashboard on a real listener (requests go
// by testhttp.Do, which sends Accept-Encoding only when told, so what the relay answers is what the
// test sees).
func serveOver(t *testing.T, s *script) string {
	t.Helper()
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "dashboard") })
	srv := httptest.NewServer(s.serve(next))
	t.Cleanup(srv.Close)
	return srv.URL
}

func testScript(t *testing.T) *script {
	t.Helper()
	s, err := newScript([]byte(strings.Repeat("(function(){window.beacon=1})();\n", 40)), true)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestServesTheScript: both names answer the same bytes as a public, cross-origin script; the
// plain name is cached briefly and names the hashed one, the hashed one is immutable.
func TestServesTheScript(t *testing.T) {
	t.Parallel()
	s := testScript(t)
	base := serveOver(t, s)
	for _, tc := range []struct{ path, cache, location string }{
		{"/beacon.js", shortCache, s.path},
		{s.path, immutableCache, ""},
	} {
		resp, body := testhttp.Do(t, "GET", base+tc.path)
		want := map[string]string{
			"Content-Type":                 "text/javascript; charset=utf-8",
			"Cache-Control":                tc.cache,
			"Access-Control-Allow-Origin":  "*",
			"Cross-Origin-Resource-Policy": "cross-origin",
			"ETag":                         s.body.ETag(),
			"Content-Location":             tc.location,
			"Content-Encoding":             "",
		}
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", tc.path, k, got, v)
			}
		}
		if resp.StatusCode != 200 || !bytes.Equal(body, s.body.Plain()) {
			t.Errorf("%s: %d, %d bytes, want 200 and the script's %d", tc.path, resp.StatusCode, len(body), len(s.body.Plain()))
		}
	}
	if !strings.HasPrefix(s.path, "/beacon.") || len(s.path) != len("/beacon..js")+16 {
		t.Errorf("hashed path %q, want /beacon.<16 hex>.js", s.path)
	}
}

// TestRevalidation: If-None-Match with the current ETag answers 304 with no body, for each
// representation; an old ETag gets the script again.
func TestRevalidation(t *testing.T) {
	t.Parallel()
	s := testScript(t)
	base := serveOver(t, s)
	for _, path := range []string{"/beacon.js", s.path} {
		resp, body := testhttp.Do(t, "GET", base+path, "If-None-Match", s.body.ETag())
		if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Errorf("%s with its ETag: %d and %d bytes, want 304 and none", path, resp.StatusCode, len(body))
		}
		resp, _ = testhttp.Do(t, "GET", base+path, "If-None-Match", s.body.GzipETag(), "Accept-Encoding", "gzip")
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("%s gzipped with its ETag: %d, want 304", path, resp.StatusCode)
		}
		resp, body = testhttp.Do(t, "GET", base+path, "If-None-Match", `"0000000000000000"`)
		if resp.StatusCode != 200 || !bytes.Equal(body, s.body.Plain()) {
			t.Errorf("%s with an old ETag: %d, want 200 and the script", path, resp.StatusCode)
		}
	}
}

// TestGzip: a client that takes gzip gets the script compressed, under an ETag of its own; one
// that refuses it with q=0 gets it plain.
func TestGzip(t *testing.T) {
	t.Parallel()
	s := testScript(t)
	base := serveOver(t, s)
	resp, body := testhttp.Do(t, "GET", base+"/beacon.js", "Accept-Encoding", "br, gzip;q=0.8")
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("ETag") != s.body.GzipETag() || resp.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("gzip answer headers: %v", resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(plain, s.body.Plain()) || len(body) >= len(s.body.Plain()) {
		t.Errorf("gunzipped %d bytes (from %d), %v; want the script's %d", len(plain), len(body), err, len(s.body.Plain()))
	}
	resp, body = testhttp.Do(t, "GET", base+"/beacon.js", "Accept-Encoding", "gzip;q=0, identity")
	if resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, s.body.Plain()) {
		t.Errorf("gzip;q=0: Content-Encoding %q, %d bytes", resp.Header.Get("Content-Encoding"), len(body))
	}
}

// TestHeadAndOtherPaths: HEAD has the length and no body; an unknown hash is a 404 here, never
// the dashboard; other paths, near misses included, are the dashboard's; POST is refused.
func TestHeadAndOtherPaths(t *testing.T) {
	t.Parallel()
	s := testScript(t)
	base := serveOver(t, s)
	resp, body := testhttp.Do(t, "HEAD", base+s.path)
	if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != int64(len(s.body.Plain())) {
		t.Errorf("HEAD: %d, %d bytes, Content-Length %d; want 200, none, %d", resp.StatusCode, len(body), resp.ContentLength, len(s.body.Plain()))
	}
	for path, want := range map[string]string{
		"/beacon.0000000000000000.js": "404",
		"/beacon.old.js":              "404",
		"/beacon.js.map":              "dashboard",
		"/beacon":                     "dashboard",
		"/p/beacon.js":                "dashboard",
		"/":                           "dashboard",
	} {
		resp, body := testhttp.Do(t, "GET", base+path)
		got := string(body)
		if resp.StatusCode == http.StatusNotFound {
			got = "404"
		}
		if got != want {
			t.Errorf("%s: %d %q, want %s", path, resp.StatusCode, body, want)
		}
	}
	if resp, _ := testhttp.Do(t, "POST", base+"/beacon.js"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /beacon.js: %d, want 405", resp.StatusCode)
	}
}

// TestLoadPrefersTheBuild: the SDK's build wins over the placeholder, and its hash names it.
func TestLoadPrefersTheBuild(t *testing.T) {
	t.Parallel()
	placeholder := &fstest.MapFile{Data: []byte("console.warn('no sdk')")}
	only := mustLoad(fstest.MapFS{"build/placeholder/beacon.js": placeholder})
	both := mustLoad(fstest.MapFS{"build/placeholder/beacon.js": placeholder, "build/sdk/beacon.js": {Data: []byte("(()=>{})()")}})
	if only.built || string(only.body.Plain()) != "console.warn('no sdk')" {
		t.Errorf("placeholder alone: built %v, %q", only.built, only.body.Plain())
	}
	if !both.built || string(both.body.Plain()) != "(()=>{})()" || both.path == only.path {
		t.Errorf("with a build: built %v, %q, path %s (placeholder's %s)", both.built, both.body.Plain(), both.path, only.path)
	}
}

// TestEmbedded: the binary holds a script (the build or the placeholder) and names it by hash.
func TestEmbedded(t *testing.T) {
	t.Parallel()
	if len(embedded.body.Plain()) == 0 || Path() != embedded.path {
		t.Fatalf("embedded script: %d bytes at %s", len(embedded.body.Plain()), Path())
	}
	t.Logf("embedded: built=%v, %d bytes, %d gzipped, %s", Built(), len(embedded.body.Plain()), len(embedded.body.Gzip()), Path())
}
