package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/meshgate/meshgate/internal/testutil/certs"
	"github.com/meshgate/meshgate/internal/testutil/xdstest"
	"github.com/meshgate/meshgate/internal/xds"
)

const bootstrapTestToken = "gateway-gw-token-0123456789"

// envoyBootstrapOut runs the command and returns what it printed and noted.
func envoyBootstrapOut(t *testing.T, args ...string) (out, notes string, err error) {
	t.Helper()
	var o, n bytes.Buffer
	err = envoyBootstrap(args, &o, &n)
	return o.String(), n.String(), err
}

func parseBootstrap(t *testing.T, b []byte) *bootstrapv3.Bootstrap {
	t.Helper()
	bs := &bootstrapv3.Bootstrap{}
	if err := protojson.Unmarshal(b, bs); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if err := bs.ValidateAll(); err != nil {
		t.Fatal(err)
	}
	return bs
}

// The credential flags and their environment variables, the files the
// command writes and their modes, and what it refuses.
func TestEnvoyBootstrapCredentialFlags(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(bootstrapTestToken+"\n"), 0o600)
	base := []string{"--resource", "mesh/m/virtualGateway/gw", "--xds", "xds.internal:7071", "--xds-tls", "--xds-ca", "/etc/meshgate/ca.pem"}

	// A token on standard output: printed, with a note on the side.
	out, notes, err := envoyBootstrapOut(t, append(base, "--xds-token-file", tokenFile)...)
	if err != nil {
		t.Fatal(err)
	}
	if md := parseBootstrap(t, []byte(out)).GetDynamicResources().GetAdsConfig().GetGrpcServices()[0].GetInitialMetadata(); len(md) != 1 ||
		md[0].GetKey() != "authorization" || md[0].GetValue() != "Bearer "+bootstrapTestToken {
		t.Errorf("initial metadata %v", md)
	}
	if !strings.Contains(notes, "chmod 600") || strings.Contains(notes, bootstrapTestToken) {
		t.Errorf("notes %q", notes)
	}

	// --output: 0600 with a token, 0644 without; nothing on standard output.
	for _, tc := range []struct {
		args []string
		mode os.FileMode
	}{
		{[]string{"--xds-token-file", tokenFile}, 0o600},
		{[]string{"--xds-cert", "/etc/envoy/xds.crt", "--xds-key", "/etc/envoy/xds.key"}, 0o644},
	} {
		file := filepath.Join(dir, "envoy.json")
		out, _, err := envoyBootstrapOut(t, append(append(base, tc.args...), "--output", file)...)
		if err != nil || out != "" {
			t.Fatalf("%v: %v, printed %q", tc.args, err, out)
		}
		fi, err := os.Stat(file)
		if err != nil || fi.Mode().Perm() != tc.mode {
			t.Errorf("%v: %v %v, want mode %v", tc.args, fi.Mode(), err, tc.mode)
		}
		b, _ := os.ReadFile(file)
		parseBootstrap(t, b)
		left, _ := filepath.Glob(filepath.Join(dir, ".envoy.json.*"))
		if len(left) != 0 {
			t.Errorf("temporary files left: %v", left)
		}
	}

	// --xds-cert-sds writes the SDS file where it says.
	sdsFile := filepath.Join(dir, "xds-cert.json")
	out, notes, err = envoyBootstrapOut(t, append(base, "--xds-cert", "/c.pem", "--xds-key", "/k.pem", "--xds-cert-sds", sdsFile)...)
	if err != nil {
		t.Fatal(err)
	}
	sds, err := os.ReadFile(sdsFile)
	if err != nil || !strings.Contains(string(sds), `"filename": "/c.pem"`) || !strings.Contains(out, sdsFile) || !strings.Contains(notes, sdsFile) {
		t.Errorf("SDS file %s %v; bootstrap names it: %v", sds, err, strings.Contains(out, sdsFile))
	}

	// The environment, as for `meshgate gateway`.
	t.Setenv("MESHGATE_XDS_CERT", "/env/c.pem")
	t.Setenv("MESHGATE_XDS_KEY", "/env/k.pem")
	t.Setenv("MESHGATE_XDS_TOKEN_FILE", tokenFile)
	out, _, err = envoyBootstrapOut(t, base...)
	if err != nil || !strings.Contains(out, "/env/c.pem") || !strings.Contains(out, "/env/k.pem") || !strings.Contains(out, bootstrapTestToken) {
		t.Errorf("from the environment: %v\n%s", err, out)
	}
	t.Setenv("MESHGATE_XDS_CERT", "")
	t.Setenv("MESHGATE_XDS_KEY", "")
	t.Setenv("MESHGATE_XDS_TOKEN_FILE", "")

	spaced := filepath.Join(dir, "spaced")
	os.WriteFile(spaced, []byte("two tokens-of-sixteen-chars\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("short"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--xds-token-file", filepath.Join(dir, "missing")}, "no such file"},
		{[]string{"--xds-token-file", spaced}, "one token on one line"},
		{[]string{"--xds-token-file", empty}, "one token on one line"},
		{[]string{"--xds-token-file", short}, "at least 16"},
		{[]string{"--xds-cert", "/c.pem"}, "go together"},
		{[]string{"--xds-cert-sds", sdsFile}, "needs --xds-cert"},
		{[]string{"--xds-cert", "/c.pem", "--xds-key", "/k.pem", "--xds-cert-sds", filepath.Join(dir, "no", "such", "dir.json")}, "--xds-cert-sds"},
	} {
		_, _, err := envoyBootstrapOut(t, append(base, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "tokens-of-sixteen") {
			t.Errorf("the error shows the token: %v", err)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--resource", "mesh/m/virtualGateway/gw", "--xds", "10.0.0.1:7071", "--xds-token-file", tokenFile}, "over TLS"},
		{[]string{"--resource", "mesh/m/virtualGateway/gw", "--xds", "xds.internal:7071", "--xds-cert", "/c", "--xds-key", "/k"}, "needs --xds-tls"},
		{[]string{"--resource", "mesh/m/virtualGateway/gw", "--xds", "unix:///x.sock", "--xds-token-file", tokenFile}, "authenticates nobody"},
	} {
		if _, _, err := envoyBootstrapOut(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}

// bootstrapClient is what Envoy would do with a bootstrap's xDS settings:
// where it connects, the TLS it speaks (trusted CA, the server name it
// checks, ALPN, the client certificate from the files or the file-based
// SDS secret the bootstrap names), the metadata it sends on the ADS
// stream, and its node.
type bootstrapClient struct {
	target string
	tls    *tls.Config // nil: plaintext
	md     metadata.MD
	node   *corev3.Node
}

func clientFromBootstrap(t *testing.T, b *bootstrapv3.Bootstrap) *bootstrapClient {
	t.Helper()
	ads := b.GetDynamicResources().GetAdsConfig()
	if ads.GetApiType() != corev3.ApiConfigSource_GRPC || len(ads.GetGrpcServices()) != 1 {
		t.Fatalf("ADS config %v", ads)
	}
	svc := ads.GetGrpcServices()[0]
	c := &bootstrapClient{md: metadata.MD{}, node: b.GetNode()}
	for _, h := range svc.GetInitialMetadata() {
		c.md.Append(h.GetKey(), h.GetValue())
	}
	var cluster *clusterv3.Cluster
	for _, cl := range b.GetStaticResources().GetClusters() {
		if cl.GetName() == svc.GetEnvoyGrpc().GetClusterName() {
			cluster = cl
		}
	}
	if cluster == nil {
		t.Fatalf("no cluster %q", svc.GetEnvoyGrpc().GetClusterName())
	}
	sa := cluster.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
	c.target = net.JoinHostPort(sa.GetAddress(), strconv.Itoa(int(sa.GetPortValue())))
	if cluster.GetTransportSocket() == nil {
		return c
	}
	up := &tlsv3.UpstreamTlsContext{}
	if err := cluster.GetTransportSocket().GetTypedConfig().UnmarshalTo(up); err != nil {
		t.Fatal(err)
	}
	common := up.GetCommonTlsContext()
	vc := common.GetValidationContext()
	caPEM, err := os.ReadFile(vc.GetTrustedCa().GetFilename())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	sans := vc.GetMatchTypedSubjectAltNames()
	if len(sans) != 1 || sans[0].GetMatcher().GetExact() == "" {
		t.Fatalf("the bootstrap does not check the server's name: %v", vc)
	}
	c.tls = &tls.Config{RootCAs: roots, ServerName: sans[0].GetMatcher().GetExact(), NextProtos: common.GetAlpnProtocols(),
		MinVersion: tls.VersionTLS12}
	var tc *tlsv3.TlsCertificate
	if certs := common.GetTlsCertificates(); len(certs) == 1 {
		tc = certs[0]
	}
	if sds := common.GetTlsCertificateSdsSecretConfigs(); len(sds) == 1 {
		raw, err := os.ReadFile(sds[0].GetSdsConfig().GetPathConfigSource().GetPath())
		if err != nil {
			t.Fatal(err)
		}
		resp := &discovery.DiscoveryResponse{}
		if err := protojson.Unmarshal(raw, resp); err != nil {
			t.Fatal(err)
		}
		secret := &tlsv3.Secret{}
		if err := resp.GetResources()[0].UnmarshalTo(secret); err != nil || secret.GetName() != sds[0].GetName() {
			t.Fatalf("SDS secret %v %v, want %q", secret, err, sds[0].GetName())
		}
		tc = secret.GetTlsCertificate()
	}
	if tc != nil {
		pair, err := tls.LoadX509KeyPair(tc.GetCertificateChain().GetFilename(), tc.GetPrivateKey().GetFilename())
		if err != nil {
			t.Fatal(err)
		}
		c.tls.Certificates = []tls.Certificate{pair}
	}
	return c
}

// fetchListeners opens an ADS stream as the client would, subscribes to
// clusters and listeners, and returns the first listener response's
// error.
func (c *bootstrapClient) fetchListeners(t *testing.T) error {
	t.Helper()
	creds := insecure.NewCredentials()
	if c.tls != nil {
		creds = credentials.NewTLS(c.tls)
	}
	conn, err := grpc.NewClient(c.target, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), c.md), 5*time.Second)
	defer cancel()
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return err
	}
	stream.Send(&discovery.DiscoveryRequest{Node: c.node, TypeUrl: resource.ClusterType})
	stream.Send(&discovery.DiscoveryRequest{TypeUrl: resource.ListenerType})
	for {
		r, err := stream.Recv()
		if err != nil {
			return err
		}
		if r.GetTypeUrl() == resource.ListenerType && len(r.GetResources()) > 0 {
			return nil
		}
	}
}

