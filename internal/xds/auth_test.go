package xds

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/testutil/logbuf"
	"github.com/meshgate/meshgate/internal/xds/gwconfig"

	"github.com/aws/aws-sdk-go-v2/aws"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/auth"
	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/service"
	"github.com/meshgate/meshgate/internal/store/sqlite"
	"github.com/meshgate/meshgate/internal/testutil/certs"
)

// The gateways of the authentication tests: a and b in mesh m, edge in
// mesh prod.
const (
	gwA    = "mesh/m/virtualGateway/a"
	gwB    = "mesh/m/virtualGateway/b"
	gwEdge = "mesh/prod/virtualGateway/edge"

	tokenA    = "token-of-gateway-a-0123456789"
	tokenProd = "token-of-every-prod-gateway-42"
	tokenARN  = "token-with-a-full-arn-pattern-7"
	secretA   = "secret-key-of-envoy-a-0123456789"
)

const testTokens = `{"tokens":[
 {"name":"a","token":"` + tokenA + `","resources":["` + gwA + `"]},
 {"name":"prod","token":"` + tokenProd + `","resources":["mesh/prod/virtualGateway/*"]},
 {"name":"arn","token":"` + tokenARN + `","resources":["arn:aws:appmesh:` + testRegion + `:` + testAccount + `:mesh/m/virtualGateway/b"]}
]}`

// The API's credential file (internal/auth): envoy-a may stream gateway a
// only; other-account may do anything but belongs to another account.
const testCredentials = `{"credentials":[
 {"accessKeyId":"AKIDENVOYA","secretAccessKey":"` + secretA + `","accountId":"` + testAccount + `",
  "policy":[{"effect":"Allow","action":"appmesh:StreamAggregatedResources","resource":"arn:aws:appmesh:*:*:` + gwA + `"}]},
 {"accessKeyId":"AKIDOTHERACCT","secretAccessKey":"secret-key-of-another-account-1","accountId":"999999999999",
  "policy":[{"effect":"Allow","action":"*","resource":"*"}]},
 {"accessKeyId":"AKIDALLGATEWAYS","secretAccessKey":"` + secretA + `","accountId":"` + testAccount + `",
  "policy":[{"effect":"Allow","action":"appmesh:StreamAggregatedResources","resource":"*"}]}
]}`

// authHarness is a harness whose TCP listener speaks TLS (a certificate
// for 127.0.0.1) and authenticates as mode says, with client certificates
// from clientCA, the test tokens and the test credentials.
type authHarness struct {
	*harness
	serverCA, clientCA *certs.CA
	log                *logbuf.Buffer
}

func newAuthHarness(t *testing.T, mode AuthMode, edit ...func(*Config)) *authHarness {
	t.Helper()
	a := &authHarness{serverCA: certs.NewCA(t, "xds server CA"), clientCA: certs.NewCA(t, "proxy CA"), log: &logbuf.Buffer{}}
	dir := t.TempDir()
	certFile, keyFile := a.serverCA.Server(t, "127.0.0.1", "xds.internal").WriteFiles(t, dir, "xds")
	caFile := a.clientCA.WriteFile(t, dir, "clients.pem")
	tokens, err := ParseTokens([]byte(testTokens))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.ParseKeys([]byte(testCredentials))
	if err != nil {
		t.Fatal(err)
	}
	edits := append([]func(*Config){func(c *Config) {
		c.TLSCertFile, c.TLSKeyFile = certFile, keyFile
		c.Auth = AuthConfig{Mode: mode, ClientCAFile: caFile, Tokens: tokens,
			SigV4: &auth.Verifier{Region: testRegion, AccountID: testAccount, Keys: keys}}
		c.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(a.log, tWriter{t}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}}, edit...)
	a.harness = newHarness(t, edits...)
	return a
}

// gateways creates a and b in mesh m and edge in prod, and waits until the
// server has them.
func (a *authHarness) gateways() {
	a.basic("m", "a", 8080)
	a.gateway("m", "b", 8081)
	a.gatewayRoute("m", "b", "color", "/b", "color.local")
	a.basic("prod", "edge", 8082)
	a.waitGatewayAt(gwEdge, "blue")
	a.waitGatewayAt(gwB, "blue")
	a.waitGatewayAt(gwA, "blue")
}

// tlsConfig trusts the server and presents leaf (nil: no certificate)
// whatever CAs the server asks for: Go's client would otherwise keep a
// certificate of another CA to itself.
func (a *authHarness) tlsConfig(leaf *certs.Leaf) *tls.Config {
	cfg := certs.ClientConfig(a.serverCA, "127.0.0.1", nil)
	if leaf != nil {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &leaf.TLS, nil }
	}
	return cfg
}

// conn dials the TCP listener over TLS with leaf and extra options.
func (a *authHarness) conn(t *testing.T, leaf *certs.Leaf, opts ...grpc.DialOption) *grpc.ClientConn {
	return dial(t, a.tcp, append([]grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(a.tlsConfig(leaf)))}, opts...)...)
}

// bearer is a context carrying a bearer token.
func bearer(tok string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
}

// expiredLeaf is a client certificate signed by ca that expired an hour ago.
func expiredLeaf(t *testing.T, ca *certs.CA, san string) *certs.Leaf {
	t.Helper()
	good := ca.Client(t, san) // for its key
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	u, err := url.Parse(san)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, URIs: []*url.URL{u}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &good.Key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &certs.Leaf{Cert: cert, Key: good.Key, TLS: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: good.Key, Leaf: cert}}
}

