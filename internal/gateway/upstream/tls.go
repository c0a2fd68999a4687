package upstream

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"

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
			files := newFileSet([]string{c.CertificateChain, c.PrivateKey}, opts.FileRecheck,
				log.With("files", "client certificate"), parseKeyPair)
			s.cert = files.get
			files.get() // load now, so a bad path is logged at Update
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
			files := newFileSet([]string{v.TrustChain}, opts.FileRecheck,
				log.With("files", "trust bundle"), parseBundle)
			s.trust = files.get
			files.get()
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
	if len(cs.PeerCertificates) == 0 {
		return errors.New("upstream presented no certificate")
	}
	roots, err := s.trust()
	if err != nil {
		return fmt.Errorf("trust bundle: %w", err)
	}
	leaf := cs.PeerCertificates[0]
	opts := x509.VerifyOptions{
		Roots:         roots,
		Intermediates: x509.NewCertPool(),
		// Envoy does not require the serverAuth extended key usage.
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
	for _, ic := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(ic)
	}
	if _, err := leaf.Verify(opts); err != nil {
		return fmt.Errorf("certificate verification: %w", err)
	}
	if len(s.sans) > 0 && !matchSAN(leaf, s.sans) {
		return fmt.Errorf("certificate SANs %v match none of %v", leafSANs(leaf), s.sans)
	}
	return nil
}

// matchSAN is Envoy's exact SAN matcher: any DNS, URI, email or IP SAN of
// the leaf equal to any wanted name. No wildcard expansion: App Mesh
// rejects wildcard SAN matches.
func matchSAN(leaf *x509.Certificate, want []string) bool {
	for _, got := range leafSANs(leaf) {
		if slices.Contains(want, got) {
			return true
		}
	}
	return false
}

func leafSANs(leaf *x509.Certificate) []string {
	out := make([]string, 0, len(leaf.DNSNames)+len(leaf.URIs)+len(leaf.EmailAddresses)+len(leaf.IPAddresses))
	out = append(out, leaf.DNSNames...)
	for _, u := range leaf.URIs {
		out = append(out, u.String())
	}
	out = append(out, leaf.EmailAddresses...)
	for _, ip := range leaf.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}

func parseKeyPair(contents [][]byte) (*tls.Certificate, error) {
	c, err := tls.X509KeyPair(contents[0], contents[1])
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func parseBundle(contents [][]byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(contents[0]) {
		return nil, errors.New("no PEM certificate in the trust bundle")
	}
	return pool, nil
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
