package upstream

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/meshgate/meshgate/internal/ir"
)

// tlsBackend is an HTTPS server on 127.0.0.2 that records the SNI and the
// client certificate of every handshake. Keep-alives are off so every
// request is a new handshake.
type tlsBackend struct {
	port uint16
	mu   sync.Mutex
	sni  []string
	cns  []string
}

func newTLSBackend(t *testing.T, cert tls.Certificate, clientCAs *x509.CertPool, nextProtos []string) *tlsBackend {
	t.Helper()
	b := &tlsBackend{}
	port, lns := listenSamePort(t, "127.0.0.2")
	b.port = port
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   nextProtos,
		GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
			b.mu.Lock()
			b.sni = append(b.sni, hi.ServerName)
			b.mu.Unlock()
			return nil, nil
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) > 0 {
				b.mu.Lock()
				b.cns = append(b.cns, cs.PeerCertificates[0].Subject.CommonName)
				b.mu.Unlock()
			}
			return nil
		},
	}
	if clientCAs != nil {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = clientCAs
	}
	serve(t, lns[0], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Proto))
	}), func(s *http.Server) {
		s.TLSConfig = cfg
		s.SetKeepAlivesEnabled(false)
	})
	return b
}

func (b *tlsBackend) lastCN() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.cns) == 0 {
		return ""
	}
	return b.cns[len(b.cns)-1]
}

func tlsCluster(port uint16, t *ir.UpstreamTLS) ir.Cluster {
	c := httpCluster("c", "127.0.0.2", port)
	c.TLS = t
	return c
}

func TestTLSValidationAndSANs(t *testing.T) {
	ca := newTestCA(t, "mesh CA")
	other := newTestCA(t, "other CA")
	_, _, serverCert := ca.issue(t, "backend", []string{"backend.mesh.local"}, []string{"spiffe://mesh/backend"})
	backend := newTLSBackend(t, serverCert, nil, nil)
	dir := t.TempDir()
	caFile, otherFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "other.pem")
	writeFile(t, caFile, ca.pem)
	writeFile(t, otherFile, other.pem)

	for _, tc := range []struct {
		name  string
		tls   *ir.UpstreamTLS
		ok    bool
		inErr string
	}{
		{"DNS SAN", &ir.UpstreamTLS{SNI: "backend.mesh.local", Validation: &ir.Validation{TrustChain: caFile, SubjectAltNames: []string{"backend.mesh.local"}}}, true, ""},
		{"URI SAN among others", &ir.UpstreamTLS{Validation: &ir.Validation{TrustChain: caFile, SubjectAltNames: []string{"nope", "spiffe://mesh/backend"}}}, true, ""},
		{"chain only", &ir.UpstreamTLS{Validation: &ir.Validation{TrustChain: caFile}}, true, ""},
		{"no validation", &ir.UpstreamTLS{SNI: "whatever"}, true, ""},
		{"wrong SAN", &ir.UpstreamTLS{Validation: &ir.Validation{TrustChain: caFile, SubjectAltNames: []string{"other.mesh.local"}}}, false, "match none"},
		{"a wanted wildcard matches only literally", &ir.UpstreamTLS{Validation: &ir.Validation{TrustChain: caFile, SubjectAltNames: []string{"*.mesh.local"}}}, false, "match none"},
		{"untrusted CA", &ir.UpstreamTLS{Validation: &ir.Validation{TrustChain: otherFile, SubjectAltNames: []string{"backend.mesh.local"}}}, false, "certificate verification"},
		{"missing trust file", &ir.UpstreamTLS{Validation: &ir.Validation{TrustChain: filepath.Join(dir, "absent.pem")}}, false, "trust bundle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newTestManager(t, newFakeResolver(), nil)
			m.Update([]ir.Cluster{tlsCluster(backend.port, tc.tls)})
			c := mustCluster(t, m, "c")
			code, body, err := get(t, c, "/")
			if tc.ok {
				if err != nil || code != 200 || body != "HTTP/1.1" {
					t.Fatalf("got %d %q %v", code, body, err)
				}
				return
			}
			ce, ok := asConnectError(err)
			if !ok || !ce.TLS || !errors.Is(err, ErrConnectionFailure) || !strings.Contains(err.Error(), tc.inErr) {
				t.Fatalf("err = %v, want a TLS connect error containing %q", err, tc.inErr)
			}
			if status, body, ok := LocalReply(err); !ok || status != 503 || body != BodyConnectionFailure {
				t.Fatalf("LocalReply = %d %q", status, body)
			}
		})
	}
	backend.mu.Lock()
	defer backend.mu.Unlock()
	if backend.sni[0] != "backend.mesh.local" {
		t.Fatalf("SNI sent = %q", backend.sni[0])
	}
}