// refusedBeforeAnything opens an ADS stream, sends a request, and expects
// the call to fail with code before any response.
func refusedBeforeAnything(t *testing.T, conn *grpc.ClientConn, ctx context.Context, nodeID string, code codes.Code) *status.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err == nil {
		_ = stream.Send(&discovery.DiscoveryRequest{Node: &corev3.Node{Id: nodeID}, TypeUrl: resource.ListenerType})
		var resp *discovery.DiscoveryResponse
		resp, err = stream.Recv()
		if err == nil {
			t.Fatalf("got a %s response, want %v", resp.GetTypeUrl(), code)
		}
	}
	st := status.Convert(err)
	if st.Code() != code {
		t.Fatalf("status %v %q, want %v", st.Code(), st.Message(), code)
	}
	return st
}

// S1: with --xds-auth mtls, a client without a certificate, with one from
// another CA or with an expired one does not get past the TLS handshake:
// no call reaches a handler and nothing is sent. A good certificate gets
// its gateway's configuration.
func TestMTLSRequiresClientCertificate(t *testing.T) {
	a := newAuthHarness(t, AuthMTLS)
	a.gateways()
	other := certs.NewCA(t, "some other CA")
	for _, tc := range []struct {
		name string
		leaf *certs.Leaf
	}{
		{"no certificate", nil},
		{"certificate of another CA", other.Client(t, "spiffe://example.org/"+gwA)},
		{"expired certificate", expiredLeaf(t, a.clientCA, "spiffe://example.org/"+gwA)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := refusedBeforeAnything(t, a.conn(t, tc.leaf), context.Background(), gwA, codes.Unavailable)
			t.Logf("refused: %s", st.Message())
			// A valid token does not replace the certificate in mtls mode.
			refusedBeforeAnything(t, a.conn(t, tc.leaf), bearer(tokenA), gwA, codes.Unavailable)
		})
	}
	if n := testutil.ToFloat64(a.srv.m.pushes.WithLabelValues("Listener")); n != 0 {
		t.Errorf("%v listener responses sent to refused clients", n)
	}
	a.srv.tracker.mu.Lock()
	streams := len(a.srv.tracker.streams)
	a.srv.tracker.mu.Unlock()
	if streams != 0 {
		t.Errorf("%d streams reached go-control-plane", streams)
	}

	c := newADS(t, a.conn(t, a.clientCA.Client(t, "spiffe://example.org/ns/prod/"+gwA)), gwA)
	c.start()
	c.until(5*time.Second, "a's listener", func() bool { return c.hasListenerOn(8080) })
}

// S1 without mtls: on a token listener, the call itself is refused with 16
// when it carries no credential, or an invalid one.
func TestTokenModeUnauthenticated(t *testing.T) {
	a := newAuthHarness(t, AuthToken)
	a.gateways()
	conn := a.conn(t, nil)
	st := refusedBeforeAnything(t, conn, context.Background(), gwA, codes.Unauthenticated)
	if st.Message() != "Missing Authentication Token" {
		t.Errorf("message %q, want App Mesh's", st.Message())
	}
	refusedBeforeAnything(t, conn, bearer("not-a-token-of-this-server"), gwA, codes.Unauthenticated)
	refusedBeforeAnything(t, conn, metadata.AppendToOutgoingContext(context.Background(), "authorization", "Basic dXNlcjpwdw=="), gwA, codes.Unauthenticated)
	// Two authorization headers are refused, even if one is good.
	refusedBeforeAnything(t, conn, metadata.AppendToOutgoingContext(bearer(tokenA), "authorization", "Bearer "+tokenProd), gwA, codes.Unauthenticated)
	// A certificate from the wrong CA is refused at the handshake even
	// where certificates are optional.
	refusedBeforeAnything(t, a.conn(t, certs.NewCA(t, "other").Client(t, gwA)), bearer(tokenA), gwA, codes.Unavailable)
	if n := testutil.ToFloat64(a.srv.m.rejected.WithLabelValues("Unauthenticated")); n < 4 {
		t.Errorf("unauthenticated calls counted: %v", n)
	}
}

// Token mode: a valid token gets its gateway; a token streams only the
// gateways its resources name (exact, * wildcard, full-ARN pattern).
func TestTokenMode(t *testing.T) {
	a := newAuthHarness(t, AuthToken)
	a.gateways()
	conn := a.conn(t, nil)
	for _, tc := range []struct {
		token, node string
		port        uint32
	}{
		{tokenA, gwA, 8080},
		{tokenA, arnPrefix + gwA, 8080},
		{tokenProd, gwEdge, 8082},
		{tokenARN, gwB, 8081},
	} {
		c := newADS(t, conn, tc.node, bearer(tc.token))
		c.start()
		c.until(5*time.Second, tc.node+"'s listener", func() bool { return c.hasListenerOn(tc.port) })
	}
	for _, tc := range []struct{ token, node string }{
		{tokenA, gwB},
		{tokenA, arnPrefix + gwEdge},
		{tokenProd, gwA},
		{tokenARN, gwA},
		{tokenProd, "mesh/prod/virtualGateway/does-not-exist"}, // allowed name, missing gateway: 3, see below
	} {
		want := codes.PermissionDenied
		if strings.HasSuffix(tc.node, "does-not-exist") {
			want = codes.InvalidArgument
		}
		refusedBeforeAnything(t, conn, bearer(tc.token), tc.node, want)
	}
	// A gateway the token may not stream is refused as not authorized
	// whether it exists or not: a caller learns nothing of others' names.
	st := refusedBeforeAnything(t, conn, bearer(tokenA), "mesh/secret/virtualGateway/x", codes.PermissionDenied)
	if !strings.Contains(st.Message(), "is not authorized to perform appmesh:StreamAggregatedResources") {
		t.Errorf("message %q", st.Message())
	}
}

