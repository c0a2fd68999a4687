package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
)

// Cluster is the upstream for one ir.Cluster. It is safe for concurrent
// use; the request path takes no lock: it reads an immutable snapshot of
// the endpoints that can take traffic and advances an atomic counter.
type Cluster struct {
	name   string
	cfg    ir.Cluster
	opts   *Options
	log    *slog.Logger
	drain  *drainer
	port   uint16
	scheme string // "http" or "https"
	h2     bool
	dialer net.Dialer

	tlsTraffic *tls.Config // nil for plaintext
	tlsProbe   *tls.Config // the same with the health check's ALPN
	failWith   error       // every request fails with it (*ConfigError)
	cfgErr     error       // reported by Err; failWith or a discovery problem
	hc         *healthConfig
	od         *outlierConfig

	state  atomic.Pointer[lbState]
	warmed atomic.Bool
	warm   chan struct{}
	warmMu sync.Once

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine of the cluster
	done   chan struct{}  // closed when wg is done, after stop

	mu         sync.Mutex
	endpoints  []*endpoint // sorted by address; replaced, never modified
	dnsFailing bool
	inPanic    bool
	stopped    bool
	closeOnce  sync.Once

	// rr is written by every request: padding keeps it off the cache
	// lines of the fields every request only reads.
	_  [64]byte
	rr atomic.Uint64
	_  [56]byte
}

// lbState is what the request path reads: pick is the endpoints that take
// traffic now (the healthy ones, or all of them in panic mode).
type lbState struct {
	all   []*endpoint
	pick  []*endpoint
	panic bool
}

// EndpointStatus is one endpoint as the admin interface shows it.
type EndpointStatus struct {
	Address netip.AddrPort `json:"address"`
	// Healthy is the active health check's verdict (always true without
	// health checks).
	Healthy bool `json:"healthy"`
	Ejected bool `json:"ejected"`
	// Ejections counts outlier ejections so far.
	Ejections uint32 `json:"ejections,omitempty"`
}

func newCluster(cfg ir.Cluster, opts *Options, d *drainer, seed []netip.AddrPort) *Cluster {
	c := &Cluster{
		name:   cfg.Name,
		cfg:    cfg,
		opts:   opts,
		log:    opts.Logger.With("cluster", cfg.Name),
		drain:  d,
		scheme: "http",
		h2:     usesHTTP2(cfg.Protocol),
		warm:   make(chan struct{}),
		done:   make(chan struct{}),
		dialer: net.Dialer{Timeout: opts.ConnectTimeout},
	}
	c.state.Store(&lbState{})
	c.ctx, c.cancel = context.WithCancel(context.Background())

	port := cfg.Discovery.Port
	if port == 0 {
		port = cfg.Port
	}
	var literal netip.Addr
	var isLiteral bool
	switch {
	case port == 0 || port > 65535:
		c.cfgErr = &ConfigError{Cluster: c.name, Err: fmt.Errorf("invalid endpoint port %d", port)}
	case cfg.Discovery.Hostname == "":
		c.cfgErr = &ConfigError{Cluster: c.name, Err: errors.New("no DNS hostname to discover endpoints with")}
	default:
		c.port = uint16(port)
		literal, isLiteral = literalAddr(cfg.Discovery.Hostname)
	}

	if cfg.TLS != nil {
		c.scheme = "https"
		src, err := newTLSSource(c.name, cfg.TLS, opts)
		if err != nil {
			c.failWith = &ConfigError{Cluster: c.name, Err: err}
			c.cfgErr = c.failWith
		} else {
			c.tlsTraffic = src.config(cfg.TLS.SNI, alpnFor(c.h2))
			c.tlsProbe = c.tlsTraffic
		}
	}
	if c.failWith == nil {
		c.hc = newHealthConfig(cfg.HealthCheck, c.log)
		c.od = newOutlierConfig(cfg.Outlier)
		if c.hc != nil && c.tlsTraffic != nil {
			c.tlsProbe = c.tlsTraffic.Clone()
			c.tlsProbe.NextProtos = alpnFor(usesHTTP2(c.hc.protocol))
		}
	}
	if c.cfgErr != nil {
		c.log.Error("upstream: cluster misconfigured", "err", c.cfgErr)
	} else {
		c.log.Info("upstream: cluster added", "hostname", cfg.Discovery.Hostname, "port", c.port,
			"allEndpoints", cfg.Discovery.AllEndpoints, "protocol", string(cfg.Protocol), "tls", describeTLS(cfg.TLS),
			"healthCheck", c.hc != nil, "outlierDetection", c.od != nil)
	}

	c.mu.Lock()
	if isLiteral {
		c.setAddrsLocked([]netip.AddrPort{netip.AddrPortFrom(literal, c.port)})
	} else if c.port != 0 {
		c.setAddrsLocked(seed)
	}
	c.mu.Unlock()

	if c.od != nil {
		c.wg.Add(1)
		go c.outlierLoop()
	}
	switch {
	case c.port == 0:
		c.markWarm()
	case isLiteral:
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer c.markWarm()
			c.awaitFirstChecks()
		}()
	default:
		c.wg.Add(1)
		go c.resolveLoop(len(seed) > 0)
	}
	return c
}

// Name is the cluster's name.
func (c *Cluster) Name() string { return c.name }

// Config returns the cluster's configuration.
func (c *Cluster) Config() ir.Cluster { return cloneCluster(&c.cfg) }

// Err reports why the cluster cannot work as configured, or nil.
func (c *Cluster) Err() error { return c.cfgErr }

