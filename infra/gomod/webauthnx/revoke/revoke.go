// Package revoke stands in for github.com/go-webauthn/x/revoke, which go-webauthn's metadata
// package imports to check attestation certificates against CRLs and OCSP when a FIDO Metadata
// Service is configured. Its OCSP half links golang.org/x/crypto/ocsp, outside Go's FIPS 140-3
// module; Beacon configures no Metadata Service (webauthn.Config.MDS is nil: attestation is not
// requested), so that code never runs. This stub answers "not checked" (ok false), which the
// metadata package treats as not revoked. Wired in with a replace directive in go.mod, with the
// rest of go-webauthn/x v0.3.1 (crypto/, encoding/) copied unchanged under its LICENSE.
package revoke

import "crypto/x509"

// VerifyCertificate reports that revocation was not checked (ok false).
func VerifyCertificate(_ *x509.Certificate) (revoked, ok bool) { return false, false }

// VerifyCertificateError reports that revocation was not checked (ok false), without an error.
func VerifyCertificateError(_ *x509.Certificate) (revoked, ok bool, err error) {
	return false, false, nil
}
