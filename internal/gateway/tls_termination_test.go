package gateway

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/testutil/certs"
	"github.com/meshgate/meshgate/internal/testutil/echo"
	"github.com/meshgate/meshgate/internal/testutil/wait"
)

const gwName = "gw.example" // the name the gateway's certificate carries

// tlsFixture is a CA and a gateway certificate written to files.
type tlsFixture struct {
	ca                *certs.CA
	leaf              *certs.Leaf
	caPath            string
	certPath, keyPath string
	dir               string
}

func newTLSFixture(t *testing.T) *tlsFixture {
	t.Helper()
	f := &tlsFixture{dir: t.TempDir(), ca: certs.NewCA(t, "gateway test CA")}
	f.leaf = f.ca.Server(t, gwName)
	f.caPath = f.ca.WriteFile(t, f.dir, "ca.pem")
	f.certPath, f.keyPath = f.leaf.WriteFiles(t, f.dir, "gateway")
	return f
}

func (f *tlsFixture) listenerTLS(mode ir.TLSMode) *ir.ListenerTLS {
	return &ir.ListenerTLS{Mode: mode, Certificate: ir.Certificate{CertificateChain: f.certPath, PrivateKey: f.keyPath}}
}

// tlsClient trusts the fixture's CA, presents leaf (may be nil) and
// speaks HTTP/2 (by ALPN) when h2, else HTTP/1.1.
func tlsClient(t *testing.T, ca *certs.CA, leaf *certs.Leaf, h2 bool) *http.Client {
	var p http.Protocols
	if h2 {
		p.SetHTTP2(true)
	} else {
		p.SetHTTP1(true)
	}
	tr := &http.Transport{TLSClientConfig: certs.ClientConfig(ca, gwName, leaf), Protocols: &p}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func httpsURL(port uint32, path string) string {
	return fmt.Sprintf("https://127.0.0.1:%d%s", port, path)
}

// tlsGateway serves one listener of proto with TLS t to an echo backend.
func tlsGateway(t *testing.T, proto ir.Protocol, lt *ir.ListenerTLS) (*ir.Gateway, *echo.Server) {
	t.Helper()
	be := startEcho(t, "backend")
	cfg := oneBackend(t, proto, be.Addr, nil)
	cfg.Listeners[0].TLS = lt
	startGateway(t, cfg)
	return cfg, be
}

// expectOK does a request that must reach the backend and returns the
// echo reply and the response protocol.
func expectOK(t *testing.T, c *http.Client, url string) (echo.Reply, string) {
	t.Helper()
	resp, body := get(t, c, url)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return echoReply(t, body), resp.Proto
}

// expectRefused does a request that must not reach the backend.
func expectRefused(t *testing.T, c *http.Client, be *echo.Server, url string) error {
	t.Helper()
	before := be.Requests.Load()
	resp, err := c.Get(url)
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatalf("GET %s succeeded (%s), want it refused", url, body)
		}
	}
	if be.Requests.Load() != before {
		t.Fatalf("GET %s reached the backend", url)
	}
	return err
}

func TestTLSStrict(t *testing.T) {
	f := newTLSFixture(t)
	cfg, be := tlsGateway(t, ir.HTTP, f.listenerTLS(ir.TLSStrict))
	port := cfg.Listeners[0].Port

	rep, proto := expectOK(t, tlsClient(t, f.ca, nil, false), httpsURL(port, "/strict"))
	if rep.Path != "/strict" || rep.Header.Get("X-Forwarded-Proto") != "https" || proto != "HTTP/1.1" {
		t.Errorf("upstream saw path %q, x-forwarded-proto %q; client spoke %s", rep.Path,
			rep.Header.Get("X-Forwarded-Proto"), proto)
	}
	expectRefused(t, h1Client(t), be, listenURL(cfg, 0, "/plaintext"))
}

func TestTLSPermissive(t *testing.T) {
	f := newTLSFixture(t)
	cfg, _ := tlsGateway(t, ir.HTTP2, f.listenerTLS(ir.TLSPermissive))
	port := cfg.Listeners[0].Port

	cases := []struct {
		name, url  string
		client     *http.Client
		proto, xfp string
	}{
		{"TLS with ALPN h2", httpsURL(port, "/p"), tlsClient(t, f.ca, nil, true), "HTTP/2.0", "https"},
		{"TLS with HTTP/1.1", httpsURL(port, "/p"), tlsClient(t, f.ca, nil, false), "HTTP/1.1", "https"},
		{"plaintext h2c", listenURL(cfg, 0, "/p"), h2cClient(t), "HTTP/2.0", "http"},
		{"plaintext HTTP/1.1", listenURL(cfg, 0, "/p"), h1Client(t), "HTTP/1.1", "http"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, proto := expectOK(t, c.client, c.url)
			if proto != c.proto {
				t.Errorf("client spoke %s, want %s", proto, c.proto)
			}
			if got := rep.Header.Get("X-Forwarded-Proto"); got != c.xfp {
				t.Errorf("x-forwarded-proto %q, want %q", got, c.xfp)
			}
		})
	}
}

