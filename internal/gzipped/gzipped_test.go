package gzipped

import (
	"mime"
	"testing"
)

// TestCompressible: the dashboard's text types are compressed, its images and fonts are not.
func TestCompressible(t *testing.T) {
	t.Parallel()
	for ext, want := range map[string]bool{
		".html": true, ".css": true, ".js": true, ".mjs": true, ".json": true, ".svg": true, ".txt": true,
		".png": false, ".woff2": false, ".jpg": false, ".webp": false, ".ico": false,
	} {
		ctype := mime.TypeByExtension(ext)
		if got := Compressible(ctype); got != want {
			t.Errorf("%s (%q): compressible %v, want %v", ext, ctype, got, want)
		}
	}
	if Compressible("") || Compressible("not a type") {
		t.Error("an unknown type is compressible")
	}
}

// TestAccepts: gzip is taken whatever its case and weight, unless its weight is zero.
func TestAccepts(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]bool{
		"gzip": true, "GZIP": true, "br, gzip;q=0.8": true, "deflate, gzip ; q=1": true,
		"": false, "br": false, "gzip;q=0": false, "gzip; q=0.000": false, "identity": false, "x-gzip-ish": false,
	} {
		if got := Accepts(header); got != want {
			t.Errorf("Accepts(%q) = %v, want %v", header, got, want)
		}
	}
}
