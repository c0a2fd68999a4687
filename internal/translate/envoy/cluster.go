package envoy

import (
	"fmt"
	"math"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	upstreamhttp "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/meshgate/meshgate/internal/ir"
	"google.golang.org/protobuf/types/known/anypb"
)

// unlimited is App Mesh's raised circuit-breaker default (UG:envoy-defaults):
// Envoy's own defaults (1024 connections, requests...) would cap a gateway.
const unlimited = math.MaxInt32

const httpOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

// selfRedirectCluster is the hop from a gateway listener into the egress
// listener. The listener's connection pool caps this hop, which bounds what
// the listener has in flight, as App Mesh applied it.
func (t *translator) selfRedirectCluster(l ir.Listener) (*cluster.Cluster, error) {
	name := t.names.selfRedirect(l)
	var lim ir.ConnectionLimits
	if l.Limits != nil {
		lim = *l.Limits
	}
	c := &cluster.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &cluster.Cluster_Type{Type: cluster.Cluster_STATIC},
		LoadAssignment:       loadAssignment(name, "127.0.0.1", t.o.EgressPort, 0),
		CircuitBreakers:      circuitBreakers(lim),
	}
	if l.Protocol == ir.HTTP2 || l.Protocol == ir.GRPC {
		// Keep HTTP/2 end to end: gRPC needs it, and the egress listener
		// takes either.
		opts, err := http2Options()
		if err != nil {
			return nil, err
		}
		c.TypedExtensionProtocolOptions = opts
	}
	return c, nil
}

// cluster is the upstream for one (virtual node, port).
func (t *translator) cluster(c ir.Cluster) (*cluster.Cluster, error) {
	d := c.Discovery
	if c.Name == "" {
		return nil, fmt.Errorf("cluster without a name")
	}
	if d.Hostname == "" || d.Port == 0 || d.Port > 65535 {
		return nil, fmt.Errorf("discovery needs a hostname and a port, got %q:%d", d.Hostname, d.Port)
	}
	family, err := lookupFamily(d.IPPreference)
	if err != nil {
		return nil, err
	}
	kind := cluster.Cluster_LOGICAL_DNS // one address at a time (LOADBALANCER)
	if d.AllEndpoints {
		kind = cluster.Cluster_STRICT_DNS // every address (ENDPOINTS)
	}
	var hcPort uint32
	if hc := c.HealthCheck; hc != nil && hc.Port != 0 && hc.Port != d.Port {
		hcPort = hc.Port
	}
	out := &cluster.Cluster{
		Name:                 c.Name,
		ClusterDiscoveryType: &cluster.Cluster_Type{Type: kind},
		DnsLookupFamily:      family,
		LoadAssignment:       loadAssignment(c.Name, d.Hostname, d.Port, hcPort),
		CircuitBreakers:      circuitBreakers(ir.ConnectionLimits{}),
	}
	switch c.Protocol {
	case ir.HTTP2, ir.GRPC:
		if out.TypedExtensionProtocolOptions, err = http2Options(); err != nil {
			return nil, err
		}
	case ir.HTTP:
	default:
		return nil, fmt.Errorf("protocol %q is not http, http2 or grpc", c.Protocol)
	}
	if c.HealthCheck != nil {
		hc, err := healthCheck(*c.HealthCheck, c.Protocol)
		if err != nil {
			return nil, fmt.Errorf("health check: %w", err)
		}
		out.HealthChecks = []*core.HealthCheck{hc}
	}
	if c.Outlier != nil {
		if c.Outlier.MaxServerErrors == 0 {
			return nil, fmt.Errorf("outlier detection needs at least one server error to eject")
		}
		out.OutlierDetection = outlierDetection(*c.Outlier)
	}
	if c.TLS != nil {
		ts, err := t.upstreamTLS(c)
		if err != nil {
			return nil, fmt.Errorf("TLS: %w", err)
		}
		out.TransportSocket = ts
	}
	return out, nil
}

// lookupFamily maps App Mesh's IP preference. Envoy's AUTO is "IPv6 first,
// IPv4 when there is none", the IR's default and IPv6_PREFERRED.
func lookupFamily(pref string) (cluster.Cluster_DnsLookupFamily, error) {
	switch pref {
	case "", "IPv6_PREFERRED":
		return cluster.Cluster_AUTO, nil
	case "IPv4_PREFERRED":
		return cluster.Cluster_V4_PREFERRED, nil
	case "IPv4_ONLY":
		return cluster.Cluster_V4_ONLY, nil
	case "IPv6_ONLY":
		return cluster.Cluster_V6_ONLY, nil
	}
	return 0, fmt.Errorf("unknown IP preference %q", pref)
}

