package xds

import (
	"crypto/tls"
	"errors"
	"fmt"

	"google.golang.org/grpc/credentials"
)

// serverTLS loads the xDS listener's certificate. Go's defaults are kept
// (TLS 1.2+, ECDHE suites only); gRPC adds the h2 ALPN Envoy expects. With
// a client CA, client certificates are verified against it: required at
// the handshake when require is set (mtls), else verified when given.
func serverTLS(certFile, keyFile, clientCAFile string, require bool) (credentials.TransportCredentials, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("xds TLS: both a certificate and a key are required")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("xds TLS: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCAFile != "" {
		if cfg.ClientCAs, err = loadCAPool(clientCAFile); err != nil {
			return nil, err
		}
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if require {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return credentials.NewTLS(cfg), nil
}
