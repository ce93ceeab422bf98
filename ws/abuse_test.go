package ws_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/ws"
)

// preflight sends a CORS preflight for POST to url from origin.
func preflight(t *testing.T, url, origin string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodOptions, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestPreflightAllowsOnlyTheProjectsOrigins: a preflight gets Access-Control-Allow-Origin only
// for an origin the project allows; a foreign origin, an unknown project, no project and
// Origin: null get none.
func TestPreflightAllowsOnlyTheProjectsOrigins(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{AllowedOrigins: []string{"*"}})
	p := s.project(t, "https://app.example.com")
	open := s.project(t) // lists none: the relay's default "*" applies
	base := strings.Replace(s.http.URL, "ws://", "http://", 1) + "/v1/events"
	for _, tc := range []struct {
		name, url, origin string
		allowed           bool
	}{
		{"allowed origin", base + "?project=" + p.String(), "https://app.example.com", true},
		{"foreign origin", base + "?project=" + p.String(), "https://evil.example", false},
		{"unknown project", base + "?project=" + uuid.NewString(), "https://evil.example", false},
		{"no project", base, "https://evil.example", false},
		{"null origin", base + "?project=" + p.String(), "null", false},
		{"null origin, project allowing *", base + "?project=" + open.String(), "null", false},
		{"any origin, project allowing *", base + "?project=" + open.String(), "https://any.example", true},
	} {
		resp := preflight(t, tc.url, tc.origin)
		got := resp.Header.Get("Access-Control-Allow-Origin")
		if tc.allowed && (got != tc.origin || resp.StatusCode != http.StatusNoContent) {
			t.Errorf("%s: %d, Access-Control-Allow-Origin %q, want 204 and %q", tc.name, resp.StatusCode, got, tc.origin)
		}
		if !tc.allowed && (got != "" || resp.StatusCode < 400) {
			t.Errorf("%s: %d, Access-Control-Allow-Origin %q, want a refusal without it", tc.name, resp.StatusCode, got)
		}
	}
}

// TestAdmitTakesOneSpellingOfEachParameter: a project id in any but the canonical lowercase
// 8-4-4-4-12 form, and a repeated project, session or anon parameter, are refused with a 400
// naming the problem, at both doors.
func TestAdmitTakesOneSpellingOfEachParameter(t *testing.T) {
	t.Parallel()
	s := newStack(t, ws.Config{})
	p := s.project(t)
	id := p.String()
	other := s.project(t).String()
	base := strings.Replace(s.http.URL, "ws://", "http://", 1)
	for _, tc := range []struct{ query, code string }{
		{"project={" + id + "}", "bad_project"},
		{"project=urn:uuid:" + id, "bad_project"},
		{"project=" + strings.ReplaceAll(id, "-", ""), "bad_project"},
		{"project=" + strings.ToUpper(id), "bad_project"},
		{"project=" + id + "&project=" + other, "duplicate_parameter"},
		{"project=" + id + "&session=a&session=b", "duplicate_parameter"},
		{"project=" + id + "&anon=a&anon=b", "duplicate_parameter"},
	} {
		for _, door := range []string{"/v1/events", "/ws"} {
			req, _ := http.NewRequest(http.MethodPost, base+door+"?"+tc.query, strings.NewReader("[]"))
			if door == "/ws" {
				req, _ = http.NewRequest(http.MethodGet, base+door+"?"+tc.query, nil)
				req.Header.Set("Connection", "Upgrade")
				req.Header.Set("Upgrade", "websocket")
				req.Header.Set("Sec-WebSocket-Version", "13")
				req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var out struct{ Error string }
			_ = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || out.Error != tc.code {
				t.Errorf("%s %s: %d %q, want 400 %s", door, tc.query, resp.StatusCode, out.Error, tc.code)
			}
		}
	}
	// The canonical form is still taken.
	resp, _ := post(t, base+"/v1/events?project="+id, "application/json", "[]", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("canonical id: %d", resp.StatusCode)
	}
}
