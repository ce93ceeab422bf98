// Package dashboard serves the dashboard's static build, embedded in the binary so one file
// deploys the whole product.
//
// The SvelteKit build (npm run build, or just build) writes build/app, which git ignores; the
// committed build/placeholder/index.html says how to build it, so `go build` works on a fresh
// clone. The handler serves whichever is there, preferring the app.
package dashboard

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/beacon-analytics/beacon/internal/gzipped"
)

//go:embed all:build
var build embed.FS

// The embedded site, read once: the app when it was built, else the placeholder.
var embedded = mustEmbedded()

func mustEmbedded() *site {
	for _, dir := range []string{"build/app", "build/placeholder"} {
		sub, err := fs.Sub(build, dir)
		if err != nil {
			continue
		}
		if _, err := fs.Stat(sub, "index.html"); err != nil {
			continue
		}
		s, err := newSite(sub)
		if err != nil {
			panic(fmt.Sprintf("dashboard: embedded %s: %v", dir, err)) // a broken build must not ship
		}
		return s
	}
	panic("dashboard: neither build/app nor build/placeholder holds an index.html") // committed
}

// Handler serves the built dashboard: its files, and index.html for every other path a person may
// open (the app routes in the browser), never for the relay's own endpoints.
func Handler() http.Handler { return embedded }

// CSPDirectives are the Content-Security-Policy directives, each with a leading "; ", that the
// built app needs beyond `default-src 'self'`, allowing exactly what the build holds by SHA-256:
//   - script-src: the inline scripts of index.html (SvelteKit starts the app from one);
//   - style-src: the static style attributes of the compiled templates (SvelteKit's route
//     announcer has one), with 'unsafe-hashes', which lets only those exact values through.
//
// "" for the placeholder. The relay's security headers append it, so no 'unsafe-inline' is ever
// needed; the browser test fails on any CSP violation, so a build needing more is caught there.
func CSPDirectives() string { return embedded.csp }

// A site is a static build held in memory: a few hundred KB, served without touching a disk.
type site struct {
	files map[string]file // by slash path without the leading "/"
	csp   string
}

// A file is one of the build's files: its bytes (gzipped too when that pays) and its type.
type file struct {
	body  *gzipped.Body
	ctype string
}

func newSite(fsys fs.FS) (*site, error) {
	s := &site{files: map[string]file{}}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		sum := sha256.Sum256(body)
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = http.DetectContentType(body)
		}
		gz, err := gzipped.New(body, base64.RawURLEncoding.EncodeToString(sum[:12]), gzipped.Compressible(ctype))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		s.files[name] = file{body: gz, ctype: ctype}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load dashboard files: %w", err)
	}
	index, ok := s.files["index.html"]
	if !ok {
		return nil, fmt.Errorf("load dashboard files: no index.html")
	}
	s.csp = scriptSrc(index.body.Plain()) + styleSrc(s.files)
	return s, nil
}

// inlineScript matches a <script> element without attributes: SvelteKit's bootstrap. A script
// with a src is covered by 'self'.
var inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

func scriptSrc(html []byte) string {
	var b strings.Builder
	for _, m := range inlineScript.FindAllSubmatch(html, -1) {
		sum := sha256.Sum256(m[1])
		fmt.Fprintf(&b, " 'sha256-%s'", base64.StdEncoding.EncodeToString(sum[:]))
	}
	if b.Len() == 0 {
		return ""
	}
	return "; script-src 'self'" + b.String()
}

// styleAttr matches a static style attribute in a compiled Svelte template (a string in the JS).
var styleAttr = regexp.MustCompile(`style="([^"]*)"`)

func styleSrc(files map[string]file) string {
	seen := map[string]bool{}
	for name, f := range files {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		for _, m := range styleAttr.FindAllSubmatch(f.body.Plain(), -1) {
			sum := sha256.Sum256(m[1])
			seen["'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'"] = true
		}
	}
	if len(seen) == 0 {
		return ""
	}
	hashes := make([]string, 0, len(seen))
	for h := range seen {
		hashes = append(hashes, h)
	}
	sort.Strings(hashes)
	return "; style-src 'self' 'unsafe-hashes' " + strings.Join(hashes, " ")
}

// reserved reports whether a path belongs to the relay, not the dashboard: a request for it that
// reaches this handler is a 404, never the app's index.html (which would answer a mistyped API
// call with 200 and HTML).
func reserved(p string) bool {
	switch p {
	case "/api", "/v1", "/ws", "/healthz", "/readyz", "/metrics":
		return true
	}
	return strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/ws/")
}

// isAsset reports whether a path names a file (under _app/, or with an extension) rather than a
// page: a missing file is a 404, not the app.
func isAsset(name string) bool {
	return name != "" && (strings.HasPrefix(name, "_app/") || strings.Contains(path.Base(name), "."))
}

// ServeHTTP serves a file, or index.html for a page.
func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if reserved(r.URL.Path) {
		http.NotFound(w, r)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	f, ok := s.files[name]
	switch {
	case ok && strings.HasPrefix(name, "_app/immutable/"):
		// Content-hashed names: a new build writes new names, so these never change.
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	case ok:
		w.Header().Set("Cache-Control", "no-cache") // revalidated by ETag on every use
	case isAsset(name):
		w.Header().Set("Cache-Control", "no-cache")
		http.NotFound(w, r)
		return
	default:
		f = s.files["index.html"]
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("Content-Type", f.ctype)
	f.body.Serve(w, r) // ETag (one per representation), 304, HEAD, Range; gzip when taken
}