func TestTLSDisabled(t *testing.T) {
	f := newTLSFixture(t)
	cfg, _ := tlsGateway(t, ir.HTTP, f.listenerTLS(ir.TLSDisabled))
	port := cfg.Listeners[0].Port

	rep, _ := expectOK(t, h1Client(t), listenURL(cfg, 0, "/plain"))
	if rep.Header.Get("X-Forwarded-Proto") != "http" {
		t.Errorf("x-forwarded-proto %q", rep.Header.Get("X-Forwarded-Proto"))
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", fmt.Sprintf("127.0.0.1:%d", port), certs.ClientConfig(f.ca, gwName, nil))
	if err == nil {
		c.Close()
		t.Fatal("TLS handshake with a DISABLED listener succeeded")
	}
}

// TestTLSCertificateRotation rewrites the listener's certificate files and
// expects new handshakes to get the new certificate without any Apply.
func TestTLSCertificateRotation(t *testing.T) {
	f := newTLSFixture(t)
	cfg, _ := tlsGateway(t, ir.HTTP, f.listenerTLS(ir.TLSStrict))
	addr := fmt.Sprintf("127.0.0.1:%d", cfg.Listeners[0].Port)

	served := func() string {
		d := &net.Dialer{Timeout: 5 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", addr, certs.ClientConfig(f.ca, gwName, nil))
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	if got, want := served(), f.leaf.Cert.SerialNumber.String(); got != want {
		t.Fatalf("serving serial %s, want %s", got, want)
	}

	rotated := f.ca.Server(t, gwName, "rotated.example")
	if err := rotated.WriteTo(f.certPath, f.keyPath); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	want := rotated.Cert.SerialNumber.String()
	// The files are checked every tlsfiles.CheckEvery (2 s).
	wait.For(t, 10*time.Second, "the rotated certificate", func() bool { return served() == want })
	t.Logf("rotated certificate served after %v", time.Since(start).Round(10*time.Millisecond))
	expectOK(t, tlsClient(t, f.ca, nil, false), httpsURL(cfg.Listeners[0].Port, "/after-rotation"))
}

// TestTLSMutual: a listener with client validation accepts only clients
// with a certificate from the trusted CA carrying an allowed SAN.
func TestTLSMutual(t *testing.T) {
	const allowed = "spiffe://mesh/client-ok"
	f := newTLSFixture(t)
	lt := f.listenerTLS(ir.TLSStrict)
	lt.Validation = &ir.Validation{TrustChain: f.caPath, SubjectAltNames: []string{allowed, "other-client.example"}}
	cfg, be := tlsGateway(t, ir.HTTP2, lt)
	port := cfg.Listeners[0].Port

	good := f.ca.Client(t, allowed)
	wrongSAN := f.ca.Client(t, "spiffe://mesh/client-bad")
	foreignCA := certs.NewCA(t, "someone else's CA")
	foreign := foreignCA.Client(t, allowed)

	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("h2=%v", h2), func(t *testing.T) {
			rep, _ := expectOK(t, tlsClient(t, f.ca, good, h2), httpsURL(port, "/mtls"))
			if rep.Path != "/mtls" {
				t.Errorf("upstream path %q", rep.Path)
			}
			if err := expectRefused(t, tlsClient(t, f.ca, nil, h2), be, httpsURL(port, "/no-cert")); err == nil {
				t.Error("no client certificate: the request got an HTTP answer, want the handshake to fail")
			}
			if err := expectRefused(t, tlsClient(t, f.ca, wrongSAN, h2), be, httpsURL(port, "/wrong-san")); err == nil {
				t.Error("SAN not allowed: the request got an HTTP answer")
			}
			if err := expectRefused(t, tlsClient(t, f.ca, foreign, h2), be, httpsURL(port, "/foreign")); err == nil {
				t.Error("untrusted CA: the request got an HTTP answer")
			}
		})
	}

	// Under TLS 1.2 the missing certificate fails the handshake itself.
	cc := certs.ClientConfig(f.ca, gwName, nil)
	cc.MaxVersion = tls.VersionTLS12
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", fmt.Sprintf("127.0.0.1:%d", port), cc)
	if err == nil {
		c.Close()
		t.Error("TLS 1.2 handshake without a client certificate succeeded")
	}
}
