package dashboard

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/beacon-analytics/beacon/internal/testhttp"
)

// app is a built app in miniature: SvelteKit's real index.html (testdata, from a build), a
// hashed asset, and a plain static file.
func app(t *testing.T) *site {
	t.Helper()
	index, err := os.ReadFile("testdata/kit-index.html")
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSite(fstest.MapFS{
		"index.html":                       {Data: index},
		"_app/immutable/entry/start.A1.js": {Data: []byte("export {}")},
		"favicon.svg":                      {Data: []byte("<svg/>")},
		"_app/immutable/entry/app.B2.js":   {Data: []byte("const t = `<div style=\"position: absolute; left: 0; top: 0; clip: rect(0 0 0 0); clip-path: inset(50%); overflow: hidden; white-space: nowrap; width: 1px; height: 1px\"></div>`")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, h http.Handler, path string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRoutes: pages get index.html (the SPA fallback), files themselves with the right caching,
// and neither a missing file nor a relay endpoint ever gets the app.
func TestRoutes(t *testing.T) {
	t.Parallel()
	s := app(t)
	for _, tc := range []struct {
		path, cache, ctype string
		status             int
		index              bool
	}{
		{"/", "no-cache", "text/html; charset=utf-8", 200, true},
		{"/index.html", "no-cache", "text/html; charset=utf-8", 200, true},
		{"/sign-in", "no-cache", "text/html; charset=utf-8", 200, true},
		{"/p/0190f1d2-aaaa/events", "no-cache", "text/html; charset=utf-8", 200, true},
		{"/p/x/../../sign-in", "no-cache", "text/html; charset=utf-8", 200, true},
		{"/_app/immutable/entry/start.A1.js", "public, max-age=31536000, immutable", "text/javascript; charset=utf-8", 200, false},
		{"/favicon.svg", "no-cache", "image/svg+xml", 200, false},
		{"/_app/immutable/entry/start.gone.js", "no-cache", "", 404, false},
		{"/_app/version.json", "no-cache", "", 404, false},
		{"/robots.txt", "no-cache", "", 404, false},
		{"/api/session", "", "", 404, false},
		{"/api", "", "", 404, false},
		{"/ws", "", "", 404, false},
		{"/v1/events", "", "", 404, false},
		{"/healthz", "", "", 404, false},
		{"/readyz", "", "", 404, false},
		{"/metrics", "", "", 404, false},
	} {
		r := get(t, s, tc.path)
		b := body(t, r)
		if r.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.path, r.StatusCode, tc.status)
		}
		if got := r.Header.Get("Cache-Control"); got != tc.cache {
			t.Errorf("%s: Cache-Control %q, want %q", tc.path, got, tc.cache)
		}
		if tc.ctype != "" && r.Header.Get("Content-Type") != tc.ctype {
			t.Errorf("%s: Content-Type %q, want %q", tc.path, r.Header.Get("Content-Type"), tc.ctype)
		}
		if got := strings.Contains(b, "__sveltekit_"); got != tc.index {
			t.Errorf("%s: served index.html %v, want %v", tc.path, got, tc.index)
		}
	}
}

// TestRevalidation: a no-cache file comes back 304 for its ETag, so a reload costs no body.
func TestRevalidation(t *testing.T) {
	t.Parallel()
	s := app(t)
	first := get(t, s, "/p/x")
	etag := first.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on index.html")
	}
	if r := get(t, s, "/p/y", "If-None-Match", etag); r.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match %s: status %d, want 304", etag, r.StatusCode)
	}
}

// TestCSPMatchesTheBuild: the script hash the relay allows is the one SvelteKit computed for its
// own bootstrap script (its <meta> policy), so the app starts under the relay's CSP; the style hash
// is the one Chromium names when it blocks SvelteKit's route announcer.
func TestCSPMatchesTheBuild(t *testing.T) {
	t.Parallel()
	index, err := os.ReadFile("testdata/kit-index.html")
	if err != nil {
		t.Fatal(err)
	}
	kit := regexp.MustCompile(`'sha256-[A-Za-z0-9+/=]+'`).FindString(string(index))
	if kit == "" {
		t.Fatal("testdata/kit-index.html has no hash in its CSP meta; rebuild it from dashboard/build/app")
	}
	want := "; script-src 'self' " + kit + "; style-src 'self' 'unsafe-hashes' 'sha256-S8qMpvofolR8Mpjy4kQvEm7m1q8clzU4dfDH0AmvZjo='"
	if got := app(t).csp; got != want {
		t.Errorf("csp = %q, want %q", got, want)
	}
}

// TestPlaceholder: the committed placeholder (no script) is served, and allows no inline script.
func TestPlaceholder(t *testing.T) {
	t.Parallel()
	index, err := os.ReadFile("build/placeholder/index.html")
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSite(fstest.MapFS{"index.html": {Data: index}})
	if err != nil {
		t.Fatal(err)
	}
	if s.csp != "" {
		t.Errorf("placeholder csp = %q, want none", s.csp)
	}
	if b := body(t, get(t, s, "/p/x")); !strings.Contains(b, "just build") {
		t.Errorf("placeholder does not say how to build the dashboard:\n%s", b)
	}
}

// TestEmbedded: the binary's own files load, whichever of the app and the placeholder they are.
func TestEmbedded(t *testing.T) {
	t.Parallel()
	r := get(t, Handler(), "/")
	if r.StatusCode != 200 || !strings.Contains(body(t, r), "Beacon") {
		t.Fatalf("embedded dashboard: status %d", r.StatusCode)
	}
}

