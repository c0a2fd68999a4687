package configclient

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshgate/meshgate/internal/testutil/certs"
)

func TestWithClientAuth(t *testing.T) {
	dir := t.TempDir()
	ca := certs.NewCA(t, "ca")
	caFile := ca.WriteFile(t, dir, "ca.pem")
	certFile, keyFile := ca.Client(t, "spiffe://example.org/mesh/m/virtualGateway/gw").WriteFiles(t, dir, "gw")
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("the-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tlsEPs, err := ParseEndpoints("xds.internal:7071,unix:///run/xds.sock", caFile)
	if err != nil {
		t.Fatal(err)
	}
	plainEPs, err := ParseEndpoints("10.1.2.3:7071", "")
	if err != nil {
		t.Fatal(err)
	}
	loopEPs, err := ParseEndpoints("127.0.0.1:7071,localhost:7071,[::1]:7071", "")
	if err != nil {
		t.Fatal(err)
	}

	eps, err := WithClientAuth(tlsEPs, certFile, keyFile, tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if eps[0].TLS == tlsEPs[0].TLS || eps[0].TLS.GetClientCertificate == nil || eps[0].TokenFile != tokenFile {
		t.Errorf("TCP endpoint: %+v", eps[0])
	}
	if tlsEPs[0].TLS.GetClientCertificate != nil {
		t.Error("the caller's TLS config was changed")
	}
	if eps[1].TLS != nil || eps[1].TokenFile != "" {
		t.Errorf("the unix endpoint got credentials: %+v", eps[1])
	}
	c, err := eps[0].TLS.GetClientCertificate(&tls.CertificateRequestInfo{})
	if err != nil || c.Leaf == nil && len(c.Certificate) == 0 {
		t.Errorf("client certificate: %v", err)
	}

	// A rotated certificate is presented at the next handshake; one
	// mid-rotation (unreadable) leaves the last good one.
	next := ca.Client(t, "spiffe://example.org/mesh/m/virtualGateway/gw")
	next.WriteFiles(t, dir, "gw")
	c2, _ := eps[0].TLS.GetClientCertificate(&tls.CertificateRequestInfo{})
	if string(c2.Certificate[0]) != string(next.TLS.Certificate[0]) {
		t.Error("the rotated certificate is not used")
	}
	os.WriteFile(certFile, []byte("garbage"), 0o600)
	if c3, _ := eps[0].TLS.GetClientCertificate(&tls.CertificateRequestInfo{}); string(c3.Certificate[0]) != string(next.TLS.Certificate[0]) {
		t.Error("an unreadable certificate replaced the last good one")
	}
	next.WriteFiles(t, dir, "gw")

	if _, err := WithClientAuth(loopEPs, "", "", tokenFile); err != nil {
		t.Errorf("a token to loopback in the clear: %v", err)
	}
	for _, tc := range []struct {
		name                   string
		eps                    []Endpoint
		cert, key, token, want string
	}{
		{"a certificate without TLS", plainEPs, certFile, keyFile, "", "needs TLS"},
		{"a certificate without its key", tlsEPs, certFile, "", "", "go together"},
		{"a token in the clear off loopback", plainEPs, "", "", tokenFile, "over TLS"},
		{"a missing token file", tlsEPs, "", "", filepath.Join(dir, "nope"), "token file"},
		{"a missing certificate", tlsEPs, filepath.Join(dir, "nope.crt"), keyFile, "", "certificate"},
	} {
		if _, err := WithClientAuth(tc.eps, tc.cert, tc.key, tc.token); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	if _, err := WithClientAuth(tlsEPs, "", "", empty); err == nil {
		t.Error("an empty token file: accepted")
	}
}

// The token is read at each call, so a rotated token is sent from the next
// reconnect on.
func TestTokenCredentials(t *testing.T) {
	f := filepath.Join(t.TempDir(), "token")
	os.WriteFile(f, []byte("first-token-0123456789\n"), 0o600)
	c := tokenCreds{file: f, tls: true}
	md, err := c.GetRequestMetadata(context.Background())
	if err != nil || md["authorization"] != "Bearer first-token-0123456789" {
		t.Errorf("%v %v", md, err)
	}
	os.WriteFile(f, []byte("second-token-0123456789"), 0o600)
	if md, _ := c.GetRequestMetadata(context.Background()); md["authorization"] != "Bearer second-token-0123456789" {
		t.Errorf("after rotation: %v", md)
	}
	os.Remove(f)
	if _, err := c.GetRequestMetadata(context.Background()); err == nil {
		t.Error("a missing token file: no error")
	}
	if !c.RequireTransportSecurity() || (tokenCreds{file: f}).RequireTransportSecurity() {
		t.Error("RequireTransportSecurity")
	}
}
