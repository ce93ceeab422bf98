package main

import (
	"strings"
	"testing"
)

func TestCheckWebAuthn(t *testing.T) {
	for _, c := range []struct {
		rpID    string
		origins []string
		bad     string // "" valid; else a part of the error
	}{
		{"localhost", []string{"http://localhost:4000", "http://localhost:5173"}, ""},
		{"example.com", []string{"https://beacon.example.com", "https://example.com:8443"}, ""},
		{"", []string{"https://example.com"}, "WEBAUTHN_RP_ID"},
		{"Example.com", []string{"https://example.com"}, "WEBAUTHN_RP_ID"},
		{"127.0.0.1", []string{"https://127.0.0.1"}, "WEBAUTHN_RP_ID"},
		{"https://example.com", []string{"https://example.com"}, "WEBAUTHN_RP_ID"},
		{"example.com", nil, "WEBAUTHN_ORIGINS"},
		{"example.com", []string{"http://example.com"}, "must be https"},
		{"example.com", []string{"https://example.org"}, "not on WEBAUTHN_RP_ID"},
		{"example.com", []string{"https://badexample.com"}, "not on WEBAUTHN_RP_ID"},
		{"example.com", []string{"https://example.com/dashboard"}, "scheme://host"},
	} {
		err := checkWebAuthn(c.rpID, c.origins)
		switch {
		case c.bad == "" && err != nil:
			t.Errorf("%q %q: %v", c.rpID, c.origins, err)
		case c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)):
			t.Errorf("%q %q: %v, want an error naming %q", c.rpID, c.origins, err, c.bad)
		}
	}
}
