package xds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	clusterservice "github.com/envoyproxy/go-control-plane/envoy/service/cluster/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	endpointservice "github.com/envoyproxy/go-control-plane/envoy/service/endpoint/v3"
	listenerservice "github.com/envoyproxy/go-control-plane/envoy/service/listener/v3"
	routeservice "github.com/envoyproxy/go-control-plane/envoy/service/route/v3"
	secretservice "github.com/envoyproxy/go-control-plane/envoy/service/secret/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/server/sotw/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/meshgate/meshgate/internal/store"
)

// Config configures a Server.
type Config struct {
	Store store.Store
	// Region and AccountID are this server's; a full-ARN node.id must
	// carry them.
	Region, AccountID string
	// Envoy translates a gateway's IR to Envoy resources (translate/envoy).
	Envoy EnvoyFunc
	// TLSCertFile and TLSKeyFile, when set, make the TCP listener speak
	// TLS (the App Mesh Envoy image's TCP mode). The unix socket stays
	// plaintext.
	TLSCertFile, TLSKeyFile string
	// Auth authenticates and authorizes proxies on the TCP listener (see
	// auth.go). The unix socket is never authenticated.
	Auth AuthConfig
	// Registry receives the server's metrics (default: a new registry).
	Registry *prometheus.Registry
	Logger   *slog.Logger
	// PollInterval is how often the store's revision is read (default 50ms).
	PollInterval time.Duration
	// Grace bounds how long a make-before-break step waits for ACKs
	// (default 5s).
	Grace time.Duration
	// MaxProxiesPerGateway refuses more proxies of one gateway with
	// RESOURCE_EXHAUSTED, App Mesh's "Connected Envoy processes per virtual
	// gateway" quota (default 50; negative: no limit).
	MaxProxiesPerGateway int
}

// DefaultMaxProxiesPerGateway is App Mesh's default quota.
const DefaultMaxProxiesPerGateway = 50

// Server is the xDS management server.
type Server struct {
	cfg     Config
	log     *slog.Logger
	id      identity
	m       *metrics
	reg     *prometheus.Registry
	cache   cache.SnapshotCache
	tracker *tracker
	sync    *syncer
	creds   credentials.TransportCredentials // nil: plaintext TCP
	auth    *authn                           // the TCP listener's
	unix    *authn                           // the unix socket's: trusted

	tcpGRPC *grpc.Server // while Run serves TCP; for tests

	mu      sync.Mutex
	ctx     context.Context // Run's; used by callbacks for store reads
	serving bool
}

// New checks cfg and builds a Server; Run serves it.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("xds: no store")
	}
	if cfg.Envoy == nil {
		return nil, errors.New("xds: no Envoy translator")
	}
	if cfg.Region == "" || cfg.AccountID == "" {
		return nil, errors.New("xds: region and account id are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 50 * time.Millisecond
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 5 * time.Second
	}
	if cfg.MaxProxiesPerGateway == 0 {
		cfg.MaxProxiesPerGateway = DefaultMaxProxiesPerGateway
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, id: identity{region: cfg.Region, account: cfg.AccountID}, m: m,
		reg: cfg.Registry, tracker: newTracker(), ctx: context.Background()}
	if s.auth, err = newAuthn(s.id, cfg.Auth); err != nil {
		return nil, err
	}
	s.unix = &authn{id: s.id, local: true}
	if cfg.TLSCertFile != "" || cfg.TLSKeyFile != "" {
		if s.creds, err = serverTLS(cfg.TLSCertFile, cfg.TLSKeyFile, s.auth.ca, s.auth.mode == AuthMTLS); err != nil {
			return nil, err
		}
	} else if cfg.Auth.ClientCAFile != "" {
		return nil, errors.New("xds: a client CA needs TLS on the TCP listener (a certificate and key)")
	}
	// ADS mode: EDS and RDS requests are answered only when they name
	// every resource of the snapshot, which is what keeps a proxy from
	// getting routes before the clusters they use.
	s.cache = cache.NewSnapshotCache(true, nodeHash{s.id}, cpLogger{s.log})
	s.sync = newSyncer(s)
	return s, nil
}

// Kick makes the server look at the store now instead of at the next poll;
// in-process writers call it after a write.
func (s *Server) Kick() { s.sync.Kick() }

// Ready is closed once the first full sync is done.
func (s *Server) Ready() <-chan struct{} { return s.sync.ready }

// Registry is where the server's metrics are.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

func (s *Server) baseCtx() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ctx
}

