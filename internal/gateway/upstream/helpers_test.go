package upstream

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/testutil/logbuf"
)

// fakeResolver answers from a table; fail makes every lookup fail.
type fakeResolver struct {
	mu       sync.Mutex
	answers  map[string][]netip.Addr
	err      error
	calls    atomic.Int64
	networks []string
}

func newFakeResolver() *fakeResolver {
	return &fakeResolver{answers: map[string][]netip.Addr{}}
}

func (r *fakeResolver) set(host string, addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = nil
	r.answers[host] = nil
	for _, a := range addrs {
		r.answers[host] = append(r.answers[host], netip.MustParseAddr(a))
	}
}

func (r *fakeResolver) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

func (r *fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	defer r.calls.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.networks = append(r.networks, network)
	if r.err != nil {
		return nil, r.err
	}
	a, ok := r.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return append([]netip.Addr(nil), a...), nil
}

// logBuffer collects log output for assertions.
type logBuffer struct{ logbuf.Buffer }

func (l *logBuffer) count(s string) int { return strings.Count(l.String(), s) }

// newTestManager returns a manager with fast timers and a fake resolver,
// closed when the test ends (its log is printed if the test failed).
func newTestManager(t *testing.T, r Resolver, mod func(*Options)) (*Manager, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	opts := Options{
		Resolver:       r,
		ReResolve:      50 * time.Millisecond,
		ResolveTimeout: time.Second,
		ConnectTimeout: time.Second,
		DrainTimeout:   2 * time.Second,
		FileRecheck:    10 * time.Millisecond,
		Logger:         slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&opts)
	}
	m := NewManager(opts)
	t.Cleanup(func() {
		m.Close()
		if t.Failed() {
			t.Logf("manager log:\n%s", logs)
		}
	})
	return m, logs
}

func mustCluster(t *testing.T, m *Manager, name string) *Cluster {
	t.Helper()
	c, ok := m.Cluster(name)
	if !ok {
		t.Fatalf("cluster %q missing", name)
	}
	return c
}

// listenSamePort listens on one port on each of ips (a cluster's
// endpoints share the discovery port).
func listenSamePort(t testing.TB, ips ...string) (uint16, []net.Listener) {
	t.Helper()
	for range 50 {
		first, err := net.Listen("tcp", net.JoinHostPort(ips[0], "0"))
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		port := first.Addr().(*net.TCPAddr).Port
		lns := []net.Listener{first}
		ok := true
		for _, ip := range ips[1:] {
			ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			lns = append(lns, ln)
		}
		if ok {
			for _, ln := range lns {
				t.Cleanup(func() { ln.Close() })
			}
			return uint16(port), lns
		}
		for _, ln := range lns {
			ln.Close()
		}
	}
	t.Fatalf("no common free port on %v", ips)
	return 0, nil
}

// serve runs an HTTP server on ln until the test ends.
func serve(t *testing.T, ln net.Listener, h http.Handler, configure func(*http.Server)) *http.Server {
	t.Helper()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	if configure != nil {
		configure(srv)
	}
	go func() {
		if srv.TLSConfig != nil {
			srv.ServeTLS(ln, "", "")
		} else {
			srv.Serve(ln)
		}
	}()
	t.Cleanup(func() { srv.Close() })
	return srv
}

// whoAmI answers with the local IP the request arrived on.
func whoAmI(status *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		la := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		host, _, _ := net.SplitHostPort(la.String())
		code := http.StatusOK
		if status != nil {
			if s := status.Load(); s != 0 {
				code = int(s)
			}
		}
		w.WriteHeader(code)
		io.WriteString(w, host)
	})
}

func httpCluster(name, host string, port uint16) ir.Cluster {
	return ir.Cluster{
		Name:      name,
		Port:      uint32(port),
		Protocol:  ir.HTTP,
		Discovery: ir.Discovery{Hostname: host, Port: uint32(port)},
	}
}

// get makes one attempt and returns the body (the answering IP for whoAmI).
func get(t *testing.T, c *Cluster, path string) (int, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://placeholder"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "svc.mesh.local"
	resp, err := c.RoundTrip(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func mustGet(t *testing.T, c *Cluster) string {
	t.Helper()
	code, body, err := get(t, c, "/")
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if code != http.StatusOK {
		t.Fatalf("status %d, body %q", code, body)
	}
	return body
}

// waitFor polls cond until it holds or fails the test after 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func endpointState(c *Cluster) string {
	var b strings.Builder
	for _, e := range c.Endpoints() {
		fmt.Fprintf(&b, "%s healthy=%v ejected=%v;", e.Address.Addr(), e.Healthy, e.Ejected)
	}
	return b.String()
}

func statusOf(t *testing.T, c *Cluster, ip string) EndpointStatus {
	t.Helper()
	for _, e := range c.Endpoints() {
		if e.Address.Addr().String() == ip {
			return e
		}
	}
	t.Fatalf("no endpoint %s in %s", ip, endpointState(c))
	return EndpointStatus{}
}

// recordingMetrics counts events.
type recordingMetrics struct {
	opened, closed, connectFail, dnsFail atomic.Int64
	mu                                   sync.Mutex
	health                               []string
	ejections                            []string
}

func (m *recordingMetrics) DNSResolution(_ string, _ int, err error) {
	if err != nil {
		m.dnsFail.Add(1)
	}
}
func (m *recordingMetrics) ConnectionOpened(string, netip.AddrPort) { m.opened.Add(1) }
func (m *recordingMetrics) ConnectionClosed(string, netip.AddrPort) { m.closed.Add(1) }
func (m *recordingMetrics) ConnectFailure(string, netip.AddrPort, error) {
	m.connectFail.Add(1)
}
func (m *recordingMetrics) HealthChanged(_ string, ep netip.AddrPort, healthy bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.health = append(m.health, fmt.Sprintf("%s=%v", ep.Addr(), healthy))
}
func (m *recordingMetrics) OutlierEjection(_ string, ep netip.AddrPort, ejected bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ejections = append(m.ejections, fmt.Sprintf("%s=%v", ep.Addr(), ejected))
}

// testCA is a certificate authority for TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

var serial atomic.Int64

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a leaf certificate and key as PEM, and as a tls.Certificate.
func (ca *testCA) issue(t *testing.T, cn string, dns []string, uris []string) (certPEM, keyPEM []byte, pair tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     dns,
	}
	for _, u := range uris {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	pair, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM, pair
}

// writeFile writes (or rewrites) a file and moves its mtime forward, so a
// rewrite within the file system's timestamp granularity is still seen.
func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Duration(serial.Add(1)) * time.Second)
	if err := os.Chtimes(path, future, future); err != nil {
		t.Fatal(err)
	}
}

func asConnectError(err error) (*ConnectError, bool) {
	var ce *ConnectError
	ok := errors.As(err, &ce)
	return ce, ok
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func itoa(p uint16) string { return strconv.Itoa(int(p)) }
