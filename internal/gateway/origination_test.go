package gateway

import (
	"crypto/tls"
	"net/http"
	"sync"
	"testing"

	"github.com/meshgate/meshgate/internal/gateway/upstream"
	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/testutil/certs"
	"github.com/meshgate/meshgate/internal/testutil/echo"
)

const backendSAN = "backend.internal"

// sniRecorder notes the SNI of every handshake a TLS backend sees.
type sniRecorder struct {
	mu    sync.Mutex
	names []string
}

func (r *sniRecorder) wrap(cfg *tls.Config) *tls.Config {
	cfg.GetConfigForClient = func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
		r.mu.Lock()
		r.names = append(r.names, chi.ServerName)
		r.mu.Unlock()
		return nil, nil
	}
	return cfg
}

func (r *sniRecorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.names...)
}

// TestTLSOrigination: a cluster with TLS validation (trust = the test CA,
// SAN list) reaches a TLS backend whose certificate matches, over
// HTTP/1.1 or HTTP/2 by ALPN, sending the configured SNI and, when asked,
// a client certificate; a backend whose certificate has another SAN or
// another CA gets Envoy's 503 "connection failure".
func TestTLSOrigination(t *testing.T) {
	dir := t.TempDir()
	ca := certs.NewCA(t, "upstream CA")
	caPath := ca.WriteFile(t, dir, "ca.pem")
	clientCert, clientKey := ca.Client(t, "spiffe://mesh/gateway").WriteFiles(t, dir, "gateway-client")

	validation := func() *ir.UpstreamTLS {
		return &ir.UpstreamTLS{SNI: backendSAN, Validation: &ir.Validation{TrustChain: caPath,
			SubjectAltNames: []string{backendSAN}}}
	}
	type backend struct {
		srv *echo.Server
		sni *sniRecorder
	}
	start := func(t *testing.T, leaf *certs.Leaf, clientCA *certs.CA) backend {
		rec := &sniRecorder{}
		return backend{echo.Start(t, "secure", "127.0.0.1:0", rec.wrap(certs.ServerConfig(leaf, clientCA))), rec}
	}
	gatewayTo := func(t *testing.T, proto ir.Protocol, addr string, ut *ir.UpstreamTLS) *ir.Gateway {
		cfg := oneBackend(t, proto, addr, nil)
		cfg.Clusters[0].TLS = ut
		startGateway(t, cfg)
		return cfg
	}

	for _, tc := range []struct {
		proto     ir.Protocol
		wantProto string
	}{{ir.HTTP, "HTTP/1.1"}, {ir.HTTP2, "HTTP/2.0"}} {
		t.Run("valid "+string(tc.proto), func(t *testing.T) {
			be := start(t, ca.Server(t, backendSAN), nil)
			cfg := gatewayTo(t, tc.proto, be.srv.Addr, validation())
			resp, body := get(t, h1Client(t), listenURL(cfg, 0, "/secure?q=1"))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			rep := echoReply(t, body)
			if !rep.TLS || rep.Proto != tc.wantProto || rep.Path != "/secure?q=1" || rep.Host != testSvc {
				t.Errorf("upstream saw tls=%v proto %s path %q host %q", rep.TLS, rep.Proto, rep.Path, rep.Host)
			}
			if names := be.sni.all(); len(names) == 0 || names[0] != backendSAN {
				t.Errorf("SNI sent %v, want %s", names, backendSAN)
			}
		})
	}

	t.Run("client certificate", func(t *testing.T) {
		be := start(t, ca.Server(t, backendSAN), ca) // requires a client certificate from ca
		ut := validation()
		ut.Certificate = &ir.Certificate{CertificateChain: clientCert, PrivateKey: clientKey}
		cfg := gatewayTo(t, ir.HTTP, be.srv.Addr, ut)
		if resp, body := get(t, h1Client(t), listenURL(cfg, 0, "/mtls")); resp.StatusCode != http.StatusOK {
			t.Fatalf("with a client certificate: %d %s", resp.StatusCode, body)
		}

		be2 := start(t, ca.Server(t, backendSAN), ca)
		cfg2 := gatewayTo(t, ir.HTTP, be2.srv.Addr, validation()) // no client certificate
		if resp, body := get(t, h1Client(t), listenURL(cfg2, 0, "/mtls")); resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("without a client certificate: %d %s, want 503", resp.StatusCode, body)
		}
		if n := be2.srv.Requests.Load(); n != 0 {
			t.Errorf("backend requiring a client certificate served %d requests", n)
		}
	})

	for _, tc := range []struct {
		name string
		leaf func(t *testing.T) *certs.Leaf
	}{
		{"wrong SAN", func(t *testing.T) *certs.Leaf { return ca.Server(t, "impostor.internal") }},
		{"untrusted CA", func(t *testing.T) *certs.Leaf { return certs.NewCA(t, "rogue CA").Server(t, backendSAN) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := start(t, tc.leaf(t), nil)
			cfg := gatewayTo(t, ir.HTTP, be.srv.Addr, validation())
			resp, body := get(t, h1Client(t), listenURL(cfg, 0, "/secure"))
			if resp.StatusCode != http.StatusServiceUnavailable || body != upstream.BodyConnectionFailure {
				t.Fatalf("got %d %q, want 503 %q", resp.StatusCode, body, upstream.BodyConnectionFailure)
			}
			if n := be.srv.Requests.Load(); n != 0 {
				t.Errorf("the backend served %d requests over a connection that failed validation", n)
			}
		})
	}
}