// S2: authenticated as gateway a, node.id b is refused with 7 and an audit
// log line; changing node.id on a stream closes it with 7, both when the
// new id is not allowed (the interceptor) and when it is (the pin in the
// stream callbacks).
func TestNodeAuthorization(t *testing.T) {
	a := newAuthHarness(t, AuthMTLS)
	a.gateways()
	onlyA := a.conn(t, a.clientCA.Client(t, "spiffe://example.org/"+gwA))

	st := refusedBeforeAnything(t, onlyA, context.Background(), gwB, codes.PermissionDenied)
	if !strings.Contains(st.Message(), "arn:aws:appmesh:"+testRegion+":"+testAccount+":"+gwB) {
		t.Errorf("message %q names no resource", st.Message())
	}
	if log := a.log.String(); !strings.Contains(log, "xds request refused") || !strings.Contains(log, "node="+gwB) ||
		!strings.Contains(log, "caller=cert:spiffe://example.org/"+gwA) || !strings.Contains(log, "code=\"7 PermissionDenied\"") {
		t.Errorf("no audit line for the refusal:\n%s", log)
	}

	// Delta, too.
	d := newDelta(t, onlyA, gwB)
	d.subscribe(resource.ListenerType, nil)
	if _, err := d.stream.Recv(); status.Code(err) != codes.PermissionDenied {
		t.Errorf("delta: %v, want PermissionDenied", err)
	}

	t.Run("change to a node the caller may not be", func(t *testing.T) {
		c := newADS(t, onlyA, gwA)
		c.start()
		c.until(5*time.Second, "a's listener", func() bool { return c.hasListenerOn(8080) })
		c.send(&discovery.DiscoveryRequest{TypeUrl: resource.ClusterType, Node: &corev3.Node{Id: gwB}})
		if st := streamEnd(t, c); st.Code() != codes.PermissionDenied {
			t.Errorf("status %v, want PermissionDenied", st)
		}
	})
	t.Run("change to another node the caller may be", func(t *testing.T) {
		both := a.conn(t, a.clientCA.Client(t, gwA, "arn:aws:appmesh:"+testRegion+":"+testAccount+":"+gwB))
		c := newADS(t, both, gwA)
		c.start()
		c.until(5*time.Second, "a's listener", func() bool { return c.hasListenerOn(8080) })
		c.send(&discovery.DiscoveryRequest{TypeUrl: resource.ClusterType, Node: &corev3.Node{Id: gwB}})
		st := streamEnd(t, c)
		if st.Code() != codes.PermissionDenied || !strings.Contains(st.Message(), "node.id changed") {
			t.Errorf("status %v, want PermissionDenied for the change", st)
		}
		// The same certificate may be b on a stream of its own.
		cb := newADS(t, both, gwB)
		cb.start()
		cb.until(5*time.Second, "b's listener", func() bool { return cb.hasListenerOn(8081) })
	})
}

// The stream callbacks authorize the first request themselves, without
// the interceptor: a stream whose caller may not be the node is refused
// before the cache sees it, and one with no caller at all is refused as
// unauthenticated.
func TestCallbacksAuthorize(t *testing.T) {
	a := newAuthHarness(t, AuthToken)
	a.gateways()
	cb := callbacks{a.srv}
	tok, _ := a.srv.auth.tokens.lookup(tokenA)
	onlyA := &caller{names: []string{"token:a"}, may: []func(string, string) bool{tok.allows}}
	for i, tc := range []struct {
		who  *caller
		node string
		want codes.Code
	}{
		{onlyA, gwB, codes.PermissionDenied},
		{nil, gwA, codes.Unauthenticated},
		{onlyA, gwA, codes.OK},
	} {
		ctx := context.WithValue(context.Background(), callerKey{}, tc.who)
		id := int64(1000 + i)
		if err := cb.OnStreamOpen(ctx, id, ""); err != nil {
			t.Fatal(err)
		}
		err := cb.OnStreamRequest(id, &discovery.DiscoveryRequest{Node: &corev3.Node{Id: tc.node}, TypeUrl: resource.ListenerType})
		if status.Code(err) != tc.want {
			t.Errorf("%v as %s: %v, want %v", tc.who, tc.node, err, tc.want)
		}
		cb.OnStreamClosed(id, nil)
		if err := cb.OnFetchRequest(ctx, &discovery.DiscoveryRequest{Node: &corev3.Node{Id: tc.node}}); status.Code(err) != tc.want {
			t.Errorf("fetch %v as %s: %v, want %v", tc.who, tc.node, err, tc.want)
		}
	}
}

