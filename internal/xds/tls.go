package xds

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/credentials"

	"github.com/meshgate/meshgate/internal/gateway/tlsfiles"
)

// serverTLS loads the xDS listener's certificate. Go's defaults are kept
// (TLS 1.2+, ECDHE suites only); gRPC adds the h2 ALPN Envoy expects. With
// a client CA (ca, the authn's watcher, so the handshakes and the check of
// open streams agree on the version in force), client certificates are
// verified against it: required at the handshake when require is set
// (mtls), else verified when given. Each handshake verifies against the
// version in force, so a rotated bundle needs no restart.
func serverTLS(certFile, keyFile string, ca *tlsfiles.Files[*x509.CertPool], require bool) (credentials.TransportCredentials, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("xds TLS: both a certificate and a key are required")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("xds TLS: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if ca != nil {
		pool, err := ca.Get()
		if err != nil {
			return nil, fmt.Errorf("xds client CA: %w", err)
		}
		cfg.ClientCAs = pool
		// A resumed session skips the certificate check, and would keep
		// a client of a CA since removed from the bundle: every handshake
		// is a full one (proxies reconnect rarely).
		cfg.SessionTicketsDisabled = true
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if require {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
		base := cfg.Clone()
		type perPool struct {
			pool *x509.CertPool
			cfg  *tls.Config
		}
		var last atomic.Pointer[perPool]
		// gRPC applies its defaults (h2) to the configuration returned.
		cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
			pool, err := ca.Get() // the last good version; an error only if none ever loaded
			if err != nil {
				return nil, err
			}
			if p := last.Load(); p != nil && p.pool == pool {
				return p.cfg, nil
			}
			c := base.Clone()
			c.ClientCAs = pool
			last.Store(&perPool{pool: pool, cfg: c})
			return c, nil
		}
	}
	return credentials.NewTLS(cfg), nil
}

// watchClientCA returns the watcher of a client CA bundle: read on first
// use, read again when the file's modification time or size changes
// (looked at no more than once per every, DefaultRecheck when 0). A new
// version that does not parse keeps the last good one and is logged.
func watchClientCA(file string, every time.Duration, log *slog.Logger) *tlsfiles.Files[*x509.CertPool] {
	if every <= 0 {
		every = DefaultRecheck
	}
	if log == nil {
		log = slog.Default()
	}
	return tlsfiles.Watch([]string{file}, every, log.With("files", "xDS client CA", "file", file), parseClientCA)
}

// parseClientCA parses [PEM bundle]. Every certificate in it must parse,
// and a block cut short (a file caught half written) fails the whole
// bundle, so that a rotation in progress keeps the last good version
// rather than a part of the new one.
func parseClientCA(contents [][]byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	rest, n := contents[0], 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if bytes.Contains(rest, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("a PEM block is cut short (after %d good certificates)", n)
	}
	if n == 0 {
		return nil, errors.New("holds no PEM certificate")
	}
	return pool, nil
}

// verifyClientChain checks a client's certificate chain (leaf first, as
// presented) against roots at now, as the TLS handshake did: the leaf must
// chain to roots and allow client authentication.
func verifyClientChain(chain []*x509.Certificate, roots *x509.CertPool, now time.Time) error {
	if len(chain) == 0 {
		return errors.New("no certificate")
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool(), CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := chain[0].Verify(opts)
	return err
}
