// Package tlsfiles loads certificates, keys and trust bundles from files
// and loads them again when the files change, so a rotated certificate is
// used without a restart (Envoy re-reads file-based certificates through
// its file watcher; the gateway does the same by checking the files'
// modification times and sizes), and verifies peers the way Envoy's
// validation context does: the chain against a bundle, the SANs by exact
// match.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
)

// ParseKeyPair parses [certificate chain PEM, private key PEM].
func ParseKeyPair(contents [][]byte) (*tls.Certificate, error) {
	c, err := tls.X509KeyPair(contents[0], contents[1])
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ParseBundle parses [trust bundle PEM].
func ParseBundle(contents [][]byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(contents[0]) {
		return nil, errors.New("no PEM certificate in the trust bundle")
	}
	return pool, nil
}

// VerifyChain checks a peer's certificate chain against roots and, when
// sans is not empty, that the leaf carries one of them (MatchSAN). Go's
// hostname verification is not used: App Mesh checks SANs by exact match
// against its list, not against the name dialed. Like Envoy, any extended
// key usage is accepted.
func VerifyChain(certs []*x509.Certificate, roots *x509.CertPool, sans []string) error {
	if len(certs) == 0 {
		return errors.New("peer presented no certificate")
	}
	leaf := certs[0]
	opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	for _, ic := range certs[1:] {
		opts.Intermediates.AddCert(ic)
	}
	if _, err := leaf.Verify(opts); err != nil {
		return fmt.Errorf("certificate verification: %w", err)
	}
	if len(sans) > 0 && !MatchSAN(leaf, sans) {
		return fmt.Errorf("certificate SANs %v match none of %v", LeafSANs(leaf), sans)
	}
	return nil
}

// MatchSAN is Envoy's exact SAN matcher: any DNS, URI, email or IP SAN of
// the leaf equal to any wanted name. No wildcard expansion: App Mesh
// rejects wildcard SAN matches.
func MatchSAN(leaf *x509.Certificate, want []string) bool {
	for _, got := range LeafSANs(leaf) {
		if slices.Contains(want, got) {
			return true
		}
	}
	return false
}

// LeafSANs lists a certificate's SANs as strings.
func LeafSANs(leaf *x509.Certificate) []string {
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