// typeOfService is the type URL a per-type service serves.
var typeOfService = map[string]string{
	"envoy.service.discovery.v3.AggregatedDiscoveryService": resource.ListenerType,
	"envoy.service.listener.v3.ListenerDiscoveryService":    resource.ListenerType,
	"envoy.service.route.v3.RouteDiscoveryService":          resource.RouteType,
	"envoy.service.cluster.v3.ClusterDiscoveryService":      resource.ClusterType,
	"envoy.service.endpoint.v3.EndpointDiscoveryService":    resource.EndpointType,
	"envoy.service.secret.v3.SecretDiscoveryService":        resource.SecretType,
}

// openServices are services that may answer without authentication. There
// are none: no health or reflection service is registered.
var openServices = map[string]bool{}

// callMethod calls one registered method as a proxy of node would (a
// stream sends one request and reads one response) and returns the
// status.
func callMethod(ctx context.Context, conn *grpc.ClientConn, service string, m grpc.MethodInfo, node string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	full := "/" + service + "/" + m.Name
	typeURL := typeOfService[service]
	n := &corev3.Node{Id: node}
	if !m.IsClientStream && !m.IsServerStream {
		return conn.Invoke(ctx, full, &discovery.DiscoveryRequest{Node: n, TypeUrl: typeURL}, &discovery.DiscoveryResponse{})
	}
	s, err := conn.NewStream(ctx, &grpc.StreamDesc{StreamName: m.Name, ClientStreams: m.IsClientStream, ServerStreams: m.IsServerStream}, full)
	if err != nil {
		return err
	}
	var req, resp any = &discovery.DiscoveryRequest{Node: n, TypeUrl: typeURL}, &discovery.DiscoveryResponse{}
	if strings.HasPrefix(m.Name, "Delta") {
		req, resp = &discovery.DeltaDiscoveryRequest{Node: n, TypeUrl: typeURL}, &discovery.DeltaDiscoveryResponse{}
	}
	if err := s.SendMsg(req); err != nil && err != io.EOF {
		return err
	}
	return s.RecvMsg(resp)
}

