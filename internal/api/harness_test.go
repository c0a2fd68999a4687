package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"

	"github.com/meshgate/meshgate/internal/api"
	"github.com/meshgate/meshgate/internal/service"
	"github.com/meshgate/meshgate/internal/store/sqlite"
)

// The fixed identity of every test server.
const (
	testAccount = "111122223333"
	testRegion  = "us-west-2"
	arnPrefix   = "arn:aws:appmesh:" + testRegion + ":" + testAccount + ":"
)

// serverOptions tunes one test server.
type serverOptions struct {
	quotas *service.Quotas
	now    func() time.Time
}

type serverOption func(*serverOptions)

// withQuotas starts from AWS's default quotas and lets edit change them.
func withQuotas(edit func(q *service.Quotas)) serverOption {
	return func(o *serverOptions) {
		q := service.DefaultQuotas()
		edit(&q)
		o.quotas = &q
	}
}

// withClock replaces the server's clock.
func withClock(now func() time.Time) serverOption {
	return func(o *serverOptions) { o.now = now }
}

// tickingClock returns a time one second later at every call, so that every
// write the server makes has its own, strictly later, timestamp whatever the
// wall clock does. It is safe for concurrent use.
type tickingClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTickingClock() *tickingClock {
	return &tickingClock{t: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *tickingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// testServer is a real meshgate API server on 127.0.0.1 and an AWS SDK
// client pointed at it.
type testServer struct {
	client *appmesh.Client
	url    string // http://127.0.0.1:PORT
}

// newClient starts a server (see startServer) and returns its SDK client.
func newClient(t *testing.T, opts ...serverOption) *appmesh.Client {
	t.Helper()
	return startServer(t, opts...).client
}

// startServer starts a real server: a SQLite store in t.TempDir(), the
// service for account 111122223333 in us-west-2, the API handler and an
// http.Server on an ephemeral 127.0.0.1 port, all closed in t.Cleanup. The
// client has static dummy credentials and no retries, so every error is
// seen as the server sent it. By default the server's clock ticks one
// second per reading (see tickingClock).
func startServer(t *testing.T, opts ...serverOption) *testServer {
	t.Helper()
	o := serverOptions{now: newTickingClock().Now}
	for _, opt := range opts {
		opt(&o)
	}

	st, err := sqlite.Open(filepath.Join(t.TempDir(), "meshgate.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	logger := slog.New(slog.DiscardHandler)
	cfg := service.Config{Region: testRegion, AccountID: testAccount, Now: o.now, Logger: logger}
	if o.quotas != nil {
		cfg.Quotas = *o.quotas
	}
	svc, err := service.New(st, cfg)
	if err != nil {
		st.Close()
		t.Fatalf("service.New: %v", err)
	}
	h, err := api.New(svc, logger)
	if err != nil {
		st.Close()
		t.Fatalf("api.New: %v", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		t.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	httpClient := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("server shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("server stopped with: %v", err)
		}
		httpClient.CloseIdleConnections()
		if err := st.Close(); err != nil {
			t.Errorf("store close: %v", err)
		}
	})

	url := "http://" + ln.Addr().String()
	client := appmesh.New(appmesh.Options{
		BaseEndpoint:     aws.String(url),
		Region:           testRegion,
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
		Retryer:          aws.NopRetryer{},
		RetryMaxAttempts: 1,
		HTTPClient:       httpClient,
	})
	return &testServer{client: client, url: url}
}

// ctx returns a context for one test's calls.
func ctx(t *testing.T) context.Context { return t.Context() }

// ---- assertion helpers ----

// wantErr asserts that err is the SDK error type E and that its message
// contains every fragment; it returns the typed error.
func wantErr[E interface {
	error
	ErrorMessage() string
}](t *testing.T, err error, fragments ...string) E {
	t.Helper()
	var target E
	if err == nil {
		t.Fatalf("got no error, want %T", target)
	}
	if !errors.As(err, &target) {
		t.Fatalf("got error %T: %v; want %T", err, err, target)
	}
	msg := target.ErrorMessage()
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			t.Errorf("%T message %q does not mention %q", target, msg, f)
		}
	}
	return target
}

func notFound(t *testing.T, err error, fragments ...string) {
	t.Helper()
	wantErr[*types.NotFoundException](t, err, fragments...)
}

func badRequest(t *testing.T, err error, fragments ...string) {
	t.Helper()
	wantErr[*types.BadRequestException](t, err, fragments...)
}

func conflict(t *testing.T, err error, fragments ...string) {
	t.Helper()
	wantErr[*types.ConflictException](t, err, fragments...)
}

func inUse(t *testing.T, err error, fragments ...string) {
	t.Helper()
	wantErr[*types.ResourceInUseException](t, err, fragments...)
}

func limitExceeded(t *testing.T, err error, fragments ...string) {
	t.Helper()
	wantErr[*types.LimitExceededException](t, err, fragments...)
}

// result holds an SDK call's two results so that res(c.Op(...)).ok(t)
// unwraps them in one expression.
type result[T any] struct {
	v   T
	err error
}

func res[T any](v T, err error) result[T] { return result[T]{v, err} }

// ok fails the test on an error and returns the output.
func (r result[T]) ok(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatalf("unexpected error: %v", r.err)
	}
	return r.v
}

// sameSpec asserts that the spec a server returned is the one sent, member
// for member (no defaults added, nothing dropped).
func sameSpec(t *testing.T, what string, want, got any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%s: spec not echoed exactly\n sent: %s\n  got: %s", what, dump(want), dump(got))
	}
}

