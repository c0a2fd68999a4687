package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"

	"github.com/meshgate/meshgate/internal/gateway/tlsfiles"
	"github.com/meshgate/meshgate/internal/ir"
)

// serverTLS builds the TLS configuration of a listener. Certificates and
// trust bundles come from files and are re-read when the files change, so
// each handshake sees the current ones.
func serverTLS(t *ir.ListenerTLS, protocol ir.Protocol) (*tls.Config, error) {
	if t == nil || t.Mode == ir.TLSDisabled {
		return nil, nil
	}
	if t.Certificate.SDS != "" {
		return nil, fmt.Errorf("listener certificate from SDS secret %q: the Go gateway reads certificates from files only; use file certificates or Envoy", t.Certificate.SDS)
	}
	kp := tlsfiles.NewKeyPair(t.Certificate.CertificateChain, t.Certificate.PrivateKey)
	if _, err := kp.Certificate(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return kp.Certificate()
		},
		NextProtos: []string{"http/1.1"},
	}
	if protocol == ir.HTTP2 || protocol == ir.GRPC {
		cfg.NextProtos = []string{"h2", "http/1.1"}
	}
	if v := t.Validation; v != nil {
		if v.TrustSDS != "" {
			return nil, fmt.Errorf("client validation from SDS secret %q: the Go gateway reads trust bundles from files only", v.TrustSDS)
		}
		pool := tlsfiles.NewPool(v.TrustChain)
		if _, err := pool.CertPool(); err != nil {
			return nil, err
		}
		sans := v.SubjectAltNames
		// mTLS: a client certificate is required and checked against the
		// current bundle and the SAN list.
		cfg.ClientAuth = tls.RequireAnyClientCert
		cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			certs := make([]*x509.Certificate, 0, len(raw))
			for _, r := range raw {
				c, err := x509.ParseCertificate(r)
				if err != nil {
					return fmt.Errorf("client certificate: %w", err)
				}
				certs = append(certs, c)
			}
			p, err := pool.CertPool()
			if err != nil {
				return err
			}
			return tlsfiles.VerifyChain(certs, p, x509.ExtKeyUsageClientAuth, sans)
		}
	}
	return cfg, nil
}
