package upstream

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

var errEndpointClosed = errors.New("endpoint removed from the cluster")

// endpoint is one upstream address with its own connection pool, so that
// round robin, outlier attribution and draining a removed address are all
// per address, and closing one pool never disturbs another.
type endpoint struct {
	c        *Cluster
	addr     netip.AddrPort
	hostport string // addr.String(), computed once: the request path reuses it
	// rt is the endpoint's pool: h1 for HTTP/1.1 clusters, an
	// http.Transport for HTTP/2 and gRPC ones.
	rt pool
	h1 *h1Client

	// Read lock-free for Endpoints(); written under c.mu.
	healthy atomic.Bool // the active health check's verdict; true without one
	ejected atomic.Bool
	// consecutive counts failures since the last success; written by
	// every request, so only touched when outlier detection is on.
	consecutive atomic.Uint32

	// Guarded by c.mu.
	hcDone       bool // a first health-check result has been applied
	numHealthy   uint32
	numUnhealthy uint32
	ejectedAt    time.Time
	unejectedAt  time.Time
	backoff      uint32 // Envoy's ejection time multiplier
	ejections    uint32 // ejections so far, for status
	hcCancel     context.CancelFunc
	firstCheck   chan struct{} // closed once the first health check is applied

	connMu  sync.Mutex
	conns   map[*trackedConn]struct{}
	dialing int
	closed  bool
}

func newEndpoint(c *Cluster, addr netip.AddrPort) *endpoint {
	ep := &endpoint{
		c:          c,
		addr:       addr,
		hostport:   addr.String(),
		conns:      make(map[*trackedConn]struct{}),
		firstCheck: make(chan struct{}),
	}
	if c.h2 {
		ep.rt = traced{c.newTransport(ep)}
	} else {
		ep.h1 = c.newH1Client(ep)
		ep.rt = ep.h1
	}
	ep.healthy.Store(c.hc == nil)
	return ep
}

// inherit copies health and outlier state from the endpoint ep replaces.
// LOADBALANCER discovery has one logical host whose address follows DNS;
// Envoy keeps that host's state when the address changes, and so do we.
func (ep *endpoint) inherit(from *endpoint) {
	ep.healthy.Store(from.healthy.Load())
	ep.ejected.Store(from.ejected.Load())
	ep.consecutive.Store(from.consecutive.Load())
	ep.hcDone = from.hcDone
	ep.numHealthy, ep.numUnhealthy = from.numHealthy, from.numUnhealthy
	ep.ejectedAt, ep.unejectedAt = from.ejectedAt, from.unejectedAt
	ep.backoff, ep.ejections = from.backoff, from.ejections
}

// pool is what an endpoint needs of its connection pool.
type pool interface {
	http.RoundTripper
	CloseIdleConnections()
}

// dial opens a traffic connection; the pool calls it.
func (ep *endpoint) dial(ctx context.Context) (net.Conn, error) {
	ep.connMu.Lock()
	if ep.closed {
		ep.connMu.Unlock()
		return nil, &ConnectError{Cluster: ep.c.name, Endpoint: ep.addr, Err: errEndpointClosed}
	}
	ep.dialing++
	ep.connMu.Unlock()
	defer func() {
		ep.connMu.Lock()
		ep.dialing--
		ep.connMu.Unlock()
	}()
	return ep.c.connect(ctx, ep.addr, ep.hostport, ep, ep.c.tlsTraffic)
}

// track registers a new connection so that draining can tell when the
// endpoint is idle and force-close what is left at the deadline. It
// returns nil (and closes raw) when the endpoint was closed meanwhile.
func (ep *endpoint) track(raw net.Conn) net.Conn {
	tc := &trackedConn{Conn: raw, ep: ep}
	ep.connMu.Lock()
	if ep.closed {
		ep.connMu.Unlock()
		raw.Close()
		return nil
	}
	ep.conns[tc] = struct{}{}
	ep.connMu.Unlock()
	ep.c.opts.Metrics.ConnectionOpened(ep.c.name, ep.addr)
	return tc
}

func (ep *endpoint) untrack(tc *trackedConn) {
	ep.connMu.Lock()
	delete(ep.conns, tc)
	ep.connMu.Unlock()
	ep.c.opts.Metrics.ConnectionClosed(ep.c.name, ep.addr)
}

// idle reports whether the endpoint has no connection open or opening.
func (ep *endpoint) idle() bool {
	ep.connMu.Lock()
	defer ep.connMu.Unlock()
	return len(ep.conns) == 0 && ep.dialing == 0
}

// closeIdle closes pooled connections that carry no request; busy ones
// return to the pool when their response is done and go at the next call.
func (ep *endpoint) closeIdle() { ep.rt.CloseIdleConnections() }

// close refuses new connections and closes every open one, busy or not.
func (ep *endpoint) close() {
	ep.connMu.Lock()
	ep.closed = true
	open := make([]*trackedConn, 0, len(ep.conns))
	for tc := range ep.conns {
		open = append(open, tc)
	}
	ep.connMu.Unlock()
	if ep.h1 != nil {
		ep.h1.close() // and pools nothing from now on
	} else {
		ep.rt.CloseIdleConnections()
	}
	for _, tc := range open {
		tc.Close()
	}
}

// stopHealthCheck ends the endpoint's health-check goroutine, if any.
func (ep *endpoint) stopHealthCheck() {
	if ep.hcCancel != nil {
		ep.hcCancel()
	}
}

// trackedConn removes itself from its endpoint when closed, however the
// close comes (pool eviction, an upgraded connection's body, a TLS conn
// on top of it, or a forced drain).
type trackedConn struct {
	net.Conn
	ep   *endpoint
	once sync.Once
}

func (tc *trackedConn) Close() error {
	err := tc.Conn.Close()
	tc.once.Do(func() { tc.ep.untrack(tc) })
	return err
}
