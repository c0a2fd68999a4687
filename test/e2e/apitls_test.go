package e2e

import (
	"crypto/tls"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/testutil/certs"
)

// TestAPIOverTLS: with --api-tls-cert/--api-tls-key the API is HTTPS: the
// aws CLI works against it with the CA bundle, plaintext HTTP does not, and
// TLS 1.0/1.1 are refused (reference S18).
func TestAPIOverTLS(t *testing.T) {
	dir := t.TempDir()
	ca := certs.NewCA(t, "meshgate test CA")
	certFile, keyFile := ca.Server(t, "127.0.0.1", "localhost").WriteFiles(t, dir, "api")
	caFile := ca.WriteFile(t, dir, "ca")
	srv := startServer(t, dir, "--api-tls-cert", certFile, "--api-tls-key", keyFile)
	if !strings.HasPrefix(srv.endpoint, "https://") {
		t.Fatalf("the server reports %s, want an https endpoint", srv.endpoint)
	}

	os.Setenv("AWS_CA_BUNDLE", caFile)
	defer os.Unsetenv("AWS_CA_BUNDLE")
	mesh := cliOK(t, srv.endpoint, "create-mesh", "--mesh-name", "tls")
	expect(t, mesh, "tls", "mesh", "meshName")

	plain := &http.Client{Timeout: 5 * time.Second}
	if resp, err := plain.Get(strings.Replace(srv.endpoint, "https://", "http://", 1) + "/v20190125/meshes"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plaintext HTTP was served by a TLS API listener")
		}
	}
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: ca.Pool(), MinVersion: v, MaxVersion: v}}}
		if resp, err := c.Get(srv.endpoint + "/v20190125/meshes"); err == nil {
			resp.Body.Close()
			t.Errorf("TLS version %x was accepted", v)
		}
	}
	ok := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	resp, err := ok.Get(srv.endpoint + "/v20190125/meshes")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("HTTPS: %d, TLS %v", resp.StatusCode, resp.TLS)
	}
}
