package configclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// Endpoint is one xDS server: host:port (optionally over TLS) or
// unix:///path, the forms of APPMESH_XDS_ENDPOINT.
type Endpoint struct {
	Target string
	TLS    *tls.Config // nil = plaintext
	// TokenFile, when set, holds a bearer token sent on each call as
	// `authorization: Bearer TOKEN`; it is read at each connection, so a
	// rotated token is picked up on the next reconnect.
	TokenFile string
}

// ParseEndpoints reads a comma-separated endpoint list. caFile, when set,
// makes host:port endpoints use TLS verified against it.
func ParseEndpoints(list, caFile string) ([]Endpoint, error) {
	var tlsCfg *tls.Config
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("xDS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("xDS CA file %s holds no PEM certificate", caFile)
		}
		tlsCfg = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	var out []Endpoint
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		ep := Endpoint{Target: e}
		if !strings.HasPrefix(e, "unix:") {
			if strings.Contains(e, "://") {
				return nil, fmt.Errorf("xDS endpoint %q: want host:port or unix:///path", e)
			}
			ep.TLS = tlsCfg
		}
		out = append(out, ep)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no xDS endpoint in %q", list)
	}
	return out, nil
}

func (e Endpoint) String() string { return e.Target }

func (e Endpoint) dial() (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if e.TLS != nil {
		creds = credentials.NewTLS(e.TLS)
	}
	target := e.Target
	switch {
	case strings.HasPrefix(target, "unix://"):
		// APPMESH_XDS_ENDPOINT writes unix:///abs/path; gRPC reads
		// "unix:PATH" for relative and absolute paths alike.
		target = "unix:" + strings.TrimPrefix(target, "unix://")
	case !strings.HasPrefix(target, "unix:"):
		target = "passthrough:///" + target
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(creds)}
	if e.TokenFile != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(tokenCreds{file: e.TokenFile, tls: e.TLS != nil}))
	}
	return grpc.NewClient(target, opts...)
}

// WithClientAuth makes the host:port endpoints present a client
// certificate (certFile and keyFile, PEM; the server's --xds-auth mtls)
// and/or a bearer token (tokenFile; --xds-auth token). A certificate needs
// TLS (a CA, see ParseEndpoints); a token is sent over TLS, or in the clear
// only to a loopback address. The files are read again at each connection,
// so rotated ones are used from the next reconnect on. unix:// endpoints
// are left alone: the socket is not authenticated.
func WithClientAuth(eps []Endpoint, certFile, keyFile, tokenFile string) ([]Endpoint, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("an xDS client certificate and its key go together")
	}
	var getCert func(*tls.CertificateRequestInfo) (*tls.Certificate, error)
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("xDS client certificate: %w", err)
		}
		getCert = reloadingCert(certFile, keyFile, &cert)
	}
	if tokenFile != "" {
		if _, err := readToken(tokenFile); err != nil {
			return nil, err
		}
	}
	out := make([]Endpoint, len(eps))
	tlsCopies := map[*tls.Config]*tls.Config{}
	for i, ep := range eps {
		out[i] = ep
		if strings.HasPrefix(ep.Target, "unix:") {
			continue
		}
		if getCert != nil {
			if ep.TLS == nil {
				return nil, fmt.Errorf("xDS endpoint %s: a client certificate needs TLS: give the server's CA (--xds-ca)", ep.Target)
			}
			c := tlsCopies[ep.TLS]
			if c == nil {
				c = ep.TLS.Clone()
				c.GetClientCertificate = getCert
				tlsCopies[ep.TLS] = c
			}
			out[i].TLS = c
		}
		if tokenFile != "" {
			if ep.TLS == nil && !loopback(ep.Target) {
				return nil, fmt.Errorf("xDS endpoint %s: a bearer token is sent over TLS (--xds-ca) or to a loopback address only", ep.Target)
			}
			out[i].TokenFile = tokenFile
		}
	}
	return out, nil
}

// reloadingCert reads the certificate again at each handshake, keeping the
// last good one when the files are mid-rotation or unreadable.
func reloadingCert(certFile, keyFile string, first *tls.Certificate) func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	var mu sync.Mutex
	last := first
	return func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		mu.Lock()
		defer mu.Unlock()
		if c, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil {
			last = &c
		}
		return last, nil
	}
}

func loopback(target string) bool {
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func readToken(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("xDS token file: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" || strings.ContainsAny(t, " \t\r\n") {
		return "", fmt.Errorf("xDS token file %s: want one token on one line", file)
	}
	return t, nil
}

// tokenCreds sends the bearer token of a file.
type tokenCreds struct {
	file string
	tls  bool
}

func (c tokenCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	t, err := readToken(c.file)
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + t}, nil
}

// RequireTransportSecurity is false for a plaintext endpoint, which
// WithClientAuth allows on loopback only.
func (c tokenCreds) RequireTransportSecurity() bool { return c.tls }
