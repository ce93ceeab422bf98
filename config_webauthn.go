package main

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// checkWebAuthn validates WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS, which browsers hold a passkey to:
// the RP ID is a host name (WebAuthn refuses IP addresses), and every origin is https (or http on
// localhost, a secure context too) on that host or a subdomain of it. A wrong value would only
// show as every passkey ceremony failing, so it stops the start instead.
func checkWebAuthn(rpID string, origins []string) error {
	if rpID == "" || rpID != strings.ToLower(rpID) || strings.ContainsAny(rpID, ":/ ") || net.ParseIP(rpID) != nil {
		return fmt.Errorf("WEBAUTHN_RP_ID must be the dashboard's host name in lower case, without scheme or port (e.g. beacon.example.com), not an IP address: got %q", rpID)
	}
	if len(origins) == 0 {
		return fmt.Errorf("WEBAUTHN_ORIGINS must name at least one origin (e.g. https://%s)", rpID)
	}
	for _, o := range origins {
		u, err := url.Parse(strings.TrimSpace(o))
		if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("WEBAUTHN_ORIGINS: %q is not scheme://host[:port]", o)
		}
		host := u.Hostname()
		if u.Scheme != "https" && !(u.Scheme == "http" && host == "localhost") {
			return fmt.Errorf("WEBAUTHN_ORIGINS: %q must be https (http only for localhost)", o)
		}
		if host != rpID && !strings.HasSuffix(host, "."+rpID) {
			return fmt.Errorf("WEBAUTHN_ORIGINS: %q is not on WEBAUTHN_RP_ID %q or a subdomain of it", o, rpID)
		}
	}
	return nil
}
