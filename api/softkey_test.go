package api_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// The WebAuthn relying party the tests configure, and the origin the software key claims.
const (
	testRPID   = "localhost"
	testOrigin = "http://localhost:4000"
)

// softKey is a software authenticator: an ECDSA P-256 credential that answers the options of a
// begin step as a browser's navigator.credentials.create / get would, signing for real, so the
// tests drive go-webauthn's whole check (challenge, origin, RP ID hash, flags, signature, counter).
type softKey struct {
	t       *testing.T
	priv    *ecdsa.PrivateKey
	id      []byte
	handle  []byte // user handle it stored at enrolment (a passkey answers with it)
	count   uint32
	noUV    bool   // answer without the user-verified flag
	origin  string // "" is testOrigin
	rpIDFor string // "" is testRPID: the RP ID whose hash it puts in authenticatorData
}

func newSoftKey(t *testing.T) *softKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return &softKey{t: t, priv: priv, id: id}
}

var b64 = base64.RawURLEncoding

func (k *softKey) flags() byte {
	f := byte(0x01) // UP
	if !k.noUV {
		f |= 0x04 // UV
	}
	return f
}

func (k *softKey) authData(extra []byte, flags byte) []byte {
	rp := k.rpIDFor
	if rp == "" {
		rp = testRPID
	}
	h := sha256.Sum256([]byte(rp))
	out := append([]byte{}, h[:]...)
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, k.count)
	return append(out, extra...)
}

func (k *softKey) clientData(typ, challenge string) []byte {
	o := k.origin
	if o == "" {
		o = testOrigin
	}
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": o, "crossOrigin": false})
	return b
}

// options is the publicKey of a begin step's answer.
type options struct {
	Challenge string `json:"challenge"`
	User      struct {
		ID string `json:"id"`
	} `json:"user"`
}

func parseBegin(t *testing.T, body []byte) (string, options) {
	t.Helper()
	var b struct {
		Ceremony  string  `json:"ceremony"`
		PublicKey options `json:"publicKey"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Ceremony == "" || b.PublicKey.Challenge == "" {
		t.Fatalf("begin answer %s: %v", body, err)
	}
	return b.Ceremony, b.PublicKey
}

// create answers a registration's options: attestation "none", the COSE public key in the
// attested credential data.
func (k *softKey) create(o options) map[string]any {
	k.t.Helper()
	handle, err := b64.DecodeString(o.User.ID)
	if err != nil {
		k.t.Fatalf("user id %q: %v", o.User.ID, err)
	}
	k.handle = handle
	pub, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         1, // P-256
		XCoord:        k.priv.X.FillBytes(make([]byte, 32)),
		YCoord:        k.priv.Y.FillBytes(make([]byte, 32)),
	})
	if err != nil {
		k.t.Fatal(err)
	}
	cred := make([]byte, 16) // AAGUID: zeros
	cred = binary.BigEndian.AppendUint16(cred, uint16(len(k.id)))
	cred = append(cred, k.id...)
	cred = append(cred, pub...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(cred, k.flags()|0x40)})
	if err != nil {
		k.t.Fatal(err)
	}
	return map[string]any{
		"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(k.clientData("webauthn.create", o.Challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"usb"},
		},
		"clientExtensionResults": map[string]any{},
	}
}

// get answers an assertion's options, its counter one more than the last.
func (k *softKey) get(o options) map[string]any {
	k.t.Helper()
	k.count++
	ad := k.authData(nil, k.flags())
	cd := k.clientData("webauthn.get", o.Challenge)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		k.t.Fatal(err)
	}
	return map[string]any{
		"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(ad),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(k.handle),
		},
		"clientExtensionResults": map[string]any{},
	}
}
