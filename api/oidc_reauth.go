package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Re-authentication through the identity provider (IA-11): an account without a password cannot
// answer POST /api/session/reauth, so GET /api/oidc/start?reauth=1 asks the provider to
// authenticate the person again, and the callback accepts only an ID token saying it did.

// reauthNoncePrefix marks the nonce of a flow started with reauth=1. The nonce is kept in
// beacon.oidc_flows, which the browser can neither read nor change (it is found by the state's
// and the flow cookie's SHA-256), so the mark cannot be added or dropped after the start, and the
// provider's ID token must echo the nonce whole.
const reauthNoncePrefix = "reauth."

// reauthMaxAge bounds how long ago the provider may have authenticated the person in a
// re-authentication: max_age=0 asks for now, and a flow lasts at most flowTTL.
const reauthMaxAge = flowTTL

// authTimeSkew tolerates a provider's clock a little ahead of the relay's.
const authTimeSkew = time.Minute

// reauthOptions ask the provider to authenticate the person again whatever session it holds
// (OpenID Connect Core 3.1.2.1: prompt=login; max_age=0, which also makes auth_time required).
func reauthOptions() []oauth2.AuthCodeOption {
	return []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "0")}
}

func isReauthNonce(nonce string) bool {
	return strings.HasPrefix(nonce, reauthNoncePrefix)
}

// checkAuthTime refuses a re-authentication whose ID token has no auth_time, or one older than
// reauthMaxAge or in the future: a provider that ignored prompt=login would otherwise pass off an
// old sign-in as a new one. It returns "" when the time is acceptable, else the refusal's detail.
func checkAuthTime(authTime, now time.Time) string {
	switch {
	case authTime.IsZero():
		return "the ID token has no auth_time"
	case now.Sub(authTime) > reauthMaxAge:
		return fmt.Sprintf("auth_time %s is more than %s ago", authTime.UTC().Format(time.RFC3339), reauthMaxAge)
	case authTime.Sub(now) > authTimeSkew:
		return fmt.Sprintf("auth_time %s is in the future", authTime.UTC().Format(time.RFC3339))
	}
	return ""
}

// refusedTo sends the browser back after a refusal: to the sign-in page (back ""), or, for a
// re-authentication, to the page it started from with ?sso_error=REASON. That person is signed in
// still, and the sign-in page would send them on without a word; the dashboard's dialog says why
// there and offers to try again.
func (s *Server) refusedTo(w http.ResponseWriter, r *http.Request, back, reason string) {
	if back == "" {
		s.redirectRefused(w, r, reason)
		return
	}
	u, err := url.Parse(back) // a local path: beacon.oidc_flow_begin kept nothing else
	if err != nil {
		s.redirectRefused(w, r, reason)
		return
	}
	q := u.Query()
	q.Set("sso_error", reason)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}