// S3: every service and method the TCP server registers, streams and
// unary Fetch alike, refuses a call without credentials (16), with bad
// ones (16), and with credentials of another gateway — a token, a
// certificate, a SigV4 signature — (7). The same calls as the right
// gateway are not refused, which shows each call reached the check.
func TestEveryMethodIsAuthenticated(t *testing.T) {
	a := newAuthHarness(t, AuthToken)
	a.gateways()
	services := a.srv.grpcServices()
	if len(services) != len(typeOfService) {
		t.Errorf("registered services %v, want those of typeOfService: update the test and check them", sortedKeys(services))
	}
	plain := a.conn(t, nil)
	certA := a.conn(t, a.clientCA.Client(t, "spiffe://example.org/"+gwA))
	sigA := a.conn(t, nil, grpc.WithPerRPCCredentials(&envoySigner{accessKey: "AKIDENVOYA", secret: secretA, region: testRegion}))
	calls := 0
	for _, name := range sortedKeys(services) {
		if openServices[name] {
			continue
		}
		for _, m := range services[name].Methods {
			t.Run(name+"/"+m.Name, func(t *testing.T) {
				calls++
				for _, tc := range []struct {
					what string
					conn *grpc.ClientConn
					ctx  context.Context
					node string
					want codes.Code
				}{
					{"no credentials", plain, context.Background(), gwA, codes.Unauthenticated},
					{"unknown token", plain, bearer("forged-token-0123456789"), gwA, codes.Unauthenticated},
					{"token of a as b", plain, bearer(tokenA), gwB, codes.PermissionDenied},
					{"certificate of a as b", certA, context.Background(), gwB, codes.PermissionDenied},
					{"certificate of a plus a bad token", certA, bearer("forged-token-0123456789"), gwA, codes.Unauthenticated},
					{"signature of a as b", sigA, context.Background(), gwB, codes.PermissionDenied},
				} {
					if err := callMethod(tc.ctx, tc.conn, name, m, tc.node); status.Code(err) != tc.want {
						t.Errorf("%s: %v, want %v", tc.what, err, tc.want)
					}
				}
				for _, ok := range []struct {
					what string
					conn *grpc.ClientConn
					ctx  context.Context
				}{{"token of a", plain, bearer(tokenA)}, {"certificate of a", certA, context.Background()}, {"signature of a", sigA, context.Background()}} {
					err := callMethod(ok.ctx, ok.conn, name, m, gwA)
					if c := status.Code(err); c == codes.Unauthenticated || c == codes.PermissionDenied {
						t.Errorf("%s as a: %v", ok.what, err)
					}
				}
			})
		}
	}
	// ADS: Stream and Delta; LDS, RDS, CDS, EDS, SDS: Stream, Delta, Fetch.
	if calls != 17 {
		t.Errorf("%d methods called, want 17", calls)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// secretsPerGateway wraps the stub translation with one TLS secret per
// gateway, named after it, so that SDS has something to leak.
func secretsPerGateway(c *Config) {
	inner := c.Envoy
	c.Envoy = func(g *ir.Gateway) (*EnvoyResources, error) {
		r, err := inner(g)
		if err != nil {
			return nil, err
		}
		r.Secrets = append(r.Secrets, &tlsv3.Secret{Name: "cert-" + g.Name, Type: &tlsv3.Secret_TlsCertificate{
			TlsCertificate: &tlsv3.TlsCertificate{CertificateChain: &corev3.DataSource{
				Specifier: &corev3.DataSource_InlineString{InlineString: "chain of " + g.Name}}}}})
		return r, nil
	}
}

// S4: a proxy of gateway a asking for b's secret (by SDS over ADS, delta,
// the per-type stream or Fetch) never gets it; a's own secret in the same
// response is unaffected. Its other resources are a's only.
func TestSecretsAreScoped(t *testing.T) {
	a := newAuthHarness(t, AuthToken, secretsPerGateway)
	a.gateways()
	conn := a.conn(t, nil)
	ctx := bearer(tokenA)

	c := newADS(t, conn, gwA, ctx)
	c.request(resource.SecretType, []string{"cert-a", "cert-b"})
	r, err := c.next(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if names := resourceNames(t, r.GetResources()); names != "cert-a" {
		t.Errorf("SDS for cert-a and cert-b returned %q, want cert-a only", names)
	}
	c.handle(r)
	c.request(resource.ListenerType, nil)
	c.request(resource.ClusterType, nil)
	c.until(5*time.Second, "a's listener", func() bool { return c.hasListenerOn(8080) })
	for _, l := range c.log {
		for _, res := range l.GetResources() {
			if strings.Contains(string(res.GetValue()), "cert-b") || strings.Contains(string(res.GetValue()), "8081") {
				t.Errorf("a %s response carries b's resource", typeName(l.GetTypeUrl()))
			}
		}
	}

	// Only b's secret asked for: the wildcard-free request is not a
	// superset of a's snapshot, so nothing at all is sent.
	only := newADS(t, conn, gwA, ctx)
	only.request(resource.SecretType, []string{"cert-b"})
	only.quiet(500*time.Millisecond, "SDS for b's secret only")

	d := newDeltaWith(t, conn, gwA, ctx)
	d.subscribe(resource.SecretType, []string{"cert-a", "cert-b"})
	d.until(5*time.Second, "a's secret over delta", func() bool { return len(d.res[resource.SecretType]) > 0 })
	if _, leaked := d.res[resource.SecretType]["cert-b"]; leaked || len(d.res[resource.SecretType]) != 1 {
		t.Errorf("delta SDS returned %v", sortedKeys(d.res[resource.SecretType]))
	}

	resp, err := callFetchSecrets(ctx, conn, gwA, []string{"cert-a", "cert-b"})
	if err != nil {
		t.Fatal(err)
	}
	if names := resourceNames(t, resp.GetResources()); names != "cert-a" {
		t.Errorf("FetchSecrets returned %q, want cert-a only", names)
	}
	if _, err := callFetchSecrets(ctx, conn, gwB, []string{"cert-b"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("FetchSecrets as b with a's token: %v", err)
	}
}

func callFetchSecrets(ctx context.Context, conn *grpc.ClientConn, node string, names []string) (*discovery.DiscoveryResponse, error) {
	resp := &discovery.DiscoveryResponse{}
	err := conn.Invoke(ctx, "/envoy.service.secret.v3.SecretDiscoveryService/FetchSecrets",
		&discovery.DiscoveryRequest{Node: &corev3.Node{Id: node}, TypeUrl: resource.SecretType, ResourceNames: names}, resp)
	return resp, err
}

func resourceNames(t *testing.T, rs []*anypb.Any) string {
	t.Helper()
	var names []string
	for _, r := range rs {
		m, err := r.UnmarshalNew()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, nameOf(m))
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// The gateway's own resource type is scoped like the others: with a token
// of a, a's GatewayConfig is served and b's refused.
func TestGatewayConfigAuthorized(t *testing.T) {
	a := newAuthHarness(t, AuthToken)
	a.gateways()
	conn := a.conn(t, nil)
	c := newADS(t, conn, gwA, bearer(tokenA))
	c.request(gwconfig.Type, []string{gwA})
	r, err := c.next(5 * time.Second)
	if err != nil || len(r.GetResources()) != 1 {
		t.Fatalf("a's config: %v %v", r, err)
	}
	other := newADS(t, conn, gwA, bearer(tokenA))
	other.request(gwconfig.Type, []string{gwB})
	if st := streamEnd(t, other); st.Code() != codes.PermissionDenied {
		t.Errorf("b's config: %v", st)
	}
}

// The unix socket stays a trusted local relay in every mode, and is
// created with mode 0660.
func TestUnixSocketIsLocal(t *testing.T) {
	a := newAuthHarness(t, AuthMTLS)
	a.gateways()
	c := newADS(t, dial(t, "unix://"+a.sock), gwB)
	c.start()
	c.until(5*time.Second, "b's listener over the socket", func() bool { return c.hasListenerOn(8081) })
	fi, err := os.Stat(a.sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want 0660", fi.Mode().Perm())
	}
}

// Configuration errors are refused by New, not discovered by proxies.
func TestAuthConfigErrors(t *testing.T) {
	dir := t.TempDir()
	ca := certs.NewCA(t, "c")
	caFile := ca.WriteFile(t, dir, "ca.pem")
	certFile, keyFile := ca.Server(t, "127.0.0.1").WriteFiles(t, dir, "s")
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not pem"), 0o600)
	tokens, _ := ParseTokens([]byte(testTokens))
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"unknown mode", Config{Auth: AuthConfig{Mode: "jwt"}}},
		{"mtls without a CA", Config{TLSCertFile: certFile, TLSKeyFile: keyFile, Auth: AuthConfig{Mode: AuthMTLS}}},
		{"mtls without TLS", Config{Auth: AuthConfig{Mode: AuthMTLS, ClientCAFile: caFile}}},
		{"token without tokens", Config{Auth: AuthConfig{Mode: AuthToken}}},
		{"a CA that is not PEM", Config{TLSCertFile: certFile, TLSKeyFile: keyFile, Auth: AuthConfig{Mode: AuthMTLS, ClientCAFile: junk}}},
		{"a CA without TLS", Config{Auth: AuthConfig{Mode: AuthToken, Tokens: tokens, ClientCAFile: caFile}}},
	} {
		st := newTestStore(t)
		tc.cfg.Store, tc.cfg.Region, tc.cfg.AccountID, tc.cfg.Envoy = st, testRegion, testAccount, (&stubEnvoy{}).translate
		if _, err := New(tc.cfg); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestParseTokens(t *testing.T) {
	for _, bad := range []string{
		``, `{}`, `{"tokens":[]}`,
		`{"tokens":[{"token":"short","resources":["mesh/m/virtualGateway/a"]}]}`,
		`{"tokens":[{"token":"a-long-enough-token-1","resources":[]}]}`,
		`{"tokens":[{"token":"a-long-enough-token-1","resources":["virtualGateway/a"]}]}`,
		`{"tokens":[{"token":"a-long-enough-token-1","resources":["mesh/m/virtualGateway/a"]},{"token":"a-long-enough-token-1","resources":["mesh/m/virtualGateway/b"]}]}`,
		`{"tokens":[{"token":"a-long-enough-token-1","resources":["mesh/m/virtualGateway/a"],"extra":1}]}`,
		`{"tokens":[{"token":"a long enough token 1","resources":["mesh/m/virtualGateway/a"]}]}`,
	} {
		if _, err := ParseTokens([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"mesh/prod/virtualGateway/*", "mesh/prod/virtualGateway/edge", true},
		{"mesh/prod/virtualGateway/*", "mesh/production/virtualGateway/edge", false},
		{"mesh/*/virtualGateway/edge", "mesh/a/b/virtualGateway/edge", true},
		{"mesh/*/virtualGateway/e*e", "mesh/m/virtualGateway/edge", true},
		{"mesh/*/virtualGateway/e*e", "mesh/m/virtualGateway/edges", false},
		{"mesh/m/virtualGateway/a", "mesh/m/virtualGateway/ab", false},
		{"*", "anything", true},
	} {
		if got := wildcardMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("wildcardMatch(%q, %q) = %v", tc.pattern, tc.s, got)
		}
	}
}

// The SAN rule: short ARN, full ARN of this server, or a URI with a host
// whose path ends with mesh/M/virtualGateway/G; nothing else.
func TestCertificateSANs(t *testing.T) {
	id := identity{region: testRegion, account: testAccount}
	ca := certs.NewCA(t, "c")
	for _, tc := range []struct {
		san  string
		want string
	}{
		{"mesh/m/virtualGateway/a", gwA},
		{"arn:aws:appmesh:" + testRegion + ":" + testAccount + ":mesh/m/virtualGateway/a", gwA + "@" + testAccount},
		{"spiffe://example.org/mesh/m/virtualGateway/a", gwA},
		{"spiffe://example.org/ns/prod/sa/edge/mesh/m/virtualGateway/a", gwA},
		{"mesh/m@" + testAccount + "/virtualGateway/a", gwA + "@" + testAccount},
		{"arn:aws:appmesh:eu-west-1:" + testAccount + ":mesh/m/virtualGateway/a", ""}, // another region
		// Another owner is a claim; it allows nothing unless that account
		// owns the gateway (TestNodeOwner).
		{"mesh/m@999999999999/virtualGateway/a", gwA + "@999999999999"},
		{"spiffe://example.org/mesh/m/virtualGateway/a/extra", ""},
		{"spiffe://example.org/mesh/m/virtualNode/a", ""},
		{"spiffe://example.org/mesh/*/virtualGateway/*", ""},
		{"mesh/m/virtualGateway/*", ""}, // wildcards are not expanded (and match no real name)
		{"a.example.org", ""},
		{"127.0.0.1", ""},
	} {
		leaf := ca.Client(t, tc.san)
		got, _ := id.certGateways(leaf.Cert)
		var names []string
		for _, g := range got {
			names = append(names, g.key.String()+map[bool]string{true: "@" + g.owner}[g.owner != ""])
		}
		if s := strings.Join(names, ","); s != tc.want && !(tc.want == "" && strings.Contains(s, "*")) {
			t.Errorf("SAN %q names %q, want %q", tc.san, s, tc.want)
		}
	}
	// The common name is not read.
	leaf := ca.Client(t)
	leaf.Cert.Subject.CommonName = gwA
	if got, _ := id.certGateways(leaf.Cert); len(got) != 0 {
		t.Errorf("CN read: %v", got)
	}
}

// envoySigner signs each call the way Envoy's aws_iam call credentials
// do: a synthetic POST to the call's https://HOST/SERVICE/METHOD, signed
// with sign(message, false) — x-amz-content-sha256 of the empty body,
// x-amz-date, the session token when there is one — with the headers it
// added sent as metadata.
type envoySigner struct {
	accessKey, secret, region, token string
	service                          string // default appmesh
	now                              func() time.Time
	tamper                           func(md map[string]string)
	method                           string // sign this method instead of the call's
}

func (s *envoySigner) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	ri, _ := credentials.RequestInfoFromContext(ctx)
	// gRPC gives https://HOST[:PORT]/SERVICE with :443 dropped, as gRPC
	// core gives Envoy its service_url.
	u, err := url.Parse(uri[0])
	if err != nil {
		return nil, err
	}
	host := u.Host
	path := ri.Method
	if s.method != "" {
		path = s.method
	}
	now := time.Now().UTC()
	if s.now != nil {
		now = s.now().UTC()
	}
	service := s.service
	if service == "" {
		service = "appmesh"
	}
	date := now.Format("20060102T150405Z")
	hdr := map[string]string{"x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "x-amz-date": date}
	if s.token != "" {
		hdr["x-amz-security-token"] = s.token
	}
	canon := map[string]string{"host": host}
	for k, v := range hdr {
		canon[k] = v
	}
	names := sortedKeys(canon)
	var lines []string
	for _, n := range names {
		lines = append(lines, n+":"+canon[n])
	}
	signed := strings.Join(names, ";")
	creq := "POST\n" + path + "\n\n" + strings.Join(lines, "\n") + "\n\n" + signed + "\n" + hdr["x-amz-content-sha256"]
	sum := sha256.Sum256([]byte(creq))
	scope := date[:8] + "/" + s.region + "/" + service + "/aws4_request"
	sig := hex.EncodeToString(sigHMAC(sigKey(s.secret, date[:8], s.region, service), "AWS4-HMAC-SHA256\n"+date+"\n"+scope+"\n"+hex.EncodeToString(sum[:])))
	hdr["authorization"] = fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s", s.accessKey, scope, signed, sig)
	if s.tamper != nil {
		s.tamper(hdr)
	}
	return hdr, nil
}

func (s *envoySigner) RequireTransportSecurity() bool { return true }

func sigHMAC(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func sigKey(secret, day, region, service string) []byte {
	k := sigHMAC([]byte("AWS4"+secret), day)
	k = sigHMAC(k, region)
	k = sigHMAC(k, service)
	return sigHMAC(k, "aws4_request")
}

// newDeltaWith is newDelta on a context (credentials in its metadata).
func newDeltaWith(t *testing.T, conn *grpc.ClientConn, nodeID string, parent context.Context) *deltaClient {
	t.Helper()
	ctx, cancel := context.WithCancel(parent)
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	return &deltaClient{t: t, stream: stream, cancel: cancel, res: map[string]map[string]proto.Message{},
		subs: map[string][]string{}, node: &corev3.Node{Id: nodeID, Cluster: "delta"}}
}

func newTestStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// S6: the App Mesh Envoy image's SigV4-signed stream, verified against the
// API's credential file and authorized by its policy; tampered, expired,
// misdirected and replayed signatures are refused with 16, a valid one for
// a gateway its policy does not allow with 7.
func TestSigV4(t *testing.T) {
	a := newAuthHarness(t, AuthToken)
	a.gateways()
	sign := func(edit func(*envoySigner)) *grpc.ClientConn {
		s := &envoySigner{accessKey: "AKIDENVOYA", secret: secretA, region: testRegion}
		if edit != nil {
			edit(s)
		}
		return a.conn(t, nil, grpc.WithPerRPCCredentials(s))
	}

	c := newADS(t, sign(nil), arnPrefix+gwA)
	c.start()
	c.until(5*time.Second, "a's listener", func() bool { return c.hasListenerOn(8080) })
	if !strings.Contains(a.log.String(), "caller=sigv4:arn:aws:iam::"+testAccount+":user/AKIDENVOYA") {
		t.Error("the connection log does not name the signer")
	}

	// The host Envoy signs has no default port, while :authority keeps it.
	noName := certs.ClientConfig(a.serverCA, "", nil) // the server name comes from the authority
	withPort := dial(t, a.tcp, grpc.WithTransportCredentials(credentials.NewTLS(noName)), grpc.WithAuthority("xds.internal:443"),
		grpc.WithPerRPCCredentials(&envoySigner{accessKey: "AKIDENVOYA", secret: secretA, region: testRegion}))
	cp := newADS(t, withPort, gwA)
	cp.start()
	cp.until(5*time.Second, "a's listener with :authority xds.internal:443", func() bool { return cp.hasListenerOn(8080) })

	for _, tc := range []struct {
		name string
		edit func(*envoySigner)
		node string
		want codes.Code
	}{
		{"not allowed by the policy", nil, gwB, codes.PermissionDenied},
		{"another account's key", func(s *envoySigner) { s.accessKey, s.secret = "AKIDOTHERACCT", "secret-key-of-another-account-1" }, gwA, codes.PermissionDenied},
		{"wrong secret", func(s *envoySigner) { s.secret = "not-the-secret-of-envoy-a-000" }, gwA, codes.Unauthenticated},
		{"unknown key", func(s *envoySigner) { s.accessKey = "AKIDNOBODY" }, gwA, codes.Unauthenticated},
		{"tampered signature", func(s *envoySigner) {
			s.tamper = func(md map[string]string) {
				v := md["authorization"]
				flip := map[bool]string{true: "1", false: "0"}[strings.HasSuffix(v, "0")]
				md["authorization"] = v[:len(v)-1] + flip
			}
		}, gwA, codes.Unauthenticated},
		{"tampered date", func(s *envoySigner) {
			s.tamper = func(md map[string]string) {
				md["x-amz-date"] = time.Now().UTC().Add(time.Minute).Format("20060102T150405Z")
			}
		}, gwA, codes.Unauthenticated},
		{"expired", func(s *envoySigner) { s.now = func() time.Time { return time.Now().Add(-10 * time.Minute) } }, gwA, codes.Unauthenticated},
		{"from the future", func(s *envoySigner) { s.now = func() time.Time { return time.Now().Add(10 * time.Minute) } }, gwA, codes.Unauthenticated},
		{"another region", func(s *envoySigner) { s.region = "eu-west-1" }, gwA, codes.Unauthenticated},
		{"another service", func(s *envoySigner) { s.service = "s3" }, gwA, codes.Unauthenticated},
		{"signed for another method", func(s *envoySigner) {
			s.method = "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources"
		}, gwA, codes.Unauthenticated},
		{"a session token the key does not have", func(s *envoySigner) { s.token = "some-session-token" }, gwA, codes.Unauthenticated},
		{"unsigned payload hash", func(s *envoySigner) {
			s.tamper = func(md map[string]string) { md["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD" }
		}, gwA, codes.Unauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := refusedBeforeAnything(t, sign(tc.edit), context.Background(), tc.node, tc.want)
			t.Logf("%v: %s", st.Code(), st.Message())
			if strings.Contains(st.Message(), secretA) {
				t.Error("the secret is in the message")
			}
		})
	}
	if strings.Contains(a.log.String(), secretA) {
		t.Error("the secret is in the log")
	}
}

// TestNodeOwner: a gateway of another account (created by that account's
// key) is streamed with that account's credentials, in the short form and
// as a full ARN in its account; a key of this server's account may not
// stream it even with a policy on "*", and a node id stating the wrong
// owner is refused with 3.
func TestNodeOwner(t *testing.T) {
	const other = "999999999999"
	a := newAuthHarness(t, AuthToken)
	a.gateways()
	svc, err := service.New(a.st, service.Config{Region: testRegion, AccountID: testAccount, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := service.WithCaller(context.Background(), other)
	step := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	step(svc.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: aws.String("theirs")}))
	step(svc.CreateVirtualGateway(ctx, &appmesh.CreateVirtualGatewayInput{MeshName: aws.String("theirs"), VirtualGatewayName: aws.String("og"),
		Spec: &appmesh.VirtualGatewaySpec{Listeners: []appmesh.VirtualGatewayListener{{PortMapping: &appmesh.VirtualGatewayPortMapping{
			Port: aws.Int64(8090), Protocol: aws.String("http")}}}}}))
	const og = "mesh/theirs/virtualGateway/og"
	sign := func(key, secret string) *grpc.ClientConn {
		return a.conn(t, nil, grpc.WithPerRPCCredentials(&envoySigner{accessKey: key, secret: secret, region: testRegion}))
	}
	otherConn := sign("AKIDOTHERACCT", "secret-key-of-another-account-1")
	for _, node := range []string{og, "arn:aws:appmesh:" + testRegion + ":" + other + ":" + og, "mesh/theirs@" + other + "/virtualGateway/og"} {
		c := newADS(t, otherConn, node)
		c.start()
		c.until(5*time.Second, "the other account's listener as "+node, func() bool { return c.hasListenerOn(8090) })
	}
	st := refusedBeforeAnything(t, sign("AKIDALLGATEWAYS", secretA), context.Background(), og, codes.PermissionDenied)
	if !strings.Contains(st.Message(), "arn:aws:appmesh:"+testRegion+":"+other+":"+og) {
		t.Errorf("the refusal does not name the gateway's ARN in its owner's account: %s", st.Message())
	}
	refusedBeforeAnything(t, otherConn, context.Background(), gwA, codes.PermissionDenied)
	st = refusedBeforeAnything(t, otherConn, context.Background(), "arn:aws:appmesh:"+testRegion+":"+testAccount+":"+og, codes.InvalidArgument)
	if !strings.Contains(st.Message(), "names account "+testAccount+", which does not own "+og) {
		t.Errorf("a node id stating the wrong owner: %s", st.Message())
	}
}

func TestSigV4Request(t *testing.T) {
	md := metadata.MD{":authority": {"xds.internal:443"}, "x-amz-date": {"20260101T000000Z"}, "authorization": {"AWS4-HMAC-SHA256 x"},
		"content-type": {"application/grpc"}}
	r := sigV4Request(md, "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources")
	if r.Host != "xds.internal" || r.Method != "POST" || r.URL.EscapedPath() != "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources" ||
		r.Header.Get("X-Amz-Date") != "20260101T000000Z" || r.Header.Get(":authority") != "" {
		t.Errorf("%+v", r)
	}
	if r := sigV4Request(metadata.MD{":authority": {"127.0.0.1:7071"}}, "/x/y"); r.Host != "127.0.0.1:7071" {
		t.Errorf("host %q", r.Host)
	}
}
