// Command devidp is a throwaway OpenID Connect provider for the dashboard's browser test
// (dashboard/e2e/cases-sso.mjs) and for trying SSO by hand: github.com/oauth2-proxy/mockoidc on a
// local port, with the client id and secret given, signing every sign-in in as one person
// (-email, -sub, -groups) without asking anything, "just now" (auth_time: authtime.go). Never for
// production: it authenticates nobody.
//
//	go run ./internal/devidp -addr 127.0.0.1:5556 -email ada@example.com
//
// It prints one line, "issuer=URL", once it listens, and serves until killed.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/oauth2-proxy/mockoidc"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "host:port to listen on")
	clientID := flag.String("client-id", "beacon-dev", "the relay's OIDC_CLIENT_ID")
	secret := flag.String("client-secret", "beacon-dev-secret", "the relay's OIDC_CLIENT_SECRET")
	email := flag.String("email", "sso@example.com", "email of the person every sign-in is")
	sub := flag.String("sub", "devidp-1", "their subject")
	groups := flag.String("groups", "", "their groups, comma-separated")
	flag.Parse()

	m, err := mockoidc.NewServer(nil)
	if err != nil {
		log.Fatalf("devidp: %v", err)
	}
	m.ClientID, m.ClientSecret = *clientID, *secret
	person := &mockoidc.MockUser{Subject: *sub, Email: *email, EmailVerified: true, PreferredUsername: *email}
	if *groups != "" {
		person.Groups = strings.Split(*groups, ",")
	}
	// Every authorization is this person (mockoidc pops a queued user per sign-in).
	if err := m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == mockoidc.AuthorizationEndpoint {
				m.QueueUser(person)
			}
			next.ServeHTTP(w, r)
		})
	}); err != nil {
		log.Fatalf("devidp: %v", err)
	}
	if err := m.AddMiddleware(withAuthTime(m)); err != nil {
		log.Fatalf("devidp: %v", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("devidp: listen %s: %v", *addr, err)
	}
	if err := m.Start(ln, nil); err != nil {
		log.Fatalf("devidp: %v", err)
	}
	fmt.Fprintf(os.Stdout, "issuer=%s\n", m.Issuer())
	select {}
}
