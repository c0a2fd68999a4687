package upstream

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/meshgate/meshgate/internal/gateway/tlsfiles"
	"github.com/meshgate/meshgate/internal/ir"
)

// tlsSource is a cluster's TLS origination: where its client certificate
// and trust bundle come from, and which SANs the upstream must carry.
type tlsSource struct {
	cert  func() (*tls.Certificate, error) // nil: none offered
	trust func() (*x509.CertPool, error)   // nil: the upstream is not verified
	sans  []string
}

// newTLSSource resolves ir.UpstreamTLS into loaders. SDS names need
// opts.SDS; without it the cluster cannot originate TLS as asked, and
// failing its requests is safer than silently sending them without the
// configured client certificate or validation.
func newTLSSource(name string, t *ir.UpstreamTLS, opts *Options) (*tlsSource, error) {
	s := &tlsSource{}
	log := opts.Logger.With("cluster", name)
	if c := t.Certificate; c != nil {
		switch {
		case c.SDS != "":
			if opts.SDS == nil {
				return nil, fmt.Errorf("client certificate from SDS secret %q: no SDS provider in this gateway", c.SDS)
			}
			sds, secret := opts.SDS, c.SDS
			s.cert = func() (*tls.Certificate, error) { return sds.Certificate(secret) }
		case c.CertificateChain != "" && c.PrivateKey != "":
			files := tlsfiles.Watch([]string{c.CertificateChain, c.PrivateKey}, opts.FileRecheck,
				log.With("files", "client certificate"), tlsfiles.ParseKeyPair)
			s.cert = files.Get
			files.Get() // load now, so a bad path is logged at Update
		default:
			return nil, errors.New("client certificate needs both a certificate chain and a private key file, or an SDS name")
		}
	}
	if v := t.Validation; v != nil {
		switch {
		case v.TrustSDS != "":
			if opts.SDS == nil {
				return nil, fmt.Errorf("trust bundle from SDS secret %q: no SDS provider in this gateway", v.TrustSDS)
			}
			sds, secret := opts.SDS, v.TrustSDS
			s.trust = func() (*x509.CertPool, error) { return sds.TrustBundle(secret) }
		case v.TrustChain != "":
			files := tlsfiles.Watch([]string{v.TrustChain}, opts.FileRecheck,
				log.With("files", "trust bundle"), tlsfiles.ParseBundle)
			s.trust = files.Get
			files.Get()
		default:
			return nil, errors.New("validation without a trust bundle (file or SDS)")
		}
		s.sans = slices.Clone(v.SubjectAltNames)
	}
	return s, nil
}

// config is the client TLS configuration for one ALPN list. Go's
// hostname verification is off on purpose: App Mesh checks the chain
// against its own bundle and the SANs by exact match (not the name dialed),
// and with no validation block the upstream is not checked at all.
func (s *tlsSource) config(sni string, alpn []string) *tls.Config {
	cfg := &tls.Config{
		ServerName:         sni,
		NextProtos:         alpn,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true,
	}
	if s.cert != nil {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c, err := s.cert()
			if err != nil {
				return nil, fmt.Errorf("client certificate: %w", err)
			}
			return c, nil
		}
	}
	if s.trust != nil {
		cfg.VerifyConnection = s.verify
	}
	return cfg
}

// verify checks the peer chain against the trust bundle and the leaf's
// SANs against the configured names. It runs on resumed sessions too.
func (s *tlsSource) verify(cs tls.ConnectionState) error {
	roots, err := s.trust()
	if err != nil {
		return fmt.Errorf("trust bundle: %w", err)
	}
	return tlsfiles.VerifyChain(cs.PeerCertificates, roots, s.sans)
}

// describeTLS is a short form for logs.
func describeTLS(t *ir.UpstreamTLS) string {
	if t == nil {
		return "plaintext"
	}
	var b strings.Builder
	b.WriteString("tls")
	if t.Validation != nil {
		b.WriteString("+validation")
	}
	if t.Certificate != nil {
		b.WriteString("+client-cert")
	}
	return b.String()
}