func dump(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// checkCreated asserts the metadata of a resource just created.
func checkCreated(t *testing.T, what string, m *types.ResourceMetadata, wantARN string) {
	t.Helper()
	if m == nil {
		t.Fatalf("%s: no metadata", what)
	}
	if got := deref(m.Arn); got != wantARN {
		t.Errorf("%s: arn = %q, want %q", what, got, wantARN)
	}
	if deref(m.Uid) == "" {
		t.Errorf("%s: uid is empty", what)
	}
	if got := deref(m.Version); got != 1 {
		t.Errorf("%s: version = %d, want 1", what, got)
	}
	if got := deref(m.MeshOwner); got != testAccount {
		t.Errorf("%s: meshOwner = %q, want %q", what, got, testAccount)
	}
	if got := deref(m.ResourceOwner); got != testAccount {
		t.Errorf("%s: resourceOwner = %q, want %q", what, got, testAccount)
	}
	if m.CreatedAt == nil || m.CreatedAt.IsZero() {
		t.Fatalf("%s: createdAt missing", what)
	}
	if m.LastUpdatedAt == nil || !m.LastUpdatedAt.Equal(*m.CreatedAt) {
		t.Errorf("%s: lastUpdatedAt = %v, want createdAt %v", what, m.LastUpdatedAt, m.CreatedAt)
	}
}

// checkUpdated asserts the metadata after one update of the resource whose
// metadata was before.
func checkUpdated(t *testing.T, what string, before, after *types.ResourceMetadata) {
	t.Helper()
	if after == nil {
		t.Fatalf("%s: no metadata", what)
	}
	if deref(after.Arn) != deref(before.Arn) || deref(after.Uid) != deref(before.Uid) {
		t.Errorf("%s: arn/uid changed on update: %q/%q -> %q/%q", what, deref(before.Arn), deref(before.Uid), deref(after.Arn), deref(after.Uid))
	}
	if got, want := deref(after.Version), deref(before.Version)+1; got != want {
		t.Errorf("%s: version after update = %d, want %d", what, got, want)
	}
	if !after.CreatedAt.Equal(*before.CreatedAt) {
		t.Errorf("%s: createdAt changed on update: %v -> %v", what, before.CreatedAt, after.CreatedAt)
	}
	if !after.LastUpdatedAt.After(*before.LastUpdatedAt) {
		t.Errorf("%s: lastUpdatedAt did not advance: %v -> %v", what, before.LastUpdatedAt, after.LastUpdatedAt)
	}
	if deref(after.MeshOwner) != testAccount || deref(after.ResourceOwner) != testAccount {
		t.Errorf("%s: owners after update = %q/%q", what, deref(after.MeshOwner), deref(after.ResourceOwner))
	}
}

// checkDeleted asserts the metadata a Delete returns: the resource as it was,
// version+1 for a child resource and unchanged for a mesh, lastUpdatedAt now.
func checkDeleted(t *testing.T, what string, before, after *types.ResourceMetadata, isMesh bool) {
	t.Helper()
	if after == nil {
		t.Fatalf("%s: no metadata", what)
	}
	if deref(after.Arn) != deref(before.Arn) || deref(after.Uid) != deref(before.Uid) {
		t.Errorf("%s: arn/uid changed on delete: %q/%q -> %q/%q", what, deref(before.Arn), deref(before.Uid), deref(after.Arn), deref(after.Uid))
	}
	want := deref(before.Version) + 1
	if isMesh {
		want = deref(before.Version)
	}
	if got := deref(after.Version); got != want {
		t.Errorf("%s: version in delete response = %d, want %d", what, got, want)
	}
	if !after.CreatedAt.Equal(*before.CreatedAt) {
		t.Errorf("%s: createdAt changed on delete: %v -> %v", what, before.CreatedAt, after.CreatedAt)
	}
	if !after.LastUpdatedAt.After(*before.LastUpdatedAt) {
		t.Errorf("%s: lastUpdatedAt did not advance on delete: %v -> %v", what, before.LastUpdatedAt, after.LastUpdatedAt)
	}
}

// checkRef asserts the fields a list Ref shares with the resource metadata.
func checkRef(t *testing.T, what string, m *types.ResourceMetadata, arn *string, createdAt, lastUpdatedAt *time.Time, meshOwner, resourceOwner *string, version *int64) {
	t.Helper()
	if deref(arn) != deref(m.Arn) {
		t.Errorf("%s: ref arn = %q, want %q", what, deref(arn), deref(m.Arn))
	}
	if createdAt == nil || !createdAt.Equal(*m.CreatedAt) {
		t.Errorf("%s: ref createdAt = %v, want %v", what, createdAt, m.CreatedAt)
	}
	if lastUpdatedAt == nil || !lastUpdatedAt.Equal(*m.LastUpdatedAt) {
		t.Errorf("%s: ref lastUpdatedAt = %v, want %v", what, lastUpdatedAt, m.LastUpdatedAt)
	}
	if deref(meshOwner) != testAccount || deref(resourceOwner) != testAccount {
		t.Errorf("%s: ref owners = %q/%q", what, deref(meshOwner), deref(resourceOwner))
	}
	if deref(version) != deref(m.Version) {
		t.Errorf("%s: ref version = %d, want %d", what, deref(version), deref(m.Version))
	}
}

// ---- fixtures: small valid specs and setup calls ----

func mkMesh(t *testing.T, c *appmesh.Client, name string) *types.MeshData {
	t.Helper()
	return res(c.CreateMesh(ctx(t), &appmesh.CreateMeshInput{MeshName: aws.String(name)})).ok(t).Mesh
}

// nodeSpec is a virtual node with one http listener per port and DNS
// service discovery.
func nodeSpec(host string, ports ...int32) *types.VirtualNodeSpec {
	s := &types.VirtualNodeSpec{}
	for _, p := range ports {
		s.Listeners = append(s.Listeners, types.Listener{PortMapping: &types.PortMapping{Port: aws.Int32(p), Protocol: types.PortProtocolHttp}})
	}
	if len(ports) > 0 {
		s.ServiceDiscovery = &types.ServiceDiscoveryMemberDns{Value: types.DnsServiceDiscovery{Hostname: aws.String(host)}}
	}
	return s
}

func mkNode(t *testing.T, c *appmesh.Client, mesh, name string, ports ...int32) *types.VirtualNodeData {
	t.Helper()
	return res(c.CreateVirtualNode(ctx(t), &appmesh.CreateVirtualNodeInput{
		MeshName: aws.String(mesh), VirtualNodeName: aws.String(name), Spec: nodeSpec(name+".local", ports...),
	})).ok(t).VirtualNode
}

func routerSpec(protocol types.PortProtocol, ports ...int32) *types.VirtualRouterSpec {
	s := &types.VirtualRouterSpec{}
	for _, p := range ports {
		s.Listeners = append(s.Listeners, types.VirtualRouterListener{PortMapping: &types.PortMapping{Port: aws.Int32(p), Protocol: protocol}})
	}
	return s
}

func mkRouter(t *testing.T, c *appmesh.Client, mesh, name string, ports ...int32) *types.VirtualRouterData {
	t.Helper()
	return res(c.CreateVirtualRouter(ctx(t), &appmesh.CreateVirtualRouterInput{
		MeshName: aws.String(mesh), VirtualRouterName: aws.String(name), Spec: routerSpec(types.PortProtocolHttp, ports...),
	})).ok(t).VirtualRouter
}

// httpRouteSpec routes prefix to one node (port 0 = no target port).
func httpRouteSpec(prefix, node string, port int32) *types.RouteSpec {
	wt := types.WeightedTarget{VirtualNode: aws.String(node), Weight: 1}
	if port != 0 {
		wt.Port = aws.Int32(port)
	}
	return &types.RouteSpec{HttpRoute: &types.HttpRoute{
		Match:  &types.HttpRouteMatch{Prefix: aws.String(prefix)},
		Action: &types.HttpRouteAction{WeightedTargets: []types.WeightedTarget{wt}},
	}}
}

func mkRoute(t *testing.T, c *appmesh.Client, mesh, router, name string, spec *types.RouteSpec) *types.RouteData {
	t.Helper()
	return res(c.CreateRoute(ctx(t), &appmesh.CreateRouteInput{
		MeshName: aws.String(mesh), VirtualRouterName: aws.String(router), RouteName: aws.String(name), Spec: spec,
	})).ok(t).Route
}

func nodeProvider(node string) *types.VirtualServiceSpec {
	return &types.VirtualServiceSpec{Provider: &types.VirtualServiceProviderMemberVirtualNode{
		Value: types.VirtualNodeServiceProvider{VirtualNodeName: aws.String(node)}}}
}

func routerProvider(router string) *types.VirtualServiceSpec {
	return &types.VirtualServiceSpec{Provider: &types.VirtualServiceProviderMemberVirtualRouter{
		Value: types.VirtualRouterServiceProvider{VirtualRouterName: aws.String(router)}}}
}

func mkService(t *testing.T, c *appmesh.Client, mesh, name string, spec *types.VirtualServiceSpec) *types.VirtualServiceData {
	t.Helper()
	if spec == nil {
		spec = &types.VirtualServiceSpec{}
	}
	return res(c.CreateVirtualService(ctx(t), &appmesh.CreateVirtualServiceInput{
		MeshName: aws.String(mesh), VirtualServiceName: aws.String(name), Spec: spec,
	})).ok(t).VirtualService
}

func gatewaySpec(protocol types.VirtualGatewayPortProtocol, ports ...int32) *types.VirtualGatewaySpec {
	s := &types.VirtualGatewaySpec{}
	for _, p := range ports {
		s.Listeners = append(s.Listeners, types.VirtualGatewayListener{PortMapping: &types.VirtualGatewayPortMapping{Port: aws.Int32(p), Protocol: protocol}})
	}
	return s
}

func mkGateway(t *testing.T, c *appmesh.Client, mesh, name string, ports ...int32) *types.VirtualGatewayData {
	t.Helper()
	return res(c.CreateVirtualGateway(ctx(t), &appmesh.CreateVirtualGatewayInput{
		MeshName: aws.String(mesh), VirtualGatewayName: aws.String(name), Spec: gatewaySpec(types.VirtualGatewayPortProtocolHttp, ports...),
	})).ok(t).VirtualGateway
}

// gwRouteSpec is an httpRoute matching prefix (and port when matchPort != 0)
// to a virtual service (on targetPort when != 0), without priority.
func gwRouteSpec(prefix string, matchPort int32, service string, targetPort int32) *types.GatewayRouteSpec {
	m := &types.HttpGatewayRouteMatch{Prefix: aws.String(prefix)}
	if matchPort != 0 {
		m.Port = aws.Int32(matchPort)
	}
	tg := &types.GatewayRouteTarget{VirtualService: &types.GatewayRouteVirtualService{VirtualServiceName: aws.String(service)}}
	if targetPort != 0 {
		tg.Port = aws.Int32(targetPort)
	}
	return &types.GatewayRouteSpec{HttpRoute: &types.HttpGatewayRoute{Match: m, Action: &types.HttpGatewayRouteAction{Target: tg}}}
}

func mkGatewayRoute(t *testing.T, c *appmesh.Client, mesh, gateway, name string, spec *types.GatewayRouteSpec) *types.GatewayRouteData {
	t.Helper()
	return res(c.CreateGatewayRoute(ctx(t), &appmesh.CreateGatewayRouteInput{
		MeshName: aws.String(mesh), VirtualGatewayName: aws.String(gateway), GatewayRouteName: aws.String(name), Spec: spec,
	})).ok(t).GatewayRoute
}