func TestMutualTLSClientCertificateRotation(t *testing.T) {
	ca := newTestCA(t, "mesh CA")
	_, _, serverCert := ca.issue(t, "backend", []string{"backend.mesh.local"}, nil)
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(ca.cert)
	backend := newTLSBackend(t, serverCert, clientCAs, nil)

	dir := t.TempDir()
	certFile, keyFile, caFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "ca.pem")
	writeFile(t, caFile, ca.pem)
	c1, k1, _ := ca.issue(t, "client-1", nil, nil)
	writeFile(t, certFile, c1)
	writeFile(t, keyFile, k1)

	m, _ := newTestManager(t, newFakeResolver(), nil)
	m.Update([]ir.Cluster{tlsCluster(backend.port, &ir.UpstreamTLS{
		Certificate: &ir.Certificate{CertificateChain: certFile, PrivateKey: keyFile},
		Validation:  &ir.Validation{TrustChain: caFile, SubjectAltNames: []string{"backend.mesh.local"}},
	})})
	c := mustCluster(t, m, "c")
	mustGet(t, c)
	if cn := backend.lastCN(); cn != "client-1" {
		t.Fatalf("client certificate = %q, want client-1", cn)
	}

	c2, k2, _ := ca.issue(t, "client-2", nil, nil)
	writeFile(t, certFile, c2)
	writeFile(t, keyFile, k2)
	waitFor(t, "the rotated certificate", func() bool {
		mustGet(t, c)
		return backend.lastCN() == "client-2"
	})

	// A broken rotation (a key that does not match) keeps the last good pair.
	_, k3, _ := ca.issue(t, "client-3", nil, nil)
	writeFile(t, keyFile, k3)
	for range 5 {
		mustGet(t, c)
	}
	if cn := backend.lastCN(); cn != "client-2" {
		t.Fatalf("after a broken rotation the client presented %q", cn)
	}
}

func TestTLSMaterialAppearsLater(t *testing.T) {
	ca := newTestCA(t, "mesh CA")
	_, _, serverCert := ca.issue(t, "backend", []string{"backend.mesh.local"}, nil)
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(ca.cert)
	backend := newTLSBackend(t, serverCert, clientCAs, nil)
	dir := t.TempDir()
	certFile, keyFile, caFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "ca.pem")

	m, logs := newTestManager(t, newFakeResolver(), nil)
	m.Update([]ir.Cluster{tlsCluster(backend.port, &ir.UpstreamTLS{
		Certificate: &ir.Certificate{CertificateChain: certFile, PrivateKey: keyFile},
		Validation:  &ir.Validation{TrustChain: caFile},
	})})
	c := mustCluster(t, m, "c")
	if _, _, err := get(t, c, "/"); !errors.Is(err, ErrConnectionFailure) {
		t.Fatalf("without files: err = %v", err)
	}
	if logs.count("loading TLS files failed") == 0 {
		t.Fatalf("missing files not logged")
	}
	c1, k1, _ := ca.issue(t, "client-1", nil, nil)
	writeFile(t, certFile, c1)
	writeFile(t, keyFile, k1)
	writeFile(t, caFile, ca.pem)
	waitFor(t, "files to be picked up", func() bool {
		_, _, err := get(t, c, "/")
		return err == nil
	})
}

