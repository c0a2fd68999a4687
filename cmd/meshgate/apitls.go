package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"

	"github.com/meshgate/meshgate/internal/gateway/tlsfiles"
)

// apiTLS serves the API over HTTPS with a certificate read from files and
// read again when they change, so a rotated certificate needs no restart.
func apiTLS(certFile, keyFile string) (*tls.Config, error) {
	kp := tlsfiles.Watch([]string{certFile, keyFile}, tlsfiles.CheckEvery, slog.Default().With("files", "API certificate"), tlsfiles.ParseKeyPair)
	if _, err := kp.Get(); err != nil {
		return nil, fmt.Errorf("--api-tls-cert/--api-tls-key: %w", err)
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return kp.Get() },
	}, nil
}
