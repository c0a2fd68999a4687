package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"

	"github.com/meshgate/meshgate/internal/gateway/tlsfiles"
	"github.com/meshgate/meshgate/internal/ir"
)

// serverTLS builds the TLS configuration of a listener. Certificates and
// trust bundles come from files and are re-read when the files change, so
// each handshake sees the current ones.
func serverTLS(t *ir.ListenerTLS, protocol ir.Protocol, port uint32, log *slog.Logger) (*tls.Config, error) {
	if t == nil || t.Mode == ir.TLSDisabled {
		return nil, nil
	}
	if t.Certificate.SDS != "" {
		return nil, fmt.Errorf("listener certificate from SDS secret %q: the Go gateway reads certificates from files only; use file certificates or Envoy", t.Certificate.SDS)
	}
	kp := tlsfiles.Watch([]string{t.Certificate.CertificateChain, t.Certificate.PrivateKey}, tlsfiles.CheckEvery,
		log.With("listener", port, "files", "certificate"), tlsfiles.ParseKeyPair)
	if _, err := kp.Get(); err != nil {
		return nil, fmt.Errorf("listener certificate: %w", err)
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return kp.Get()
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
		pool := tlsfiles.Watch([]string{v.TrustChain}, tlsfiles.CheckEvery,
			log.With("listener", port, "files", "client trust bundle"), tlsfiles.ParseBundle)
		if _, err := pool.Get(); err != nil {
			return nil, fmt.Errorf("listener client trust bundle: %w", err)
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
			p, err := pool.Get()
			if err != nil {
				return err
			}
			return tlsfiles.VerifyChain(certs, p, sans)
		}
	}
	return cfg, nil
}