func loadAssignment(name, host string, port, healthCheckPort uint32) *endpoint.ClusterLoadAssignment {
	ep := &endpoint.Endpoint{Address: socketAddress(host, port)}
	if healthCheckPort != 0 {
		ep.HealthCheckConfig = &endpoint.Endpoint_HealthCheckConfig{PortValue: healthCheckPort}
	}
	return &endpoint.ClusterLoadAssignment{
		ClusterName: name,
		Endpoints: []*endpoint.LocalityLbEndpoints{{LbEndpoints: []*endpoint.LbEndpoint{{
			HostIdentifier: &endpoint.LbEndpoint_Endpoint{Endpoint: ep},
		}}}},
	}
}

// circuitBreakers uses the limits that are set and App Mesh's raised
// default for the others.
func circuitBreakers(l ir.ConnectionLimits) *cluster.CircuitBreakers {
	or := func(v uint32) uint32 {
		if v == 0 {
			return unlimited
		}
		return v
	}
	return &cluster.CircuitBreakers{Thresholds: []*cluster.CircuitBreakers_Thresholds{{
		Priority:           core.RoutingPriority_DEFAULT,
		MaxConnections:     u32(or(l.MaxConnections)),
		MaxPendingRequests: u32(or(l.MaxPendingRequests)),
		MaxRequests:        u32(or(l.MaxRequests)),
		MaxRetries:         u32(unlimited),
	}}}
}

// http2Options makes a cluster speak HTTP/2 (prior knowledge in plaintext,
// ALPN h2 with TLS).
func http2Options() (map[string]*anypb.Any, error) {
	a, err := marshalAny(&upstreamhttp.HttpProtocolOptions{
		UpstreamProtocolOptions: &upstreamhttp.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &upstreamhttp.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &upstreamhttp.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: &core.Http2ProtocolOptions{}},
		}},
	})
	if err != nil {
		return nil, err
	}
	return map[string]*anypb.Any{httpOptionsKey: a}, nil
}

func healthCheck(h ir.HealthCheck, clusterProtocol ir.Protocol) (*core.HealthCheck, error) {
	if h.Interval <= 0 || h.Timeout <= 0 {
		return nil, fmt.Errorf("interval and timeout must be positive")
	}
	out := &core.HealthCheck{
		Interval:           dur(h.Interval.D()),
		Timeout:            dur(h.Timeout.D()),
		HealthyThreshold:   u32(h.HealthyThreshold),
		UnhealthyThreshold: u32(h.UnhealthyThreshold),
	}
	switch h.Protocol {
	case ir.HTTP, ir.HTTP2:
		path := h.Path
		if path == "" {
			path = "/" // Envoy needs a path; App Mesh made it optional
		}
		hc := &core.HealthCheck_HttpHealthCheck{Path: path}
		if h.Protocol == ir.HTTP2 {
			hc.CodecClientType = typev3.CodecClientType_HTTP2 // whatever the cluster's protocol
		}
		out.HealthChecker = &core.HealthCheck_HttpHealthCheck_{HttpHealthCheck: hc}
	case ir.GRPC:
		if clusterProtocol != ir.HTTP2 && clusterProtocol != ir.GRPC {
			return nil, fmt.Errorf("a gRPC health check needs an http2 or grpc listener, not %s", clusterProtocol)
		}
		out.HealthChecker = &core.HealthCheck_GrpcHealthCheck_{GrpcHealthCheck: &core.HealthCheck_GrpcHealthCheck{}}
	case ir.TCP:
		// No payload: a connection that opens is healthy.
		out.HealthChecker = &core.HealthCheck_TcpHealthCheck_{TcpHealthCheck: &core.HealthCheck_TcpHealthCheck{}}
	default:
		return nil, fmt.Errorf("unknown protocol %q", h.Protocol)
	}
	return out, nil
}

// outlierDetection ejects on consecutive 5xx only, as App Mesh describes
// it: Envoy's success-rate ejection, on by default, is turned off.
func outlierDetection(o ir.OutlierDetection) *cluster.OutlierDetection {
	out := &cluster.OutlierDetection{
		Consecutive_5Xx:          u32(o.MaxServerErrors),
		MaxEjectionPercent:       u32(min(o.MaxEjectionPercent, 100)),
		EnforcingSuccessRate:     u32(0),
		EnforcingConsecutive_5Xx: u32(100),
	}
	// Envoy refuses zero durations; App Mesh requires positive ones, so
	// zero only means "not given": Envoy's defaults (10 s, 30 s) apply.
	if o.Interval > 0 {
		out.Interval = dur(o.Interval.D())
	}
	if o.BaseEjectionDuration > 0 {
		out.BaseEjectionTime = dur(o.BaseEjectionDuration.D())
	}
	return out
}