// xdsTestServer serves one gateway, mesh/m/virtualGateway/gw with a
// listener on gatewayPort, over TLS with auth, until the test ends; it
// returns the address.
func xdsTestServer(t *testing.T, srvCert, srvKey string, auth xds.AuthConfig, gatewayPort int) string {
	t.Helper()
	return xdstest.Serve(t, xds.Config{Envoy: envoyResources, TLSCertFile: srvCert, TLSKeyFile: srvKey, Auth: auth},
		xdstest.Put{Path: "/v20190125/meshes", Body: `{"meshName":"m"}`},
		xdstest.Put{Path: "/v20190125/meshes/m/virtualGateways", Body: fmt.Sprintf(
			`{"virtualGatewayName":"gw","spec":{"listeners":[{"portMapping":{"port":%d,"protocol":"http"}}]}}`, gatewayPort)})
}

// The bootstraps `meshgate envoy-bootstrap` writes authenticate as the
// server expects: a gRPC client set up exactly from a bootstrap's values
// (the xds_cluster's address and TLS context — the trusted CA, the server
// name it checks, the client certificate from the files or from the
// file-based SDS secret — and the ADS service's initial metadata) gets the
// gateway's listeners from a server with --xds-auth mtls or token, and is
// refused without the certificate (the handshake fails) or without the
// metadata (16).
func TestEnvoyBootstrapAuthenticates(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA := certs.NewCA(t, "xds server CA"), certs.NewCA(t, "proxy CA")
	srvCert, srvKey := serverCA.Server(t, "127.0.0.1").WriteFiles(t, dir, "xds")
	serverCAFile := serverCA.WriteFile(t, dir, "server-ca.pem")
	clientCAFile := clientCA.WriteFile(t, dir, "client-ca.pem")
	gwCert, gwKey := clientCA.Client(t, "spiffe://example.org/mesh/m/virtualGateway/gw").WriteFiles(t, dir, "gw")
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(bootstrapTestToken+"\n"), 0o600)
	tokensFile := filepath.Join(dir, "tokens.json")
	os.WriteFile(tokensFile, []byte(`{"tokens":[{"token":"`+bootstrapTestToken+`","resources":["mesh/m/virtualGateway/gw"]}]}`), 0o600)
	tokens, err := xds.WatchTokens(tokensFile, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		auth  xds.AuthConfig
		flags []string
		drop  func(*bootstrapClient) // the credential taken away
		code  codes.Code             // what the server says then
	}{
		{"mtls", xds.AuthConfig{Mode: xds.AuthMTLS, ClientCAFile: clientCAFile},
			[]string{"--xds-cert", gwCert, "--xds-key", gwKey},
			func(c *bootstrapClient) { c.tls.Certificates = nil }, codes.Unavailable},
		{"mtls through file-based SDS", xds.AuthConfig{Mode: xds.AuthMTLS, ClientCAFile: clientCAFile},
			[]string{"--xds-cert", gwCert, "--xds-key", gwKey, "--xds-cert-sds", filepath.Join(dir, "xds-cert-sds.json")},
			func(c *bootstrapClient) { c.tls.Certificates = nil }, codes.Unavailable},
		{"token", xds.AuthConfig{Mode: xds.AuthToken, ClientCAFile: clientCAFile, Tokens: tokens},
			[]string{"--xds-token-file", tokenFile},
			func(c *bootstrapClient) { c.md = metadata.MD{} }, codes.Unauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := xdsTestServer(t, srvCert, srvKey, tc.auth, 8080)
			file := filepath.Join(t.TempDir(), "envoy.json")
			args := append([]string{"--resource", "mesh/m/virtualGateway/gw", "--xds", addr, "--xds-tls", "--xds-ca", serverCAFile,
				"--output", file}, tc.flags...)
			if _, notes, err := envoyBootstrapOut(t, args...); err != nil {
				t.Fatalf("%v: %v %s", args, err, notes)
			}
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			c := clientFromBootstrap(t, parseBootstrap(t, raw))
			if err := c.fetchListeners(t); err != nil {
				t.Fatalf("with the bootstrap's credentials: %v", err)
			}
			tc.drop(c)
			if err := c.fetchListeners(t); status.Code(err) != tc.code {
				t.Errorf("without them: %v, want %v", err, tc.code)
			}
		})
	}
}
