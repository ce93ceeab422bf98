// Package gzipped serves static bodies held in memory, compressed once at start-up with
// gzip.BestCompression and sent gzipped to clients that take it, so neither the SDK script
// (sdkjs) nor the dashboard's files (dashboard) cross the network uncompressed or are compressed
// again on every request.
package gzipped

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MinSize is the smallest body worth compressing: below it the gzip framing eats most of the
// saving, and the response fits one packet anyway.
const MinSize = 512

// Body is one static body and, when worth it, its gzip, each with a strong ETag of its own (a
// cache must never take one representation's bytes for the other's).
type Body struct {
	plain, gz    []byte
	etag, gzETag string
}

// New holds plain under the opaque ETag value tag (without quotes). When compress is set (the
// caller knows the type is compressible, see Compressible) and plain is at least MinSize bytes,
// it is gzipped; the gzip is kept only if it saves at least a tenth.
func New(plain []byte, tag string, compress bool) (*Body, error) {
	b := &Body{plain: plain, etag: `"` + tag + `"`}
	if !compress || len(plain) < MinSize {
		return b, nil
	}
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if buf.Len() <= len(plain)*9/10 {
		b.gz, b.gzETag = buf.Bytes(), `"`+tag+`-gz"`
	}
	return b, nil
}

// Plain is the uncompressed body.
func (b *Body) Plain() []byte { return b.plain }

// Gzip is the compressed body, nil when it was not worth keeping.
func (b *Body) Gzip() []byte { return b.gz }

// ETag is the plain representation's ETag.
func (b *Body) ETag() string { return b.etag }

// GzipETag is the gzipped representation's ETag, "" when there is no gzip.
func (b *Body) GzipETag() string { return b.gzETag }

// Serve answers GET or HEAD with the body (Content-Type and caching are the caller's), gzipped
// when the request's Accept-Encoding takes gzip, with Vary: Accept-Encoding whenever a gzip
// exists. http.ServeContent does If-None-Match (304), HEAD, and Range for the plain body.
func (b *Body) Serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	body, etag := b.plain, b.etag
	if b.gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if Accepts(r.Header.Get("Accept-Encoding")) {
			body, etag = b.gz, b.gzETag
			h.Set("Content-Encoding", "gzip")
			// http.ServeContent leaves Content-Length to the caller once Content-Encoding is set,
			// so it could not get a range's length right: the gzip goes whole (a server may
			// always ignore Range), with its own length.
			h.Set("Content-Length", strconv.Itoa(len(body)))
			r = r.Clone(r.Context())
			r.Header.Del("Range")
		}
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// Accepts reports whether an Accept-Encoding header takes gzip (a "gzip;q=0" refuses it).
func Accepts(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

// Compressible reports whether a Content-Type is text that gzip shrinks: text/* (HTML, CSS,
// plain text), JavaScript, JSON and SVG. Images, fonts and archives are compressed already.
func Compressible(ctype string) bool {
	t, _, err := mime.ParseMediaType(ctype)
	if err != nil {
		return false
	}
	return strings.HasPrefix(t, "text/") || strings.HasSuffix(t, "javascript") ||
		t == "application/json" || strings.HasSuffix(t, "+json") || t == "image/svg+xml"
}
