package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// codeClasses are the code_class label values; index = status/100 - 1.
var codeClasses = [5]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// classIndex is the code class of an HTTP status, or -1 for a status
// outside 100-599 (0: no response was sent), which Envoy does not count
// in any class either.
func classIndex(status int) int {
	if status < 100 || status > 599 {
		return -1
	}
	return status/100 - 1
}

// seconds is d for a histogram; a negative d (a clock step between two
// wall-clock readings) counts as 0 rather than lowering the sum.
func seconds(d time.Duration) float64 {
	if d < 0 {
		return 0
	}
	return d.Seconds()
}

// The handle types below are resolved once per configuration and cached
// by the caller. Their methods take no strings, so no request data can
// become a label value; each is a few atomic operations and allocates
// nothing. All are safe on a nil receiver (a no-op), so a gateway without
// metrics needs no checks.

// ListenerMetrics is one listener's series.
type ListenerMetrics struct {
	requests    prometheus.Counter
	responses   [5]prometheus.Counter
	duration    prometheus.Observer
	active      prometheus.Gauge
	connections prometheus.Counter
	activeConns prometheus.Gauge
	overflows   prometheus.Counter
	noRoute     prometheus.Counter
}

// ConnOpened counts an accepted downstream connection.
func (l *ListenerMetrics) ConnOpened() {
	if l == nil {
		return
	}
	l.connections.Inc()
	l.activeConns.Inc()
}

// ConnClosed ends a connection counted by ConnOpened.
func (l *ListenerMetrics) ConnClosed() {
	if l == nil {
		return
	}
	l.activeConns.Dec()
}

// RequestStarted counts a request as its headers arrive (Envoy counts
// downstream_rq_total then too).
func (l *ListenerMetrics) RequestStarted() {
	if l == nil {
		return
	}
	l.requests.Inc()
	l.active.Inc()
}

// RequestDone ends a request counted by RequestStarted: status is what
// was sent downstream (0 for none), d the whole request's duration.
func (l *ListenerMetrics) RequestDone(status int, d time.Duration) {
	if l == nil {
		return
	}
	l.active.Dec()
	if i := classIndex(status); i >= 0 {
		l.responses[i].Inc()
	}
	l.duration.Observe(seconds(d))
}

// Overflow counts a request refused by the listener's connection pool
// limits (503, response flag UO).
func (l *ListenerMetrics) Overflow() {
	if l != nil {
		l.overflows.Inc()
	}
}

// NoRoute counts a request no gateway route matched (404, flag NR).
func (l *ListenerMetrics) NoRoute() {
	if l != nil {
		l.noRoute.Inc()
	}
}

// RouteMetrics is one gateway route's handle. Its series are made at the
// route's first request, not when the route is configured: a histogram
// and six counters cost ~4 KiB of heap, and most of a large route table
// serves nothing (with 1,000 routes, 4 MiB the GC then doubles).
type RouteMetrics struct {
	m      *Metrics
	label  string
	series atomic.Pointer[routeSeries]
	pruned bool // guarded by m.mu
}

type routeSeries struct {
	requests  prometheus.Counter
	responses [5]prometheus.Counter
	duration  prometheus.Observer
}

// Observe records a finished request the route matched.
func (r *RouteMetrics) Observe(status int, d time.Duration) {
	if r == nil {
		return
	}
	s := r.series.Load()
	if s == nil {
		if s = r.m.routeSeries(r); s == nil {
			return // pruned
		}
	}
	s.requests.Inc()
	if i := classIndex(status); i >= 0 {
		s.responses[i].Inc()
	}
	s.duration.Observe(seconds(d))
}

// UpstreamError is why an upstream request failed: a closed set, so it
// is safe as a label.
type UpstreamError uint8

const (
	ErrConnectFailure UpstreamError = iota // UF: connect or TLS handshake failed
	ErrTimeout                             // UT: per-try or route timeout
	ErrReset                               // UR/UC: reset or closed mid-request
	ErrProtocol                            // UPE: malformed upstream response
	numUpstreamErrors
)

var upstreamErrorNames = [numUpstreamErrors]string{"connect_failure", "timeout", "reset", "protocol_error"}

func (e UpstreamError) String() string {
	if e < numUpstreamErrors {
		return upstreamErrorNames[e]
	}
	return "unknown"
}

// ClusterMetrics is one cluster's series.
type ClusterMetrics struct {
	requests       prometheus.Counter
	responses      [5]prometheus.Counter
	duration       prometheus.Observer
	active         prometheus.Gauge
	errors         [numUpstreamErrors]prometheus.Counter
	retries        prometheus.Counter
	retryLimit     prometheus.Counter
	noHealthy      prometheus.Counter
	activeConns    prometheus.Gauge
	connectFails   prometheus.Counter
	endpoints      prometheus.Gauge
	updateOK       prometheus.Counter
	updateFailed   prometheus.Counter
	toHealthy      prometheus.Counter
	toUnhealthy    prometheus.Counter
	ejections      prometheus.Counter
	activeEjection prometheus.Gauge
}

// RequestStarted counts an upstream attempt in flight (a retry is
// another); RequestDone or RequestNotSent ends it.
func (c *ClusterMetrics) RequestStarted() {
	if c != nil {
		c.active.Inc()
	}
}

// RequestDone ends an attempt that went out, and counts it: status is the
// upstream's (0 when it sent none), d the attempt's duration. Attempts
// count as they end, not as they start, because only then is it known
// whether one went out at all (RequestNotSent).
func (c *ClusterMetrics) RequestDone(status int, d time.Duration) {
	if c == nil {
		return
	}
	c.active.Dec()
	c.requests.Inc()
	if i := classIndex(status); i >= 0 {
		c.responses[i].Inc()
	}
	c.duration.Observe(seconds(d))
}

// RequestNotSent ends an attempt that never went out: the cluster had no
// healthy endpoint. Envoy makes no upstream request then and counts none
// (only upstream_cx_none_healthy: NoHealthyUpstream).
func (c *ClusterMetrics) RequestNotSent() {
	if c != nil {
		c.active.Dec()
	}
}

// Error counts a failed attempt.
func (c *ClusterMetrics) Error(reason UpstreamError) {
	if c != nil && reason < numUpstreamErrors {
		c.errors[reason].Inc()
	}
}

// Retry counts a retry (Envoy's upstream_rq_retry).
func (c *ClusterMetrics) Retry() {
	if c != nil {
		c.retries.Inc()
	}
}

// RetryLimitExceeded counts a request that failed with retries left to
// want but none allowed (flag URX).
func (c *ClusterMetrics) RetryLimitExceeded() {
	if c != nil {
		c.retryLimit.Inc()
	}
}

// NoHealthyUpstream counts a request with no endpoint to go to (503, UH).
func (c *ClusterMetrics) NoHealthyUpstream() {
	if c != nil {
		c.noHealthy.Inc()
	}
}
