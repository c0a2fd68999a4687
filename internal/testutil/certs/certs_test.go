package certs

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

func TestIssueAndHandshake(t *testing.T) {
	ca := NewCA(t, "test CA")
	srv := ca.Server(t, "backend.local", "127.0.0.1", "spiffe://mesh/backend")
	cli := ca.Client(t, "spiffe://mesh/client")
	if got := srv.Cert.DNSNames; len(got) != 1 || got[0] != "backend.local" {
		t.Errorf("DNS SANs %v", got)
	}
	if len(srv.Cert.IPAddresses) != 1 || len(srv.Cert.URIs) != 1 || srv.Cert.URIs[0].String() != "spiffe://mesh/backend" {
		t.Errorf("IP SANs %v, URI SANs %v", srv.Cert.IPAddresses, srv.Cert.URIs)
	}
	if _, err := srv.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "backend.local"}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	caPath := ca.WriteFile(t, dir, "ca.pem")
	certPath, keyPath := srv.WriteFiles(t, dir, "server")
	for _, p := range []string{caPath, certPath, keyPath} {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Fatalf("%s: %v", p, err)
		}
	}
	certPEM, _ := os.ReadFile(certPath)
	keyPEM, _ := os.ReadFile(keyPath)
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatalf("written key pair: %v", err)
	}

	// mTLS handshake between the two configurations.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", ServerConfig(srv, ca))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), ClientConfig(ca, "backend.local", cli))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo %q, %v", buf, err)
	}
}
