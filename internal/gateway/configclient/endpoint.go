package configclient

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// Endpoint is one xDS server: host:port (optionally over TLS) or
// unix:///path, the forms of APPMESH_XDS_ENDPOINT.
type Endpoint struct {
	Target string
	TLS    *tls.Config // nil = plaintext
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
	return grpc.NewClient(target, grpc.WithTransportCredentials(creds))
}