// gzSite holds what is worth compressing (index.html, a large script) and what is not: a tiny
// script, an image, text that gzip cannot shrink.
func gzSite(t *testing.T) (*site, map[string][]byte) {
	t.Helper()
	index, err := os.ReadFile("testdata/kit-index.html")
	if err != nil {
		t.Fatal(err)
	}
	noise := make([]byte, 4096)
	rng := rand.NewChaCha8([32]byte{1})
	rng.Read(noise)
	files := map[string][]byte{
		"index.html":                       index,
		"_app/immutable/entry/big.C3.js":   []byte(strings.Repeat("export const a = () => document.body;\n", 200)),
		"_app/immutable/entry/start.A1.js": []byte("export {}"),
		"logo.png":                         append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 4096)...),
		"noise.txt":                        noise,
	}
	fsys := fstest.MapFS{}
	for name, b := range files {
		fsys[name] = &fstest.MapFile{Data: b}
	}
	s, err := newSite(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return s, files
}

// TestGzip: compressible files go gzipped to a client that takes gzip (inflating to the very
// bytes, with their length, Vary and an ETag of their own), plain to one that does not ask or
// refuses with q=0; HEAD and If-None-Match answer per representation.
func TestGzip(t *testing.T) {
	t.Parallel()
	s, files := gzSite(t)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	for path, name := range map[string]string{"/": "index.html", "/p/x": "index.html", "/_app/immutable/entry/big.C3.js": "_app/immutable/entry/big.C3.js"} {
		plain := files[name]
		gz, b := testhttp.Do(t, "GET", srv.URL+path, "Accept-Encoding", "gzip, deflate, br")
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: not gzip: %v (headers %v)", path, err, gz.Header)
		}
		inflated, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(inflated, plain) || len(b) >= len(plain) {
			t.Errorf("%s: %d gzipped bytes inflate to %d (%v), want the file's %d", path, len(b), len(inflated), err, len(plain))
		}
		etag := gz.Header.Get("ETag")
		if gz.Header.Get("Content-Encoding") != "gzip" || gz.Header.Get("Vary") != "Accept-Encoding" ||
			gz.ContentLength != int64(len(b)) || !strings.HasSuffix(etag, `-gz"`) {
			t.Errorf("%s gzipped: headers %v, length %d", path, gz.Header, gz.ContentLength)
		}
		var plainETag string
		for _, ae := range []string{"", "gzip;q=0", "identity"} {
			resp, b := testhttp.Do(t, "GET", srv.URL+path, "Accept-Encoding", ae)
			plainETag = resp.Header.Get("ETag")
			if resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("Vary") != "Accept-Encoding" ||
				!bytes.Equal(b, plain) || plainETag == etag || plainETag == "" {
				t.Errorf("%s, Accept-Encoding %q: headers %v, %d bytes; want the plain file's %d", path, ae, resp.Header, len(b), len(plain))
			}
		}
		head, hb := testhttp.Do(t, "HEAD", srv.URL+path, "Accept-Encoding", "gzip")
		if head.StatusCode != 200 || len(hb) != 0 || head.ContentLength != int64(len(b)) || head.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("%s HEAD gzip: %d, %d bytes, length %d, headers %v", path, head.StatusCode, len(hb), head.ContentLength, head.Header)
		}
		if rr, rb := testhttp.Do(t, "GET", srv.URL+path, "Accept-Encoding", "gzip", "Range", "bytes=0-9"); rr.StatusCode != 200 || !bytes.Equal(rb, b) {
			t.Errorf("%s Range gzip: %d, %d bytes; want 200 and the whole gzip's %d", path, rr.StatusCode, len(rb), len(b))
		}
		for _, tc := range []struct {
			inm, ae string
			status  int
		}{
			{etag, "gzip", 304}, {plainETag, "", 304}, {plainETag, "gzip;q=0", 304},
			{etag, "", 200}, {plainETag, "gzip", 200}, // the other representation's tag is not a match
		} {
			resp, rb := testhttp.Do(t, "GET", srv.URL+path, "If-None-Match", tc.inm, "Accept-Encoding", tc.ae)
			if resp.StatusCode != tc.status || (tc.status == 304 && (len(rb) != 0 || resp.Header.Get("Vary") != "Accept-Encoding")) {
				t.Errorf("%s If-None-Match %s, Accept-Encoding %q: %d, %d bytes, Vary %q; want %d", path, tc.inm, tc.ae, resp.StatusCode, len(rb), resp.Header.Get("Vary"), tc.status)
			}
		}
	}
}

// TestNoGzip: a tiny file, an image and text gzip cannot shrink go as they are, without Vary.
func TestNoGzip(t *testing.T) {
	t.Parallel()
	s, files := gzSite(t)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	for _, name := range []string{"_app/immutable/entry/start.A1.js", "logo.png", "noise.txt"} {
		resp, b := testhttp.Do(t, "GET", srv.URL+"/"+name, "Accept-Encoding", "gzip")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("Vary") != "" || !bytes.Equal(b, files[name]) {
			t.Errorf("%s: %d, headers %v, %d bytes; want the file's %d as is", name, resp.StatusCode, resp.Header, len(b), len(files[name]))
		}
	}
}
