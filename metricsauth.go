package main

import (
	"crypto/subtle"
	"net/http"
)

// requireBearer serves h only to requests carrying "Authorization: Bearer token"; an empty token
// lets every request through (METRICS_ADDR is then loopback or a network only the scraper reaches).
// The comparison takes constant time, so the answer's timing does not leak the token.
func requireBearer(token string, h http.Handler) http.Handler {
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need METRICS_TOKEN as a bearer token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
