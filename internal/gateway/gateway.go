// Package gateway is meshgate's Go-native virtual gateway: it serves a
// gateway's listeners from its IR as App Mesh's Envoy did (routing,
// rewrites, the router stage, retries, timeouts, TLS, connection pools),
// swapping configurations atomically without dropping in-flight requests,
// websockets or gRPC streams.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshgate/meshgate/internal/gateway/accesslog"
	"github.com/meshgate/meshgate/internal/gateway/metrics"
	"github.com/meshgate/meshgate/internal/gateway/router"
	"github.com/meshgate/meshgate/internal/gateway/upstream"
	"github.com/meshgate/meshgate/internal/ir"
)

// Options configure a Gateway.
type Options struct {
	// ListenHost is the address listeners bind to ("" = all interfaces,
	// like Envoy's 0.0.0.0).
	ListenHost string
	// Upstreams opens clusters; tests may replace it.
	Upstreams Upstreams
	Logger    *slog.Logger
	// ReadHeaderTimeout and IdleTimeout bound slow and idle clients.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	// MaxHeaderBytes caps request headers (and the request line).
	MaxHeaderBytes int
	// Metrics, when set, receives the gateway's metrics.
	Metrics *metrics.Metrics
	// EdgeLimits are the request limits and header policies applied
	// before routing (hygiene.go).
	EdgeLimits
}

// state is one applied configuration; each request loads it once.
type state struct {
	version string
	// config is the configuration as /config_dump shows it. The decoded IR
	// is not kept: what requests read of it is compiled into the table and
	// the limits, and with 10,000 routes its decoded form was most of the
	// heap the collector marks at every cycle.
	config        []byte
	accessLogPath string // "" without an access log
	table         *router.Table
	limits        map[uint32]*limiter // by listener port, one for each listener
	accessFormat  *accesslog.Format   // nil: no access log
	accessLog     *accesslog.Logger
	observers     observers
}

// observers are the metric handles of one configuration, resolved once so
// a request observes without lookups by name in the metrics registry.
type observers struct {
	listeners map[uint32]*metrics.ListenerMetrics
	routes    []*metrics.RouteMetrics // by router.Decision.GatewayRouteID
	clusters  map[string]*metrics.ClusterMetrics
}

// Gateway serves one virtual gateway.
type Gateway struct {
	opts      Options
	log       *slog.Logger
	errorLog  *log.Logger
	state     atomic.Pointer[state]
	upstreams Upstreams
	draining  atomic.Bool

	mu        sync.Mutex // serializes Apply and Shutdown
	listeners map[uint32]*listener
	closed    bool
}

// New returns a gateway with no configuration: it listens nowhere until
// the first Apply.
func New(opts Options) *Gateway {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Upstreams == nil {
		opts.Upstreams = NewUpstreams(upstream.Options{Logger: opts.Logger, Metrics: opts.Metrics.Upstream()})
	}
	if opts.ReadHeaderTimeout == 0 {
		opts.ReadHeaderTimeout = 10 * time.Second
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = 300 * time.Second // App Mesh's listener idle default
	}
	if opts.MaxHeaderBytes == 0 {
		opts.MaxHeaderBytes = 60 << 10 // Envoy's default max_request_headers_kb is 60
	}
	g := &Gateway{opts: opts, log: opts.Logger, upstreams: opts.Upstreams, listeners: map[uint32]*listener{}}
	g.errorLog = slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug)
	return g
}

// Version is the applied configuration's version, "" before the first.
func (g *Gateway) Version() string {
	if st := g.state.Load(); st != nil {
		return st.version
	}
	return ""
}

// Config is the applied configuration in its JSON form, nil before the
// first.
func (g *Gateway) Config() json.RawMessage {
	if st := g.state.Load(); st != nil {
		return st.config
	}
	return nil
}

