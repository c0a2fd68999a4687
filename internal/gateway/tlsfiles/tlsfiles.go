// Package tlsfiles loads certificates, keys and trust bundles from files
// and loads them again when the files change, so a rotated certificate is
// used without a restart (Envoy re-reads file-based certificates through
// its file watcher; the gateway does the same by checking the files'
// modification times, at most once per CheckEvery).
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"
)

// CheckEvery bounds how often a file's modification time is looked at.
var CheckEvery = 2 * time.Second

// watched is a value built from files, rebuilt when any of them changes.
type watched[T any] struct {
	paths []string
	load  func() (T, error)

	mu      sync.Mutex
	value   T
	loaded  bool
	stamps  []time.Time
	checked time.Time
}

func (w *watched[T]) get() (T, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	if w.loaded && now.Sub(w.checked) < CheckEvery {
		return w.value, nil
	}
	w.checked = now
	stamps := make([]time.Time, len(w.paths))
	for i, p := range w.paths {
		fi, err := os.Stat(p)
		if err != nil {
			if w.loaded {
				return w.value, nil // keep serving what was loaded while a file is being replaced
			}
			return w.value, fmt.Errorf("tls file %s: %w", p, err)
		}
		stamps[i] = fi.ModTime()
	}
	if w.loaded && slices.Equal(stamps, w.stamps) {
		return w.value, nil
	}
	v, err := w.load()
	if err != nil {
		if w.loaded {
			return w.value, nil // a half-written rotation: keep the last good one
		}
		return v, err
	}
	w.value, w.loaded, w.stamps = v, true, stamps
	return v, nil
}

// KeyPair is a certificate chain and private key from PEM files.
type KeyPair struct{ w *watched[*tls.Certificate] }

// NewKeyPair returns a key pair read from the files when first used.
func NewKeyPair(certFile, keyFile string) *KeyPair {
	return &KeyPair{w: &watched[*tls.Certificate]{paths: []string{certFile, keyFile}, load: func() (*tls.Certificate, error) {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("loading key pair %s, %s: %w", certFile, keyFile, err)
		}
		return &c, nil
	}}}
}

// Certificate returns the current key pair.
func (k *KeyPair) Certificate() (*tls.Certificate, error) { return k.w.get() }

// Pool is a trust bundle: CA certificates from a PEM file.
type Pool struct{ w *watched[*x509.CertPool] }

// NewPool returns a trust bundle read from the file when first used.
func NewPool(file string) *Pool {
	return &Pool{w: &watched[*x509.CertPool]{paths: []string{file}, load: func() (*x509.CertPool, error) {
		pem, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		p := x509.NewCertPool()
		if !p.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("trust bundle %s holds no PEM certificate", file)
		}
		return p, nil
	}}}
}

// CertPool returns the current bundle.
func (p *Pool) CertPool() (*x509.CertPool, error) { return p.w.get() }

// ErrSANMismatch: the peer certificate names none of the expected SANs.
var ErrSANMismatch = errors.New("peer certificate has none of the expected subject alternative names")

// VerifyChain checks a peer's certificate chain against pool for the given
// usage and, when sans is not empty, that the leaf carries one of them as a
// DNS or URI SAN (exact match). It is for tls.Config.VerifyConnection,
// because matching a SAN list is not hostname verification.
func VerifyChain(certs []*x509.Certificate, pool *x509.CertPool, usage x509.ExtKeyUsage, sans []string) error {
	if len(certs) == 0 {
		return errors.New("peer presented no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		return fmt.Errorf("peer certificate: %w", err)
	}
	if len(sans) == 0 {
		return nil
	}
	leaf := certs[0]
	for _, want := range sans {
		if slices.Contains(leaf.DNSNames, want) {
			return nil
		}
		for _, u := range leaf.URIs {
			if u.String() == want {
				return nil
			}
		}
	}
	return ErrSANMismatch
}
