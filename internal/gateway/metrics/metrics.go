package metrics

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	namespace = "meshgate"
	subsystem = "gateway"
)

// DurationBuckets span 1 ms to 30 s: below a millisecond is noise for a
// proxy, and 30 s is past App Mesh's default 15 s route timeout.
var DurationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30}

// Limits cap the distinct label values per kind; names past a cap share
// the Other series.
type Limits struct {
	Listeners int
	Routes    int
	Clusters  int
}

// DefaultLimits are well above App Mesh's quotas (10 gateway routes per
// gateway, 200 virtual nodes per mesh) yet keep the worst case to tens of
// thousands of series.
var DefaultLimits = Limits{Listeners: 100, Routes: 1000, Clusters: 1000}

// Metrics is the gateway's metric set.
type Metrics struct {
	mu        sync.Mutex
	listeners *labelSet[ListenerMetrics]
	routes    *labelSet[RouteMetrics]
	clusters  *labelSet[ClusterMetrics]
	// clusterKeep is the configuration's clusters after the last Prune
	// (nil before one): events from the upstream manager only create
	// series for these, so a late event for a removed cluster does not
	// bring its series back.
	clusterKeep map[string]bool

	lRequests, lResponses, lConns, lOverflows, lNoRoute *prometheus.CounterVec
	lDuration                                           *prometheus.HistogramVec
	lActive, lActiveConns                               *prometheus.GaugeVec

	rRequests, rResponses *prometheus.CounterVec
	rDuration             *prometheus.HistogramVec

	cRequests, cResponses, cErrors, cRetries, cRetryLimit, cNoHealthy *prometheus.CounterVec
	cConnectFails, cUpdates, cHealth, cEjections                      *prometheus.CounterVec
	cDuration                                                         *prometheus.HistogramVec
	cActive, cActiveConns, cEndpoints, cActiveEjections               *prometheus.GaugeVec

	accessLogDropped prometheus.Counter
	configInfo       *prometheus.GaugeVec
	configApplies    prometheus.Counter
	configRejections prometheus.Counter
	overflows        *prometheus.GaugeVec
}

// New creates the gateway's metrics with DefaultLimits and registers them
// on reg (none when reg is nil, for tests that only observe).
func New(reg prometheus.Registerer) (*Metrics, error) {
	return NewWithLimits(reg, DefaultLimits)
}