// Ready reports whether a configuration is applied and every listener is
// bound, and the gateway is not draining.
func (g *Gateway) Ready() bool {
	st := g.state.Load()
	if st == nil || g.draining.Load() {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for port := range st.limits {
		if _, ok := g.listeners[port]; !ok {
			return false
		}
	}
	return true
}

// Apply makes cfg the gateway's configuration. It either applies all of it
// or nothing: a configuration that does not compile, or a listener that
// cannot bind, is refused (the caller NACKs it) and the last good
// configuration keeps serving. Listeners whose port, protocol and TLS are
// unchanged keep their sockets and connections; upstream clusters that are
// unchanged keep their pools and health state.
func (g *Gateway) Apply(cfg *ir.Gateway, version string) error {
	return g.ApplyEncoded(cfg, cfg.JSON(), version)
}

// ApplyEncoded is Apply for a configuration that arrived encoded: raw is
// the JSON cfg was decoded from (ir.Gateway.JSON's, from the server that
// encoded it), which the gateway keeps for /config_dump instead of cfg.
func (g *Gateway) ApplyEncoded(cfg *ir.Gateway, raw []byte, version string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	err := g.apply(cfg, raw, version)
	if err != nil {
		g.opts.Metrics.ConfigRejected()
	}
	return err
}

func (g *Gateway) apply(cfg *ir.Gateway, raw []byte, version string) error {
	if g.closed {
		return errors.New("gateway is shut down")
	}
	table, err := router.Compile(cfg)
	if err != nil {
		return err
	}
	st := &state{version: version, config: raw, table: table, limits: map[uint32]*limiter{}}
	if st.accessFormat, err = accesslog.CompileConfig(cfg.AccessLog); err != nil {
		return fmt.Errorf("access log: %w", err)
	}
	prev := g.state.Load()
	var openedLog *accesslog.Logger
	if cfg.AccessLog != nil {
		st.accessLogPath = cfg.AccessLog.Path
		if prev != nil && prev.accessLog != nil && prev.accessLogPath == cfg.AccessLog.Path {
			st.accessLog = prev.accessLog
		} else {
			l, err := accesslog.Open(cfg.AccessLog.Path, accesslog.Options{OnDrop: g.opts.Metrics.AccessLogDropped})
			if err != nil {
				return fmt.Errorf("access log: %w", err)
			}
			st.accessLog, openedLog = l, l
		}
	}
	st.observers = g.resolveObservers(cfg, table)
	// Listeners to open, keep and close.
	want := map[uint32]ir.Listener{}
	for _, l := range cfg.Listeners {
		want[l.Port] = l
		st.limits[l.Port] = newLimiter(l.Limits, l.Protocol)
	}
	// Prepare everything that can fail before changing anything.
	var opened []*listener
	swaps := map[*listener]*serving{} // servers prepared for listeners that stay
	fail := func(err error) error {
		for _, s := range swaps {
			s.shutdown(context.Background())
		}
		for _, l := range opened {
			l.close(context.Background())
		}
		if openedLog != nil {
			openedLog.Close()
		}
		return err
	}
	next := map[uint32]*listener{}
	for port, l := range want {
		cur, ok := g.listeners[port]
		switch {
		case ok && cur.sameAs(l):
			next[port] = cur
		case ok:
			s, err := g.newServing(l)
			if err != nil {
				return fail(fmt.Errorf("listener %d: %w", port, err))
			}
			swaps[cur] = s
			next[port] = cur
		default:
			nl, err := g.openListener(l)
			if err != nil {
				return fail(fmt.Errorf("listener %d: %w", port, err))
			}
			opened = append(opened, nl)
			next[port] = nl
		}
	}
	if err := g.upstreams.Update(cfg.Clusters); err != nil {
		return fail(err)
	}
	// Commit.
	g.state.Store(st)
	if prev != nil && prev.accessLog != nil && prev.accessLog != st.accessLog {
		old := prev.accessLog
		time.AfterFunc(5*time.Second, func() { old.Close() }) // after requests of the old state logged
	}
	g.opts.Metrics.Prune(metrics.NamesOf(cfg))
	g.opts.Metrics.ConfigApplied(version)
	for l, s := range swaps {
		l.swap(s)
	}
	for port, l := range g.listeners {
		if _, ok := next[port]; !ok {
			go l.close(context.Background())
		}
	}
	g.listeners = next
	ports := slices.Sorted(func(yield func(uint32) bool) {
		for p := range next {
			if !yield(p) {
				return
			}
		}
	})
	g.log.Info("gateway configuration applied", "version", version, "listeners", ports,
		"clusters", len(cfg.Clusters))
	return nil
}

// resolveObservers takes the gateway routes' names from the table, whose
// strings it keeps anyway, rather than from the IR: the IR's are one
// allocation each.
func (g *Gateway) resolveObservers(cfg *ir.Gateway, table *router.Table) observers {
	o := observers{listeners: map[uint32]*metrics.ListenerMetrics{},
		routes: make([]*metrics.RouteMetrics, table.GatewayRouteCount()), clusters: map[string]*metrics.ClusterMetrics{}}
	m := g.opts.Metrics
	if m == nil {
		return o
	}
	for _, l := range cfg.Listeners {
		o.listeners[l.Port] = m.Listener(l.Port)
	}
	for id, name := range table.GatewayRoutes() {
		o.routes[id] = m.Route(name)
	}
	for _, c := range cfg.Clusters {
		o.clusters[c.Name] = m.Cluster(c.Name)
	}
	return o
}

// Drain starts a graceful stop: readiness turns off and HTTP/1 responses
// carry Connection: close so clients move elsewhere, while requests are
// still served.
func (g *Gateway) Drain() { g.draining.Store(true) }

// Shutdown stops accepting connections, sends HTTP/2 GOAWAY, waits for
// in-flight requests until ctx ends, then closes everything.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	g.closed = true
	ls := g.listeners
	g.listeners = map[uint32]*listener{}
	g.mu.Unlock()
	var wg sync.WaitGroup
	var errs []error
	var emu sync.Mutex
	for _, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.close(ctx); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		}()
	}
	wg.Wait()
	g.upstreams.Close()
	if st := g.state.Load(); st != nil && st.accessLog != nil {
		st.accessLog.Close()
	}
	return errors.Join(errs...)
}

// Addr returns the bound address of a listener port (tests bind port 0
// through ListenHost mapping), or nil.
func (g *Gateway) Addr(port uint32) net.Addr {
	g.mu.Lock()
	defer g.mu.Unlock()
	if l, ok := g.listeners[port]; ok {
		return l.raw.Addr()
	}
	return nil
}

var _ http.Handler = (*proxy)(nil)
