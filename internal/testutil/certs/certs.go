// Package certs makes throw-away X.509 material for tests: a CA, and
// server and client leaf certificates signed by it with the DNS, URI and
// IP subject alternative names a test asks for (ECDSA P-256). It writes
// PEM files for configurations that name files (listener and cluster TLS)
// and builds *tls.Config values for the test's own clients and servers.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// CA is a self-signed certificate authority.
type CA struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
}

// Leaf is a certificate signed by a CA, with its key.
type Leaf struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte // the leaf only (the CA is the trust anchor)
	KeyPEM  []byte
	TLS     tls.Certificate
}

// Usage says what a leaf is for.
type Usage int

const (
	ServerAuth Usage = 1 << iota
	ClientAuth
)

// NewCA creates a CA named cn, valid from an hour ago for a day.
func NewCA(t testing.TB, cn string) *CA {
	t.Helper()
	ca, err := MakeCA(cn)
	if err != nil {
		t.Fatalf("certs: CA %s: %v", cn, err)
	}
	return ca
}

// MakeCA is NewCA without a testing.TB.
func MakeCA(cn string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"meshgate tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, CertPEM: pemBlock("CERTIFICATE", der)}, nil
}

// Server issues a server certificate (usable for client auth too) with
// the given SANs; see Issue for how SANs are read.
func (ca *CA) Server(t testing.TB, sans ...string) *Leaf {
	t.Helper()
	return ca.mustIssue(t, ServerAuth|ClientAuth, sans)
}

// Client issues a client certificate with the given SANs.
func (ca *CA) Client(t testing.TB, sans ...string) *Leaf {
	t.Helper()
	return ca.mustIssue(t, ClientAuth, sans)
}

func (ca *CA) mustIssue(t testing.TB, u Usage, sans []string) *Leaf {
	t.Helper()
	l, err := ca.Issue(u, sans...)
	if err != nil {
		t.Fatalf("certs: issuing %v: %v", sans, err)
	}
	return l
}

// Issue signs a leaf for usage u. Each SAN is a URI when it has a scheme
// ("spiffe://mesh/node"), an IP address when it parses as one, and a DNS
// name otherwise. The first SAN is also the subject's common name.
func (ca *CA) Issue(u Usage, sans ...string) (*Leaf, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if len(sans) > 0 {
		tmpl.Subject.CommonName = sans[0]
	}
	if u&ServerAuth != 0 {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if u&ClientAuth != 0 {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	for _, s := range sans {
		switch {
		case strings.Contains(s, "://"):
			uri, err := url.Parse(s)
			if err != nil {
				return nil, fmt.Errorf("URI SAN %q: %w", s, err)
			}
			tmpl.URIs = append(tmpl.URIs, uri)
		case net.ParseIP(s) != nil:
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(s))
		default:
			tmpl.DNSNames = append(tmpl.DNSNames, s)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	l := &Leaf{Cert: cert, Key: key, CertPEM: pemBlock("CERTIFICATE", der), KeyPEM: pemBlock("PRIVATE KEY", kder)}
	l.TLS = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}
	return l, nil
}

// Pool is a cert pool holding only the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// WriteFile writes the CA certificate as PEM to dir/name and returns the path.
func (ca *CA) WriteFile(t testing.TB, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := WriteFileAtomic(p, ca.CertPEM); err != nil {
		t.Fatal(err)
	}
	return p
}

// WriteFiles writes the leaf's certificate and key as PEM to
// dir/name.crt and dir/name.key (each replaced atomically) and returns
// the paths.
func (l *Leaf) WriteFiles(t testing.TB, dir, name string) (certPath, keyPath string) {
	t.Helper()
	certPath, keyPath = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := l.WriteTo(certPath, keyPath); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

// WriteTo writes the certificate and key to the given paths, each
// replaced atomically (a rename), as a certificate rotation would. The
// key is written first so a reader never sees a new certificate next to
// an old key for long.
func (l *Leaf) WriteTo(certPath, keyPath string) error {
	if err := WriteFileAtomic(keyPath, l.KeyPEM); err != nil {
		return err
	}
	return WriteFileAtomic(certPath, l.CertPEM)
}

// WriteFileAtomic replaces path with data through a temporary file and a
// rename, so readers see the old or the new contents, never a mix.
func WriteFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Chmod(f.Name(), 0o600); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}

// ServerConfig is a TLS server configuration presenting leaf. With
// clientCA set, a client certificate signed by it is required.
func ServerConfig(leaf *Leaf, clientCA *CA) *tls.Config {
	cfg := &tls.Config{
		Certificates: []tls.Certificate{leaf.TLS},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if clientCA != nil {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = clientCA.Pool()
	}
	return cfg
}

// ClientConfig is a TLS client configuration trusting ca, verifying the
// server as serverName (its certificate must carry that name as a DNS or
// IP SAN), presenting leaf when it is not nil. Session resumption is off,
// so every connection runs a full handshake and sees the server's current
// certificate.
func ClientConfig(ca *CA, serverName string, leaf *Leaf) *tls.Config {
	cfg := &tls.Config{
		RootCAs:                ca.Pool(),
		ServerName:             serverName,
		MinVersion:             tls.VersionTLS12,
		SessionTicketsDisabled: true,
	}
	if leaf != nil {
		cfg.Certificates = []tls.Certificate{leaf.TLS}
	}
	return cfg
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err)
	}
	return n.Add(n, big.NewInt(1))
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
