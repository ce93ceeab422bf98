package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/beacon-analytics/beacon/internal/testdb"
	"github.com/beacon-analytics/beacon/internal/wsclient"
)

// selfSigned writes a P-256 certificate for 127.0.0.1 and its key, and returns their paths and
// a pool trusting the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "beacon test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write := func(path, typ string, b []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(certFile, "CERTIFICATE", der)
	write(keyFile, "EC PRIVATE KEY", keyDER)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}

// TestTLS: with TLS_CERT_FILE/TLS_KEY_FILE the relay serves HTTPS and WSS, with TLS 1.2 or 1.3
// and AES-GCM suites only.
func TestTLS(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	project := createProject(t, db)
	certFile, keyFile, roots := selfSigned(t)
	port := freePort(t)
	cmd := command("DATABASE_URL="+db.URL, "PORT="+strconv.Itoa(port), "HOST=127.0.0.1",
		"TLS_CERT_FILE="+certFile, "TLS_KEY_FILE="+keyFile)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	client := func(cfg *tls.Config) *http.Client {
		cfg.RootCAs = roots
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	ok := client(&tls.Config{MinVersion: tls.VersionTLS12})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := ok.Get("https://" + addr + "/readyz")
		if err == nil && resp.StatusCode == http.StatusOK {
			if resp.TLS.Version < tls.VersionTLS12 {
				t.Fatalf("negotiated TLS version %x", resp.TLS.Version)
			}
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("https readyz: %v %v", resp, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	refused := map[string]*tls.Config{
		"TLS 1.1": {MaxVersion: tls.VersionTLS11},
		"TLS 1.2 with ChaCha20 only": {MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}},
		"TLS 1.2 with CBC only": {MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}},
	}
	for name, cfg := range refused {
		if resp, err := client(cfg).Get("https://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			t.Errorf("%s: handshake succeeded, want refusal", name)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := wsclient.Dial(ctx, "wss://"+addr+"/ws?project="+project+"&anon=tls",
		&websocket.DialOptions{HTTPClient: ok})
	if err != nil {
		t.Fatalf("wss dial: %v", err)
	}
	defer c.CloseNow()
	expectFlags(t, ctx, c, `{}`)
}
