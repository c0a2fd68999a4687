package upstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/netip"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
)

// Defaults. ConnectTimeout is App Mesh's: its cds_egress clusters carry
// connect_timeout 1s (Envoy's own default, 5s, never applies to them).
const (
	DefaultReResolve       = 5 * time.Second // Envoy's dns_refresh_rate
	DefaultResolveTimeout  = 5 * time.Second
	DefaultConnectTimeout  = time.Second
	DefaultIdleConnTimeout = 90 * time.Second
	DefaultDrainTimeout    = 5 * time.Minute // App Mesh's default idle timeout
	DefaultFileRecheck     = 2 * time.Second
	DefaultPanicThreshold  = 50.0 // Envoy's healthy_panic_threshold, percent
	maxIdleConnsPerHost    = 1024
)

// Resolver looks up a host name. *net.Resolver implements it. network is
// "ip", "ip4" or "ip6"; results of another family are filtered out anyway.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// SDSProvider serves TLS material named by SDS secret names. A Manager
// without one reports such clusters with a *ConfigError.
type SDSProvider interface {
	// Certificate returns the current certificate of the named secret.
	Certificate(name string) (*tls.Certificate, error)
	// TrustBundle returns the current CA pool of the named validation context.
	TrustBundle(name string) (*x509.CertPool, error)
}

// Options configure a Manager. Zero values select the defaults above.
type Options struct {
	Resolver       Resolver // default net.DefaultResolver
	ReResolve      time.Duration
	ResolveTimeout time.Duration
	// ConnectTimeout bounds the TCP connect and the TLS handshake together.
	ConnectTimeout time.Duration
	// IdleConnTimeout closes pooled connections left idle this long.
	IdleConnTimeout time.Duration
	// DrainTimeout bounds how long a removed cluster (or endpoint) keeps
	// its open connections for in-flight requests before they are closed.
	DrainTimeout time.Duration
	// FileRecheck is how often certificate and trust files are checked for
	// changes (modification time and size).
	FileRecheck time.Duration
	// PanicThreshold is Envoy's healthy_panic_threshold in percent: when
	// fewer than this share of endpoints are healthy and not ejected, all of
	// them take traffic. nil = 50; 0 turns panic mode off.
	PanicThreshold *float64
	SDS            SDSProvider
	Logger         *slog.Logger // default slog.Default()
	Metrics        Metrics      // may be nil
}

func (o Options) withDefaults() Options {
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.ReResolve <= 0 {
		o.ReResolve = DefaultReResolve
	}
	if o.ResolveTimeout <= 0 {
		o.ResolveTimeout = DefaultResolveTimeout
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.IdleConnTimeout <= 0 {
		o.IdleConnTimeout = DefaultIdleConnTimeout
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.FileRecheck <= 0 {
		o.FileRecheck = DefaultFileRecheck
	}
	if o.PanicThreshold == nil {
		o.PanicThreshold = new(DefaultPanicThreshold)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = nopMetrics{}
	}
	return o
}

// Manager owns one Cluster per ir.Cluster. Update swaps the set atomically:
// a cluster whose ir.Cluster is unchanged (deep-equal) keeps its pools,
// resolved addresses, health and outlier state; removed clusters are closed
// after their in-flight requests finish (or DrainTimeout); new ones start
// resolving at once.
type Manager struct {
	opts     Options
	clusters atomic.Pointer[map[string]*Cluster]
	drain    *drainer

	mu     sync.Mutex // serializes Update and Close
	closed bool
}

// NewManager starts a Manager with no clusters.
func NewManager(opts Options) *Manager {
	m := &Manager{opts: opts.withDefaults()}
	m.clusters.Store(new(map[string]*Cluster{}))
	m.drain = newDrainer(m.opts.DrainTimeout)
	return m
}

// Update makes clusters the manager's set. It never blocks on the network.
func (m *Manager) Update(clusters []ir.Cluster) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	old := *m.clusters.Load()
	next := make(map[string]*Cluster, len(clusters))
	for i := range clusters {
		cfg := cloneCluster(&clusters[i])
		if _, dup := next[cfg.Name]; dup {
			m.opts.Logger.Warn("upstream: duplicate cluster name; first one kept", "cluster", cfg.Name)
			continue
		}
		prev := old[cfg.Name]
		if prev != nil && reflect.DeepEqual(prev.cfg, cfg) {
			next[cfg.Name] = prev
			continue
		}
		// A changed cluster starts from its predecessor's addresses when
		// discovery is unchanged, so editing (say) a health check never
		// leaves the cluster without endpoints while DNS answers again.
		var seed []netip.AddrPort
		if prev != nil && prev.cfg.Discovery == cfg.Discovery {
			seed = prev.addrs()
		}
		next[cfg.Name] = newCluster(cfg, &m.opts, m.drain, seed)
	}
	m.clusters.Store(&next)
	for name, c := range old {
		if next[name] != c {
			c.retire()
		}
	}
}

// Cluster returns the named cluster of the current set.
func (m *Manager) Cluster(name string) (*Cluster, bool) {
	c, ok := (*m.clusters.Load())[name]
	return c, ok
}

// Clusters returns the current set, in no order, for the admin interface.
func (m *Manager) Clusters() []*Cluster {
	set := *m.clusters.Load()
	out := make([]*Cluster, 0, len(set))
	for _, c := range set {
		out = append(out, c)
	}
	return out
}

// Close stops every goroutine and closes every connection, in flight or
// not: the caller drains its listeners first.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	old := *m.clusters.Load()
	m.clusters.Store(new(map[string]*Cluster{}))
	m.mu.Unlock()
	for _, c := range old {
		c.shutdown()
	}
	m.drain.close()
}

// cloneCluster deep-copies cfg so a caller reusing its slices cannot
// change a running cluster behind its back.
func cloneCluster(in *ir.Cluster) ir.Cluster {
	out := *in
	if in.HealthCheck != nil {
		out.HealthCheck = new(*in.HealthCheck)
	}
	if in.Outlier != nil {
		out.Outlier = new(*in.Outlier)
	}
	if in.TLS != nil {
		t := *in.TLS
		if t.Certificate != nil {
			t.Certificate = new(*t.Certificate)
		}
		if t.Validation != nil {
			v := *t.Validation
			v.SubjectAltNames = append([]string(nil), v.SubjectAltNames...)
			t.Validation = &v
		}
		out.TLS = &t
	}
	return out
}