// Run serves xDS on tcp (TLS when configured) and unix (always plaintext);
// either may be nil. It returns when ctx ends, after closing every stream,
// or when a listener fails.
func (s *Server) Run(ctx context.Context, tcp, unix net.Listener) error {
	s.mu.Lock()
	if s.serving {
		s.mu.Unlock()
		return errors.New("xds: server already running")
	}
	s.serving, s.ctx = true, ctx
	s.mu.Unlock()

	// Cancelling streamCtx ends every stream's handler in go-control-plane,
	// which GracefulStop needs: ADS streams otherwise live for ever.
	streamCtx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	handlers := serverv3.NewServer(streamCtx, s.cache, callbacks{s}, sotw.WithOrderedADS(), sotw.WithLogger(cpLogger{s.log}))

	tagger := &connTagger{}
	newGRPC := func(creds credentials.TransportCredentials, a *authn) *grpc.Server {
		authUnary, authStream := s.interceptors(a)
		opts := []grpc.ServerOption{
			grpc.StatsHandler(tagger),
			// Authentication runs inside streamInterceptor so that it can
			// end a stream with PERMISSION_DENIED; it runs before any
			// handler, and for unary calls (Fetch*) too.
			grpc.ChainStreamInterceptor(streamInterceptor, authStream),
			grpc.ChainUnaryInterceptor(authUnary),
			// Envoy (and the App Mesh image) ping every 10 s or so; refusing
			// those pings would make gRPC close the connection.
			grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
			grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
			grpc.MaxConcurrentStreams(100),
		}
		if creds != nil {
			opts = append(opts, grpc.Creds(creds))
		}
		g := grpc.NewServer(opts...)
		discovery.RegisterAggregatedDiscoveryServiceServer(g, handlers)
		listenerservice.RegisterListenerDiscoveryServiceServer(g, handlers)
		routeservice.RegisterRouteDiscoveryServiceServer(g, handlers)
		clusterservice.RegisterClusterDiscoveryServiceServer(g, handlers)
		endpointservice.RegisterEndpointDiscoveryServiceServer(g, handlers)
		secretservice.RegisterSecretDiscoveryServiceServer(g, handlers)
		return g
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	syncCtx, stopSync := context.WithCancel(ctx)
	defer stopSync()
	wg.Go(func() { s.sync.run(syncCtx) })

	errc := make(chan error, 2)
	var servers []*grpc.Server
	serve := func(ln net.Listener, creds credentials.TransportCredentials, a *authn, what string) *grpc.Server {
		g := newGRPC(creds, a)
		servers = append(servers, g)
		wg.Go(func() {
			if err := g.Serve(ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				errc <- fmt.Errorf("xds %s listener %s: %w", what, ln.Addr(), err)
			}
		})
		return g
	}
	if tcp != nil {
		g := serve(tcp, s.creds, s.auth, "tcp")
		s.mu.Lock()
		s.tcpGRPC = g
		s.mu.Unlock()
		s.logAuth(tcp.Addr())
	}
	if unix != nil {
		serve(unix, nil, s.unix, "unix")
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	stopStreams()
	stopSync()
	for _, g := range servers {
		stopGRPC(g)
	}
	return err
}

// stopGRPC stops gracefully, within bounds: a proxy that does not go away
// does not hold the process.
func stopGRPC(g *grpc.Server) {
	done := make(chan struct{})
	go func() { g.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		g.Stop()
		<-done
	}
}

// logAuth says at start how the TCP listener is protected, loudly when it
// is not.
func (s *Server) logAuth(addr net.Addr) {
	a := s.auth
	loopback := false
	if ta, ok := addr.(*net.TCPAddr); ok {
		loopback = ta.IP.IsLoopback()
	}
	if a.mode == AuthNone {
		s.log.Warn("xDS AUTHENTICATION IS OFF (--xds-auth none): any client that reaches this address and names an existing "+
			"virtual gateway in node.id gets its configuration, secrets included; use --xds-auth mtls or token, or keep the port on loopback",
			"addr", addr.String(), "tls", s.creds != nil)
		if s.creds == nil && !loopback {
			s.log.Warn("xDS TCP listener without TLS on a non-loopback address: anyone who can reach it gets gateway configs",
				"addr", addr.String())
		}
		return
	}
	var accepts []string
	if a.certs {
		accepts = append(accepts, "client certificates")
	}
	if a.tokens != nil {
		accepts = append(accepts, fmt.Sprintf("bearer tokens (%d)", a.tokens.Len()))
	}
	if a.sigv4 != nil {
		accepts = append(accepts, "SigV4 signatures")
	}
	s.log.Info("xDS authentication on", "mode", string(a.mode), "accepts", strings.Join(accepts, ", "),
		"addr", addr.String(), "tls", s.creds != nil)
	if s.creds == nil && !loopback {
		s.log.Warn("xDS bearer tokens and signatures travel without TLS on a non-loopback address: anyone on the path can "+
			"replay them; set --xds-tls-cert and --xds-tls-key", "addr", addr.String())
	}
}

// grpcServices lists the TCP server's services and methods while it runs.
func (s *Server) grpcServices() map[string]grpc.ServiceInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tcpGRPC == nil {
		return nil
	}
	return s.tcpGRPC.GetServiceInfo()
}
