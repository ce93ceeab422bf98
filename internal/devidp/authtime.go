package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// withAuthTime adds auth_time to the ID tokens mockoidc issues (it has none), as a provider that
// honours max_age must (OpenID Connect Core 2): the time of the last authorization request, when
// devidp "authenticated" the person without asking. The relay's re-authentication
// (GET /api/oidc/start?reauth=1) refuses an ID token without it.
func withAuthTime(m *mockoidc.MockOIDC) func(http.Handler) http.Handler {
	var last atomic.Int64
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == mockoidc.AuthorizationEndpoint {
				last.Store(time.Now().Unix())
			}
			if r.URL.Path != mockoidc.TokenEndpoint {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var body map[string]any
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			raw, _ := body["id_token"].(string)
			if raw == "" || rec.Code != http.StatusOK {
				w.WriteHeader(rec.Code)
				_, _ = w.Write(rec.Body.Bytes())
				return
			}
			claims := jwt.MapClaims{}
			if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			claims["auth_time"] = last.Load()
			signed, err := m.Keypair.SignJWT(claims)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			body["id_token"] = signed
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(body)
		})
	}
}
