package xds

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/meshgate/meshgate/internal/store/sqlite"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "meshgate test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "xds.crt"), filepath.Join(dir, "xds.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// The TCP listener speaks TLS when given a certificate, and accepts the
// SigV4 metadata the App Mesh Envoy image sends; the unix socket stays
// plaintext.
func TestTLSAndUnixSocket(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	h := newHarness(t, func(c *Config) { c.TLSCertFile, c.TLSKeyFile = certFile, keyFile })
	h.basic("m", "gw", 8080)

	t.Run("tls with sigv4 metadata", func(t *testing.T) {
		conn := dial(t, h.tcp, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})))
		// What Envoy's aws_iam call credentials add to each stream.
		ctx := metadata.AppendToOutgoingContext(context.Background(),
			"authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-west-2/appmesh/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123",
			"x-amz-date", "20260101T000000Z",
			"x-amz-security-token", "token")
		c := newADS(t, conn, arnPrefix+"mesh/m/virtualGateway/gw", ctx)
		c.start()
		c.until(5*time.Second, "the listener over TLS", func() bool { return c.hasListenerOn(8080) })
	})

	t.Run("plaintext client on the TLS port", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		stream, err := discovery.NewAggregatedDiscoveryServiceClient(dial(t, h.tcp)).StreamAggregatedResources(ctx)
		if err == nil {
			_, err = stream.Recv()
		}
		if status.Code(err) != codes.Unavailable {
			t.Errorf("a plaintext client got %v, want Unavailable", err)
		}
	})

	t.Run("unix socket", func(t *testing.T) {
		c := newADS(t, dial(t, "unix://"+h.sock), "mesh/m/virtualGateway/gw")
		c.start()
		c.until(5*time.Second, "the listener over the socket", func() bool { return c.hasListenerOn(8080) })
	})
}

// A half-configured TLS listener is an error, not a silent plaintext one.
func TestTLSConfigErrors(t *testing.T) {
	certFile, _, _ := selfSigned(t)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, cfg := range []Config{
		{TLSCertFile: certFile},
		{TLSCertFile: certFile, TLSKeyFile: filepath.Join(t.TempDir(), "missing.key")},
	} {
		cfg.Store, cfg.Region, cfg.AccountID, cfg.Envoy = st, testRegion, testAccount, (&stubEnvoy{}).translate
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}