// NewWithLimits is New with explicit caps; a cap below 1 means 1.
func NewWithLimits(reg prometheus.Registerer, lim Limits) (*Metrics, error) {
	m := &Metrics{}
	var all []prometheus.Collector
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: subsystem, Name: name, Help: help}, labels)
		all = append(all, v)
		return v
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Subsystem: subsystem, Name: name, Help: help}, labels)
		all = append(all, v)
		return v
	}
	histogram := func(name, help string, labels ...string) *prometheus.HistogramVec {
		v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Subsystem: subsystem, Name: name, Help: help,
			Buckets: DurationBuckets}, labels)
		all = append(all, v)
		return v
	}

	m.lRequests = counter("listener_requests_total", "Downstream requests received by the listener (Envoy: http.<stat_prefix>.downstream_rq_total).", "listener")
	m.lResponses = counter("listener_responses_total", "Downstream responses by status class (Envoy: http.<stat_prefix>.downstream_rq_1xx..5xx).", "listener", "code_class")
	m.lDuration = histogram("listener_request_duration_seconds", "Downstream request duration, first byte in to last byte out (Envoy: http.<stat_prefix>.downstream_rq_time).", "listener")
	m.lActive = gauge("listener_active_requests", "Downstream requests in flight (Envoy: http.<stat_prefix>.downstream_rq_active).", "listener")
	m.lConns = counter("listener_connections_total", "Downstream connections accepted (Envoy: listener.<address>.downstream_cx_total).", "listener")
	m.lActiveConns = gauge("listener_active_connections", "Downstream connections open (Envoy: listener.<address>.downstream_cx_active).", "listener")
	m.lOverflows = counter("listener_overflows_total", "Requests refused by the listener's connection pool limits, 503 UO (Envoy: cluster.<self_redirect>.upstream_rq_pending_overflow / upstream_cx_overflow).", "listener")
	m.lNoRoute = counter("listener_no_route_total", "Requests no gateway route matched, 404 NR (Envoy: http.<stat_prefix>.no_route).", "listener")

	m.rRequests = counter("route_requests_total", "Requests matched by the gateway route (Envoy keeps no per-route stats; closest: vhost.<vhost>.vcluster.other.upstream_rq_total).", "gateway_route")
	m.rResponses = counter("route_responses_total", "Responses to requests matched by the gateway route, by status class.", "gateway_route", "code_class")
	m.rDuration = histogram("route_request_duration_seconds", "Duration of requests matched by the gateway route (Envoy: vhost.<vhost>.vcluster.other.upstream_rq_time).", "gateway_route")

	m.cRequests = counter("cluster_upstream_requests_total", "Upstream request attempts, retries included, counted as they end (Envoy: cluster.<name>.upstream_rq_total).", "cluster")
	m.cResponses = counter("cluster_upstream_responses_total", "Upstream responses by status class (Envoy: cluster.<name>.upstream_rq_1xx..5xx).", "cluster", "code_class")
	m.cDuration = histogram("cluster_upstream_request_duration_seconds", "Upstream attempt duration (Envoy: cluster.<name>.upstream_rq_time).", "cluster")
	m.cActive = gauge("cluster_upstream_active_requests", "Upstream attempts in flight (Envoy: cluster.<name>.upstream_rq_active).", "cluster")
	m.cErrors = counter("cluster_upstream_errors_total", "Failed upstream attempts by reason: connect_failure, timeout, reset, protocol_error (Envoy: cluster.<name>.upstream_cx_connect_fail, upstream_rq_timeout, upstream_rq_rx_reset, upstream_cx_protocol_error).", "cluster", "reason")
	m.cRetries = counter("cluster_upstream_retries_total", "Upstream retries (Envoy: cluster.<name>.upstream_rq_retry).", "cluster")
	m.cRetryLimit = counter("cluster_upstream_retry_limit_exceeded_total", "Requests that failed with their retries used up, URX (Envoy: cluster.<name>.upstream_rq_retry_limit_exceeded).", "cluster")
	m.cNoHealthy = counter("cluster_no_healthy_upstream_total", "Requests with no healthy endpoint to go to, 503 UH (Envoy: cluster.<name>.upstream_cx_none_healthy).", "cluster")
	m.cActiveConns = gauge("cluster_upstream_active_connections", "Upstream connections open (Envoy: cluster.<name>.upstream_cx_active).", "cluster")
	m.cConnectFails = counter("cluster_upstream_connect_failures_total", "Failed upstream connects and TLS handshakes (Envoy: cluster.<name>.upstream_cx_connect_fail).", "cluster")
	m.cEndpoints = gauge("cluster_endpoints", "Endpoints the last DNS resolution gave (Envoy: cluster.<name>.membership_total).", "cluster")
	m.cUpdates = counter("cluster_updates_total", "DNS resolutions by result: success, failure (Envoy: cluster.<name>.update_success / update_failure).", "cluster", "result")
	m.cHealth = counter("cluster_health_transitions_total", "Active health-check transitions of endpoints, to healthy or unhealthy (Envoy: cluster.<name>.health_check.*).", "cluster", "to")
	m.cEjections = counter("cluster_outlier_ejections_total", "Outlier-detection ejections (Envoy: cluster.<name>.outlier_detection.ejections_enforced_total).", "cluster")
	m.cActiveEjections = gauge("cluster_outlier_ejections_active", "Endpoints ejected now (Envoy: cluster.<name>.outlier_detection.ejections_active).", "cluster")

	drops := counter("access_log_dropped_total", "Access-log lines dropped because the writer could not keep up (Envoy blocks or counts filesystem.write_failed).")
	m.accessLogDropped = drops.WithLabelValues()
	m.configInfo = gauge("config_info", "1 for the configuration version in use (Envoy: listener_manager.lds.version, cluster_manager.cds.version).", "version")
	applies := counter("config_applies_total", "Configurations applied (Envoy: listener_manager.lds.update_success, cluster_manager.cds.update_success).")
	m.configApplies = applies.WithLabelValues()
	rejections := counter("config_rejections_total", "Configurations rejected, the old one kept (Envoy: listener_manager.lds.update_rejected, cluster_manager.cds.update_rejected).")
	m.configRejections = rejections.WithLabelValues()
	m.overflows = gauge("metric_label_overflows", "Configured names sharing the \""+Other+"\" series because their kind is over its cap, by kind: listener, gateway_route, cluster.", "kind")

	if reg != nil {
		for i, c := range all {
			if err := reg.Register(c); err != nil {
				// Leave reg as it was. Only this set's own registrations go:
				// Unregister matches by descriptor, so unregistering the
				// collector that collided would remove the other set's.
				for _, r := range all[:i] {
					reg.Unregister(r)
				}
				return nil, fmt.Errorf("gateway metrics: register: %w", err)
			}
		}
	}

	m.listeners = newLabelSet("listener", atLeast1(lim.Listeners), m.newListener, m.deleteListener)
	m.routes = newLabelSet("gateway_route", atLeast1(lim.Routes), m.newRoute, m.deleteRoute)
	m.clusters = newLabelSet("cluster", atLeast1(lim.Clusters), m.newCluster, m.deleteCluster)
	for _, kind := range []string{"listener", "gateway_route", "cluster"} {
		m.overflows.WithLabelValues(kind).Set(0)
	}
	return m, nil
}