// RoundTrip makes one attempt at one endpoint: round robin over the
// endpoints that are healthy and not ejected, or over all of them in
// panic mode. It sets req.URL's scheme and host to the endpoint (the
// caller sets req.Host to the authority to send) and otherwise hands req
// to the endpoint's pool, so bodies stream both ways, trailers pass and an
// HTTP/1.1 upgrade returns its 101 with a writable body. Errors:
// ErrNoHealthyUpstream, *ConnectError and *ConfigError (both match
// ErrConnectionFailure), the request context's error, or what net/http
// returned for a connection that failed after it was made.
func (c *Cluster) RoundTrip(req *http.Request) (*http.Response, error) {
	if c.failWith != nil {
		return nil, c.failWith
	}
	if !c.warmed.Load() {
		select {
		case <-c.warm:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	s := c.state.Load()
	n := uint64(len(s.pick))
	if n == 0 {
		return nil, ErrNoHealthyUpstream
	}
	if req.URL == nil {
		return nil, errors.New("upstream: request has no URL")
	}
	ep := s.pick[(c.rr.Add(1)-1)%n]
	req.URL.Scheme = c.scheme
	req.URL.Host = ep.hostport
	resp, err := ep.rt.RoundTrip(req)
	if c.od != nil {
		c.recordOutcome(ep, req, resp, err)
	}
	return resp, err
}

// Endpoints returns the current endpoints, sorted by address.
func (c *Cluster) Endpoints() []EndpointStatus {
	s := c.state.Load()
	out := make([]EndpointStatus, len(s.all))
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, ep := range s.all {
		out[i] = EndpointStatus{Address: ep.addr, Healthy: ep.healthy.Load(), Ejected: ep.ejected.Load(), Ejections: ep.ejections}
	}
	return out
}

// PanicMode reports whether all endpoints take traffic because too few
// are healthy.
func (c *Cluster) PanicMode() bool { return c.state.Load().panic }

// rebuildLocked publishes a new snapshot after any membership, health or
// ejection change. Envoy's panic rule: when the healthy share falls below
// the threshold, balance over every endpoint, since sending to possibly
// bad hosts beats overloading the few good ones (or refusing everything).
func (c *Cluster) rebuildLocked() {
	if c.stopped {
		return
	}
	all := c.endpoints
	healthy := make([]*endpoint, 0, len(all))
	for _, ep := range all {
		if ep.healthy.Load() && !ep.ejected.Load() {
			healthy = append(healthy, ep)
		}
	}
	s := &lbState{all: all, pick: healthy}
	if len(all) > 0 && 100*float64(len(healthy))/float64(len(all)) < *c.opts.PanicThreshold {
		s.pick, s.panic = all, true
	}
	if s.panic != c.inPanic {
		c.inPanic = s.panic
		if s.panic {
			c.log.Warn("upstream: too few healthy endpoints; panic mode, all endpoints take traffic",
				"healthy", len(healthy), "endpoints", len(all))
		} else {
			c.log.Info("upstream: panic mode over", "healthy", len(healthy), "endpoints", len(all))
		}
	}
	c.state.Store(s)
}

func (c *Cluster) markWarm() {
	c.warmMu.Do(func() {
		c.warmed.Store(true)
		close(c.warm)
	})
}

// stop ends the cluster's goroutines without touching its connections.
// It does not wait; done closes when they are gone.
func (c *Cluster) stop() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.stopped = true
	for _, ep := range c.endpoints {
		ep.stopHealthCheck()
	}
	c.mu.Unlock()
	c.cancel()
	c.markWarm()
	go func() {
		c.wg.Wait()
		close(c.done)
	}()
}

// retire takes a cluster out of service: background work stops now, and
// the drainer closes it once its connections are idle or DrainTimeout
// passes. Until then a caller that looked it up earlier may still use it.
func (c *Cluster) retire() {
	c.stop()
	c.drain.add(c)
}

// shutdown stops the cluster and closes every connection now.
func (c *Cluster) shutdown() {
	c.stop()
	c.close()
}

// The drainer's view of a retired cluster.

func (c *Cluster) closeIdle() {
	for _, ep := range c.state.Load().all {
		ep.closeIdle()
	}
}

func (c *Cluster) idle() bool {
	select {
	case <-c.done:
	default:
		return false
	}
	for _, ep := range c.state.Load().all {
		if !ep.idle() {
			return false
		}
	}
	return true
}

// close waits for the goroutines, then closes every endpoint; later
// requests get ErrNoHealthyUpstream.
func (c *Cluster) close() {
	c.closeOnce.Do(func() {
		<-c.done
		eps := c.state.Load().all
		c.state.Store(&lbState{})
		for _, ep := range eps {
			ep.close()
		}
		c.log.Info("upstream: cluster closed")
	})
}

// awaitFirstChecks holds warming until every endpoint has had its first
// health check (each runs at once and is bounded by the check's timeout),
// so the first requests do not all land in panic mode.
func (c *Cluster) awaitFirstChecks() {
	if c.hc == nil {
		return
	}
	c.mu.Lock()
	waits := make([]chan struct{}, 0, len(c.endpoints))
	for _, ep := range c.endpoints {
		waits = append(waits, ep.firstCheck)
	}
	c.mu.Unlock()
	bound := time.NewTimer(c.hc.timeout + 500*time.Millisecond)
	defer bound.Stop()
	for _, w := range waits {
		select {
		case <-w:
		case <-bound.C:
			return
		case <-c.ctx.Done():
			return
		}
	}
}
