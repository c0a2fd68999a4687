package upstream

import "net/netip"

// Metrics receives the cluster manager's events. Calls come from request
// and background goroutines concurrently and must not block. None is made
// per request: only per connection, per health-check result change, per
// ejection and per DNS resolution, so an implementation can afford a map
// lookup.
type Metrics interface {
	// DNSResolution reports one resolution: the number of usable
	// addresses, or the error (the last good addresses are kept).
	DNSResolution(cluster string, addrs int, err error)
	// ConnectionOpened and ConnectionClosed bracket every upstream
	// connection used for traffic (Envoy's upstream_cx_active).
	ConnectionOpened(cluster string, endpoint netip.AddrPort)
	ConnectionClosed(cluster string, endpoint netip.AddrPort)
	// ConnectFailure is a failed TCP connect or TLS handshake
	// (upstream_cx_connect_fail).
	ConnectFailure(cluster string, endpoint netip.AddrPort, err error)
	// HealthChanged is an active health-check transition.
	HealthChanged(cluster string, endpoint netip.AddrPort, healthy bool)
	// OutlierEjection is an ejection (true) or its end (false).
	OutlierEjection(cluster string, endpoint netip.AddrPort, ejected bool)
}

type nopMetrics struct{}

func (nopMetrics) DNSResolution(string, int, error)             {}
func (nopMetrics) ConnectionOpened(string, netip.AddrPort)      {}
func (nopMetrics) ConnectionClosed(string, netip.AddrPort)      {}
func (nopMetrics) ConnectFailure(string, netip.AddrPort, error) {}
func (nopMetrics) HealthChanged(string, netip.AddrPort, bool)   {}
func (nopMetrics) OutlierEjection(string, netip.AddrPort, bool) {}