func atLeast1(n int) int { return max(n, 1) }

// Listener returns the handle of the listener on port.
func (m *Metrics) Listener(port uint32) *ListenerMetrics {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	defer m.updateOverflows()
	return m.listeners.get(strconv.FormatUint(uint64(port), 10))
}

// Route returns the handle of a gateway route, by its configured name.
func (m *Metrics) Route(name string) *RouteMetrics {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	defer m.updateOverflows()
	return m.routes.get(label(name))
}

// Cluster returns the handle of a cluster, by its configured name.
func (m *Metrics) Cluster(name string) *ClusterMetrics {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	defer m.updateOverflows()
	return m.clusters.get(label(name))
}

// Names are the label values a configuration has.
type Names struct {
	Listeners []uint32
	Routes    []string
	Clusters  []string
}

// Prune deletes the series of listeners, gateway routes and clusters not
// in keep. Call it after each configuration change, with the new
// configuration's names, and resolve handles again: a handle of a pruned
// name still works but feeds no exported series.
func (m *Metrics) Prune(keep Names) {
	if m == nil {
		return
	}
	set := func(names []string) map[string]bool {
		s := make(map[string]bool, len(names))
		for _, n := range names {
			s[label(n)] = true
		}
		return s
	}
	ports := make([]string, len(keep.Listeners))
	for i, p := range keep.Listeners {
		ports[i] = strconv.FormatUint(uint64(p), 10)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listeners.prune(set(ports))
	m.routes.prune(set(keep.Routes))
	m.clusterKeep = set(keep.Clusters)
	m.clusters.prune(m.clusterKeep)
	m.updateOverflows()
}

func (m *Metrics) updateOverflows() {
	m.overflows.WithLabelValues(m.listeners.kind).Set(float64(len(m.listeners.overflow)))
	m.overflows.WithLabelValues(m.routes.kind).Set(float64(len(m.routes.overflow)))
	m.overflows.WithLabelValues(m.clusters.kind).Set(float64(len(m.clusters.overflow)))
}

// AccessLogDropped counts a dropped access-log line; it fits
// accesslog.Options.OnDrop.
func (m *Metrics) AccessLogDropped() {
	if m != nil {
		m.accessLogDropped.Inc()
	}
}

// ConfigApplied records that the configuration version is now in use.
func (m *Metrics) ConfigApplied(version string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// One series: the old version's goes, so config_info never grows.
	m.configInfo.Reset()
	m.configInfo.WithLabelValues(label(version)).Set(1)
	m.configApplies.Inc()
}

// ConfigRejected records a configuration that was refused.
func (m *Metrics) ConfigRejected() {
	if m != nil {
		m.configRejections.Inc()
	}
}

func (m *Metrics) newListener(l string) *ListenerMetrics {
	h := &ListenerMetrics{
		requests:    m.lRequests.WithLabelValues(l),
		duration:    m.lDuration.WithLabelValues(l),
		active:      m.lActive.WithLabelValues(l),
		connections: m.lConns.WithLabelValues(l),
		activeConns: m.lActiveConns.WithLabelValues(l),
		overflows:   m.lOverflows.WithLabelValues(l),
		noRoute:     m.lNoRoute.WithLabelValues(l),
	}
	for i, c := range codeClasses {
		h.responses[i] = m.lResponses.WithLabelValues(l, c)
	}
	return h
}

func (m *Metrics) deleteListener(l string, _ *ListenerMetrics) {
	for _, v := range []*prometheus.MetricVec{m.lRequests.MetricVec, m.lResponses.MetricVec, m.lDuration.MetricVec,
		m.lActive.MetricVec, m.lConns.MetricVec, m.lActiveConns.MetricVec, m.lOverflows.MetricVec, m.lNoRoute.MetricVec} {
		v.DeletePartialMatch(prometheus.Labels{"listener": l})
	}
}

func (m *Metrics) newRoute(r string) *RouteMetrics { return &RouteMetrics{m: m, label: r} }

// routeSeries makes r's series at its first request, unless r was pruned
// meanwhile (a stale handle must not bring a removed route's series back).
func (m *Metrics) routeSeries(r *RouteMetrics) *routeSeries {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := r.series.Load(); s != nil || r.pruned {
		return s
	}
	s := &routeSeries{requests: m.rRequests.WithLabelValues(r.label), duration: m.rDuration.WithLabelValues(r.label)}
	for i, c := range codeClasses {
		s.responses[i] = m.rResponses.WithLabelValues(r.label, c)
	}
	r.series.Store(s)
	return s
}

func (m *Metrics) deleteRoute(r string, h *RouteMetrics) {
	h.pruned = true
	for _, v := range []*prometheus.MetricVec{m.rRequests.MetricVec, m.rResponses.MetricVec, m.rDuration.MetricVec} {
		v.DeletePartialMatch(prometheus.Labels{"gateway_route": r})
	}
}

func (m *Metrics) newCluster(c string) *ClusterMetrics {
	h := &ClusterMetrics{
		requests:       m.cRequests.WithLabelValues(c),
		duration:       m.cDuration.WithLabelValues(c),
		active:         m.cActive.WithLabelValues(c),
		retries:        m.cRetries.WithLabelValues(c),
		retryLimit:     m.cRetryLimit.WithLabelValues(c),
		noHealthy:      m.cNoHealthy.WithLabelValues(c),
		activeConns:    m.cActiveConns.WithLabelValues(c),
		connectFails:   m.cConnectFails.WithLabelValues(c),
		endpoints:      m.cEndpoints.WithLabelValues(c),
		updateOK:       m.cUpdates.WithLabelValues(c, "success"),
		updateFailed:   m.cUpdates.WithLabelValues(c, "failure"),
		toHealthy:      m.cHealth.WithLabelValues(c, "healthy"),
		toUnhealthy:    m.cHealth.WithLabelValues(c, "unhealthy"),
		ejections:      m.cEjections.WithLabelValues(c),
		activeEjection: m.cActiveEjections.WithLabelValues(c),
	}
	for i, cc := range codeClasses {
		h.responses[i] = m.cResponses.WithLabelValues(c, cc)
	}
	for i, reason := range upstreamErrorNames {
		h.errors[i] = m.cErrors.WithLabelValues(c, reason)
	}
	return h
}

func (m *Metrics) deleteCluster(c string, _ *ClusterMetrics) {
	for _, v := range []*prometheus.MetricVec{m.cRequests.MetricVec, m.cResponses.MetricVec, m.cDuration.MetricVec,
		m.cActive.MetricVec, m.cErrors.MetricVec, m.cRetries.MetricVec, m.cRetryLimit.MetricVec, m.cNoHealthy.MetricVec,
		m.cActiveConns.MetricVec, m.cConnectFails.MetricVec, m.cEndpoints.MetricVec, m.cUpdates.MetricVec,
		m.cHealth.MetricVec, m.cEjections.MetricVec, m.cActiveEjections.MetricVec} {
		v.DeletePartialMatch(prometheus.Labels{"cluster": c})
	}
}