type fakeSDS struct {
	cert tls.Certificate
	pool *x509.CertPool
}

func (f *fakeSDS) Certificate(name string) (*tls.Certificate, error) {
	if name != "client" {
		return nil, errors.New("unknown secret")
	}
	return &f.cert, nil
}

func (f *fakeSDS) TrustBundle(name string) (*x509.CertPool, error) {
	if name != "ca" {
		return nil, errors.New("unknown secret")
	}
	return f.pool, nil
}

func TestSDSNames(t *testing.T) {
	ca := newTestCA(t, "mesh CA")
	_, _, serverCert := ca.issue(t, "backend", []string{"backend.mesh.local"}, nil)
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	backend := newTLSBackend(t, serverCert, pool, nil)
	cfg := tlsCluster(backend.port, &ir.UpstreamTLS{
		Certificate: &ir.Certificate{SDS: "client"},
		Validation:  &ir.Validation{TrustSDS: "ca", SubjectAltNames: []string{"backend.mesh.local"}},
	})

	t.Run("no provider: configuration error", func(t *testing.T) {
		m, logs := newTestManager(t, newFakeResolver(), nil)
		m.Update([]ir.Cluster{cfg})
		c := mustCluster(t, m, "c")
		_, _, err := get(t, c, "/")
		var ce *ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, ErrConnectionFailure) || !strings.Contains(err.Error(), "SDS") {
			t.Fatalf("err = %v, want a *ConfigError about SDS", err)
		}
		if c.Err() == nil || logs.count("cluster misconfigured") != 1 {
			t.Fatalf("Err = %v; logged %d times", c.Err(), logs.count("cluster misconfigured"))
		}
	})
	t.Run("provider", func(t *testing.T) {
		_, _, clientCert := ca.issue(t, "client-sds", nil, nil)
		m, _ := newTestManager(t, newFakeResolver(), func(o *Options) { o.SDS = &fakeSDS{cert: clientCert, pool: pool} })
		m.Update([]ir.Cluster{cfg})
		c := mustCluster(t, m, "c")
		mustGet(t, c)
		if backend.lastCN() != "client-sds" {
			t.Fatalf("client certificate %q", backend.lastCN())
		}
	})
}

func TestTLSConfigErrors(t *testing.T) {
	for _, tlsCfg := range []*ir.UpstreamTLS{
		{Certificate: &ir.Certificate{CertificateChain: "/x"}},
		{Certificate: &ir.Certificate{}},
		{Validation: &ir.Validation{SubjectAltNames: []string{"a"}}},
	} {
		m, _ := newTestManager(t, newFakeResolver(), nil)
		m.Update([]ir.Cluster{tlsCluster(8443, tlsCfg)})
		c := mustCluster(t, m, "c")
		var ce *ConfigError
		if _, _, err := get(t, c, "/"); !errors.As(err, &ce) {
			t.Errorf("%+v: err = %v", tlsCfg, err)
		}
		m.Close()
	}
}

func TestHTTP2OverTLSUsesALPN(t *testing.T) {
	ca := newTestCA(t, "mesh CA")
	_, _, serverCert := ca.issue(t, "backend", []string{"backend.mesh.local"}, nil)
	backend := newTLSBackend(t, serverCert, nil, []string{"h2", "http/1.1"})
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	writeFile(t, caFile, ca.pem)
	cfg := tlsCluster(backend.port, &ir.UpstreamTLS{Validation: &ir.Validation{TrustChain: caFile, SubjectAltNames: []string{"backend.mesh.local"}}})
	cfg.Protocol = ir.HTTP2
	m, _ := newTestManager(t, newFakeResolver(), nil)
	m.Update([]ir.Cluster{cfg})
	if proto := mustGet(t, mustCluster(t, m, "c")); proto != "HTTP/2.0" {
		t.Fatalf("proto = %q, want HTTP/2.0", proto)
	}
}
