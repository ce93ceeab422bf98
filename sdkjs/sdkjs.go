// Package sdkjs serves the browser SDK's classic-script build from the relay, so a site needs one
// script tag and no bundler (issue 13): GET /beacon.js, revalidated after a few minutes so a relay
// upgrade reaches pages soon, and GET /beacon.<hash>.js, the same bytes under a name made from
// their SHA-256, cacheable for a year and fit for Subresource Integrity.
//
// `just sdk-build` copies the SDK's build to build/sdk/beacon.js, which git ignores; the committed
// build/placeholder/beacon.js only says in the console how to build it, so `go build` works on a
// fresh clone (as the dashboard package does).
package sdkjs

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"github.com/beacon-analytics/beacon/internal/gzipped"
)

//go:embed all:build
var build embed.FS

// The embedded script, read and compressed once.
var embedded = mustLoad(build)

// Cache lifetimes: the plain name may change with every relay upgrade, the hashed one never.
const (
	shortCache     = "public, max-age=300"
	immutableCache = "public, max-age=31536000, immutable"
)

// Path is the content-hashed path of the embedded script, e.g. "/beacon.0123456789abcdef.js":
// the name to use with an integrity attribute, or wherever a page may cache it for good.
func Path() string { return embedded.path }

// Built reports whether the SDK's build is embedded (false: the placeholder that only warns).
func Built() bool { return embedded.built }

// Serve answers GET and HEAD for /beacon.js and /beacon.<hash>.js (404 for any other
// /beacon.*.js: an old hash is gone with the build that had it) and passes every other path to
// next, the dashboard.
func Serve(next http.Handler) http.Handler { return embedded.serve(next) }

// script is one build of the SDK held in memory: ~10 KB, and its gzip for browsers that take it.
type script struct {
	body  *gzipped.Body
	path  string
	built bool
}

// mustLoad reads the SDK's build from fsys, else the placeholder; a missing placeholder is a
// broken checkout and must not build a relay.
func mustLoad(fsys fs.FS) *script {
	for _, name := range []string{"build/sdk/beacon.js", "build/placeholder/beacon.js"} {
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			continue
		}
		s, err := newScript(body, strings.HasPrefix(name, "build/sdk/"))
		if err != nil {
			panic(fmt.Sprintf("sdkjs: %s: %v", name, err))
		}
		return s
	}
	panic("sdkjs: neither build/sdk/beacon.js nor build/placeholder/beacon.js is embedded") // committed
}

// newScript names body by its hash and compresses it.
func newScript(body []byte, built bool) (*script, error) {
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:8])
	gz, err := gzipped.New(body, hash, true)
	if err != nil {
		return nil, err
	}
	return &script{body: gz, built: built, path: "/beacon." + hash + ".js"}, nil
}

func (s *script) serve(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case p == "/beacon.js":
			// The page (or a developer with curl -I) learns the immutable name from here.
			w.Header().Set("Content-Location", s.path)
			s.write(w, r, shortCache)
		case p == s.path:
			s.write(w, r, immutableCache)
		case strings.HasPrefix(p, "/beacon.") && strings.HasSuffix(p, ".js"):
			w.Header().Set("Cache-Control", "no-cache")
			http.NotFound(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// write answers with the script under cache, gzipped when the client takes gzip. It is a public
// script that carries no credentials, so any origin may read it (a tag with crossorigin, for
// integrity, needs that) and embed it under Cross-Origin-Embedder-Policy.
func (s *script) write(w http.ResponseWriter, r *http.Request, cache string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", cache)
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	s.body.Serve(w, r) // If-None-Match → 304, HEAD, Range; gzip when taken, with Vary
}
