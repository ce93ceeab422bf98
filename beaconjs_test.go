package main

import (
	"io"
	"net/http"
	"testing"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/sdkjs"
)

// TestRelayServesTheSDK: the binary answers /beacon.js and its hashed name with the script,
// cacheable (the security wrapper's no-store is not added) and with the security headers; an
// unknown hash is a 404, not the dashboard.
func TestRelayServesTheSDK(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	r := startRelay(t, freePort(t), "DATABASE_URL="+db.URL)
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(r.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}
	plain, body := get("/beacon.js")
	hashed := plain.Header.Get("Content-Location")
	if plain.StatusCode != 200 || plain.Header.Get("Content-Type") != "text/javascript; charset=utf-8" || hashed != sdkjs.Path() {
		t.Fatalf("/beacon.js: %d, %v", plain.StatusCode, plain.Header)
	}
	if plain.Header.Get("Cache-Control") != "public, max-age=300" || plain.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("/beacon.js: Cache-Control %q, X-Content-Type-Options %q", plain.Header.Get("Cache-Control"), plain.Header.Get("X-Content-Type-Options"))
	}
	again, body2 := get(hashed)
	if again.StatusCode != 200 || body2 != body || again.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Errorf("%s: %d, Cache-Control %q, same body %v", hashed, again.StatusCode, again.Header.Get("Cache-Control"), body2 == body)
	}
	if old, _ := get("/beacon.0123456789abcdef.js"); old.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown hash: %d, want 404", old.StatusCode)
	}
}
