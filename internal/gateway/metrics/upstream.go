package metrics

import "net/netip"

// UpstreamEvents receives the cluster manager's events (connections,
// DNS, health checks, ejections); it has the method set of
// upstream.Metrics. Endpoints are deliberately not labels: they come and
// go with DNS and would make cardinality unbounded.
type UpstreamEvents struct{ m *Metrics }

// Upstream returns the receiver of the cluster manager's events.
func (m *Metrics) Upstream() *UpstreamEvents { return &UpstreamEvents{m: m} }

// cluster resolves an event's cluster. These events are not per request,
// so a locked lookup is affordable. Once a configuration is known (after
// the first Prune), only its clusters get series: a late event for a
// removed cluster must not resurrect it.
func (u *UpstreamEvents) cluster(name string) *ClusterMetrics {
	if u == nil || u.m == nil {
		return nil
	}
	m := u.m
	m.mu.Lock()
	defer m.mu.Unlock()
	name = label(name)
	if h := m.clusters.lookup(name); h != nil {
		return h
	}
	if m.clusterKeep != nil && !m.clusterKeep[name] {
		return nil
	}
	h := m.clusters.get(name)
	m.updateOverflows()
	return h
}

// DNSResolution records a resolution of the cluster's hostname.
func (u *UpstreamEvents) DNSResolution(cluster string, addrs int, err error) {
	c := u.cluster(cluster)
	if c == nil {
		return
	}
	if err != nil {
		c.updateFailed.Inc()
		return // the last good addresses are kept
	}
	c.updateOK.Inc()
	c.endpoints.Set(float64(addrs))
}

// ConnectionOpened counts an upstream connection.
func (u *UpstreamEvents) ConnectionOpened(cluster string, _ netip.AddrPort) {
	if c := u.cluster(cluster); c != nil {
		c.activeConns.Inc()
	}
}

// ConnectionClosed ends a connection counted by ConnectionOpened.
func (u *UpstreamEvents) ConnectionClosed(cluster string, _ netip.AddrPort) {
	if c := u.cluster(cluster); c != nil {
		c.activeConns.Dec()
	}
}

// ConnectFailure counts a failed connect or TLS handshake.
func (u *UpstreamEvents) ConnectFailure(cluster string, _ netip.AddrPort, _ error) {
	if c := u.cluster(cluster); c != nil {
		c.connectFails.Inc()
	}
}

// HealthChanged counts an endpoint's health-check transition.
func (u *UpstreamEvents) HealthChanged(cluster string, _ netip.AddrPort, healthy bool) {
	c := u.cluster(cluster)
	switch {
	case c == nil:
	case healthy:
		c.toHealthy.Inc()
	default:
		c.toUnhealthy.Inc()
	}
}

// OutlierEjection records an ejection (true) or its end (false).
func (u *UpstreamEvents) OutlierEjection(cluster string, _ netip.AddrPort, ejected bool) {
	c := u.cluster(cluster)
	switch {
	case c == nil:
	case ejected:
		c.ejections.Inc()
		c.activeEjection.Inc()
	default:
		c.activeEjection.Dec()
	}
}
