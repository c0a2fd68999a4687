package upstream

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
)

// Health-check defaults for fields left zero; App Mesh requires them all,
// so these only guard against a malformed IR.
const (
	defaultHCInterval = 5 * time.Second
	defaultHCTimeout  = 2 * time.Second
	hcUserAgent       = "Envoy/HC" // what Envoy sends; upstream logs filter on it
	hcMaxBody         = 64 << 10   // read this much so the connection can be reused
)

type healthConfig struct {
	protocol           ir.Protocol
	path               string
	port               uint16 // 0 = the endpoint's port
	interval, timeout  time.Duration
	healthyThreshold   uint32
	unhealthyThreshold uint32
}

func newHealthConfig(h *ir.HealthCheck, log *slog.Logger) *healthConfig {
	if h == nil {
		return nil
	}
	hc := &healthConfig{
		protocol:           h.Protocol,
		path:               h.Path,
		interval:           h.Interval.D(),
		timeout:            h.Timeout.D(),
		healthyThreshold:   max(h.HealthyThreshold, 1),
		unhealthyThreshold: max(h.UnhealthyThreshold, 1),
	}
	switch hc.protocol {
	case ir.HTTP, ir.HTTP2, ir.GRPC, ir.TCP:
	default:
		log.Warn("upstream: unknown health-check protocol; checking with a TCP connect", "protocol", string(h.Protocol))
		hc.protocol = ir.TCP
	}
	if hc.path == "" {
		hc.path = "/"
	}
	if h.Port > 0 && h.Port <= 65535 {
		hc.port = uint16(h.Port)
	}
	if hc.interval <= 0 {
		hc.interval = defaultHCInterval
	}
	if hc.timeout <= 0 {
		hc.timeout = defaultHCTimeout
	}
	return hc
}

// hcResult is a check's outcome. Envoy tells the failures apart: a
// network failure (no connection, timeout) counts towards the unhealthy
// threshold, while an answer that says "unhealthy" (a non-200 status,
// NOT_SERVING) marks the host unhealthy at once.
type hcResult int

const (
	hcPass hcResult = iota
	hcActiveFail
	hcNetworkFail
)

// prober runs one endpoint's checks, keeping its connection between checks
// like Envoy's health checker (reuse_connection defaults to true).
type prober struct {
	c         *Cluster
	addr      netip.AddrPort
	hostport  string
	authority string // Host / :authority: App Mesh sends "<hostname>:<port>"
	rt        *http.Transport
}

func (c *Cluster) newProber(ep *endpoint) *prober {
	addr := ep.addr
	if c.hc.port != 0 {
		addr = netip.AddrPortFrom(addr.Addr(), c.hc.port)
	}
	p := &prober{
		c:         c,
		addr:      addr,
		hostport:  addr.String(),
		authority: net.JoinHostPort(c.cfg.Discovery.Hostname, strconv.Itoa(int(addr.Port()))),
	}
	if c.hc.protocol != ir.TCP {
		p.rt = c.newProbeTransport(usesHTTP2(c.hc.protocol), c.tlsProbe)
	}
	return p
}

func (p *prober) close() {
	if p.rt != nil {
		p.rt.CloseIdleConnections()
	}
}

func (p *prober) check(ctx context.Context) (hcResult, error) {
	ctx, cancel := context.WithTimeout(ctx, p.c.hc.timeout)
	defer cancel()
	switch p.c.hc.protocol {
	case ir.TCP:
		conn, err := p.c.connect(ctx, p.addr, p.hostport, nil, p.c.tlsProbe)
		if err != nil {
			return hcNetworkFail, err
		}
		conn.Close()
		return hcPass, nil
	case ir.GRPC:
		return p.checkGRPC(ctx)
	default:
		return p.checkHTTP(ctx)
	}
}

// checkHTTP is Envoy's HTTP check: GET path, healthy on 200 only (Envoy's
// default expected_statuses; App Mesh sets none).
func (p *prober) checkHTTP(ctx context.Context) (hcResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url(p.c.hc.path), nil)
	if err != nil {
		return hcActiveFail, err
	}
	req.Host = p.authority
	req.Header.Set("User-Agent", hcUserAgent)
	resp, err := p.rt.RoundTrip(req)
	if err != nil {
		return hcNetworkFail, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, hcMaxBody))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return hcActiveFail, fmt.Errorf("health check answered %d", resp.StatusCode)
	}
	return hcPass, nil
}

func (p *prober) url(path string) string {
	scheme := "http"
	if p.c.tlsProbe != nil {
		scheme = "https"
	}
	return scheme + "://" + p.hostport + path
}

// healthLoop checks one endpoint now and then every interval after each
// check completes, until the endpoint or the cluster goes.
func (c *Cluster) healthLoop(ctx context.Context, ep *endpoint) {
	defer c.wg.Done()
	p := c.newProber(ep)
	defer p.close()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := p.check(ctx)
		if ctx.Err() != nil {
			return
		}
		c.applyHealth(ep, res, err)
		t.Reset(c.hc.interval)
	}
}

// startHealthCheckLocked starts checking a new endpoint. Envoy counts a
// host unhealthy until its first check passes; the first check runs at
// once, and warming waits for it.
func (c *Cluster) startHealthCheckLocked(ep *endpoint) {
	if c.hc == nil || c.stopped {
		return
	}
	ctx, cancel := context.WithCancel(c.ctx)
	ep.hcCancel = cancel
	c.wg.Add(1)
	go c.healthLoop(ctx, ep)
}

// applyHealth is Envoy's transition rule: an unhealthy host turns healthy
// after healthyThreshold passes in a row, or on its very first check; a
// healthy host turns unhealthy on one active failure or after
// unhealthyThreshold network failures in a row. A pass also ends an
// outlier ejection (Envoy's successful_active_health_check_uneject_host).
func (c *Cluster) applyHealth(ep *endpoint, res hcResult, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	first := !ep.hcDone
	ep.hcDone = true
	was := ep.healthy.Load()
	now := was
	if res == hcPass {
		ep.numUnhealthy = 0
		if !was {
			ep.numHealthy++
			if first || ep.numHealthy >= c.hc.healthyThreshold {
				now = true
			}
		}
	} else {
		ep.numHealthy = 0
		if was {
			ep.numUnhealthy++
			if res == hcActiveFail || ep.numUnhealthy >= c.hc.unhealthyThreshold {
				now = false
			}
		}
	}
	changed := now != was
	if changed {
		ep.healthy.Store(now)
		c.opts.Metrics.HealthChanged(c.name, ep.addr, now)
		if now {
			c.log.Info("upstream: endpoint healthy", "endpoint", ep.hostport)
		} else {
			c.log.Warn("upstream: endpoint unhealthy", "endpoint", ep.hostport, "err", err)
		}
	} else if first && !now {
		c.log.Warn("upstream: endpoint failed its first health check", "endpoint", ep.hostport, "err", err)
	}
	if res == hcPass && now && ep.ejected.Load() {
		c.unejectLocked(ep, time.Now())
		changed = true
	}
	select {
	case <-ep.firstCheck:
	default:
		close(ep.firstCheck)
	}
	if changed {
		c.rebuildLocked()
	}
}
