// Package testhttp sends one HTTP request for a test over a real connection, with a client that
// never asks for or undoes compression itself, so the test sees exactly what the server sent
// (the tests of sdkjs and dashboard check Content-Encoding and the gzip bytes).
package testhttp

import (
	"io"
	"net/http"
	"testing"
)

var client = &http.Client{Transport: &http.Transport{DisableCompression: true}}

// Do sends method to url with the header pairs hdr (name, value, …) and returns the response
// with its whole body read; any transport error fails the test.
func Do(t testing.TB, method, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}
