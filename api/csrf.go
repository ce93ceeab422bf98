package api

import (
	"net/http"
	"net/url"
)

// sameOrigin reports whether a state-changing request may come from the dashboard itself, by what
// browsers say about where it came from: Sec-Fetch-Site, when sent, must be same-origin (or none:
// typed by the user), and Origin, when sent, must be this host. A request with neither is not
// from a browser (curl, a script), which cannot be tricked into sending the session's cookie;
// the X-CSRF-Token check still applies to it. SameSite=Strict on the cookie is the third layer.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host != "" && u.Host == r.Host && (u.Scheme == "http" || u.Scheme == "https")
}
