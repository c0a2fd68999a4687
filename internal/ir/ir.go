// Package ir is the per-gateway intermediate representation: everything one
// virtual gateway proxy needs, with App Mesh semantics already resolved
// (route order, default rewrites, the router stage, clusters per virtual
// node and port, TLS, timeouts, retries). Both data-plane back ends — Envoy
// xDS and the Go gateway — are thin mappings of it, so App Mesh behaviour is
// decided once, in package translate. The IR imports no API types.
//
// All slices are in a defined order and all names are stable, so equal
// input gives equal output and the content hash (Version) only changes when
// a proxy's configuration does.
package ir

// Protocol is a listener or upstream protocol.
type Protocol string

const (
	HTTP  Protocol = "http"
	HTTP2 Protocol = "http2"
	GRPC  Protocol = "grpc"
	TCP   Protocol = "tcp"
)

// Gateway is one virtual gateway's configuration.
type Gateway struct {
	Mesh string `json:"mesh"`
	Name string `json:"name"` // virtual gateway name
	UID  string `json:"uid"`  // changes when the gateway is deleted and created again
	// Listeners, ordered by port.
	Listeners []Listener `json:"listeners"`
	// Services is the router stage: what each (virtual service, port) a
	// gateway route targets does with a request. Ordered by name, port.
	Services []Service `json:"services,omitempty"`
	// Clusters are the upstreams, one per (virtual node, listener port),
	// ordered by name.
	Clusters []Cluster `json:"clusters,omitempty"`
	// AccessLog is nil when the gateway logs nothing.
	AccessLog *AccessLog `json:"accessLog,omitempty"`
}

// Listener is one gateway listener (one port, one protocol).
type Listener struct {
	Port     uint32       `json:"port"`
	Protocol Protocol     `json:"protocol"` // http, http2 or grpc
	TLS      *ListenerTLS `json:"tls,omitempty"`
	// Limits are the listener's connection pool: caps on what the gateway
	// has in flight for this listener. nil = unlimited.
	Limits *ConnectionLimits `json:"limits,omitempty"`
	// VirtualHosts in Envoy's selection order: exact domains, then suffix
	// wildcards (longest first), then the "*" host. A request is matched
	// against the routes of the first host whose domains match its
	// authority, and only that host (Envoy virtual-host semantics).
	VirtualHosts []VirtualHost `json:"virtualHosts"`
}

// TLSMode is a listener TLS mode.
type TLSMode string

const (
	TLSStrict     TLSMode = "STRICT"     // TLS only
	TLSPermissive TLSMode = "PERMISSIVE" // TLS and plaintext on one port
	TLSDisabled   TLSMode = "DISABLED"   // plaintext only (the certificate is ignored)
)

// ListenerTLS is TLS termination on a listener.
type ListenerTLS struct {
	Mode        TLSMode     `json:"mode"`
	Certificate Certificate `json:"certificate"`
	// Validation turns on mTLS: a client certificate is required and
	// checked. nil = no client certificate asked for.
	Validation *Validation `json:"validation,omitempty"`
}

// Certificate is a certificate and key from files, or an SDS secret.
type Certificate struct {
	CertificateChain string `json:"certificateChain,omitempty"` // file path
	PrivateKey       string `json:"privateKey,omitempty"`       // file path
	SDS              string `json:"sds,omitempty"`              // secret name
}

// Validation is how a peer certificate is checked: against a trust bundle
// (file or SDS) and, when SubjectAltNames is not empty, one of those names
// must be among the certificate's SANs (exact match).
type Validation struct {
	TrustChain      string   `json:"trustChain,omitempty"` // file path of CA certificates
	TrustSDS        string   `json:"trustSDS,omitempty"`   // SDS secret name of a validation context
	SubjectAltNames []string `json:"subjectAltNames,omitempty"`
}

// ConnectionLimits bound concurrency; 0 means unlimited.
type ConnectionLimits struct {
	MaxConnections     uint32 `json:"maxConnections,omitempty"`
	MaxPendingRequests uint32 `json:"maxPendingRequests,omitempty"`
	MaxRequests        uint32 `json:"maxRequests,omitempty"`
}

// VirtualHost groups the gateway routes of one hostname match.
type VirtualHost struct {
	Name string `json:"name"`
	// Domains in Envoy's form: "www.example.com" (exact, any port),
	// "*.example.com" (suffix), or "*".
	Domains []string `json:"domains"`
	// Routes in evaluation order: the first that matches wins.
	Routes []GatewayRoute `json:"routes"`
}

// GatewayRoute is one gateway route on one listener.
type GatewayRoute struct {
	Name   string             `json:"name"` // the gateway route's name
	Match  Match              `json:"match"`
	Action GatewayRouteAction `json:"action"`
}

// Match is a request match. Every set criterion must hold (AND). Path
// criteria apply to the path without the query string. At most one of
// Prefix, Path and PathRegex is set; none means every path.
type Match struct {
	Prefix    string `json:"prefix,omitempty"`    // string prefix ("/a" matches "/ab")
	Path      string `json:"path,omitempty"`      // whole path equality
	PathRegex string `json:"pathRegex,omitempty"` // RE2 over the whole path
	Method    string `json:"method,omitempty"`
	// Headers also carries gRPC metadata matches.
	Headers []HeaderMatch `json:"headers,omitempty"`
	Query   []QueryMatch  `json:"query,omitempty"`
	// Scheme is "http" or "https" (router http2 routes only).
	Scheme string `json:"scheme,omitempty"`
}

// HeaderMatch matches one header (or gRPC metadata entry). Exactly one of
// the value criteria is set, or none for a presence match. Invert negates
// the result.
type HeaderMatch struct {
	Name   string  `json:"name"` // lower case
	Exact  *string `json:"exact,omitempty"`
	Prefix *string `json:"prefix,omitempty"`
	Suffix *string `json:"suffix,omitempty"`
	Regex  *string `json:"regex,omitempty"` // RE2 over the whole value
	Range  *Range  `json:"range,omitempty"` // integer value in [Start, End)
	Invert bool    `json:"invert,omitempty"`
}

// Range is a half-open integer range [Start, End).
type Range struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// QueryMatch matches one query parameter: its value equals Exact, or, when
// Exact is nil, it is present.
type QueryMatch struct {
	Name  string  `json:"name"`
	Exact *string `json:"exact,omitempty"`
}

// GatewayRouteAction sends a matched request to the router stage of a
// virtual service, after the gateway route's rewrites.
type GatewayRouteAction struct {
	// Service and Port name the entry of Gateway.Services that handles the
	// request.
	Service string `json:"service"`
	Port    uint32 `json:"port"`
	// HostRewrite is the Host/authority sent on; "" keeps the client's.
	HostRewrite string `json:"hostRewrite,omitempty"`
	// PrefixRewrite, when set, replaces the matched Match.Prefix at the start
	// of the path; after the replacement, a run of slashes where the two
	// parts meet is merged into one ("/color1/tell" with prefix "/color1"
	// and rewrite "/" becomes "/tell").
	PrefixRewrite *string `json:"prefixRewrite,omitempty"`
	// PathRewrite, when not empty, replaces the whole path (the query is kept).
	PathRewrite string `json:"pathRewrite,omitempty"`
}

// Service is the router stage for one virtual service on one port.
type Service struct {
	Name string `json:"name"` // virtual service name (the Host it is reached by)
	Port uint32 `json:"port"` // provider listener port; 0 when there is none
	// Provider is "virtualRouter/NAME", "virtualNode/NAME", or "" when the
	// virtual service has no provider (or none that can serve the port):
	// requests to it fail with 503.
	Provider string   `json:"provider,omitempty"`
	Protocol Protocol `json:"protocol,omitempty"`
	// Routes in evaluation order; a request that matches none gets 404.
	Routes []Route `json:"routes,omitempty"`
}

// Route is a router route (or the implicit route to a node provider).
type Route struct {
	Name    string           `json:"name"` // router route name; "" for a node provider
	Match   Match            `json:"match"`
	Targets []WeightedTarget `json:"targets"`
	Retry   *RetryPolicy     `json:"retry,omitempty"`
	// Timeout is the whole request's deadline; 0 = none.
	Timeout Duration `json:"timeout,omitempty"`
	// IdleTimeout closes a stream that sends nothing for this long; 0 = none.
	IdleTimeout Duration `json:"idleTimeout,omitempty"`
}

// WeightedTarget sends a share of a route's requests to a cluster. Weights
// are relative; a target of weight 0 gets nothing.
type WeightedTarget struct {
	Cluster string `json:"cluster"`
	Weight  uint32 `json:"weight"`
}

// RetryPolicy is when and how often a failed attempt is retried, in
// Envoy's vocabulary: HTTPEvents among "server-error" (5xx),
// "gateway-error" (502, 503, 504), "client-error" (409), "stream-error"
// (refused or reset stream); TCPEvents among "connection-error";
// GRPCEvents among "cancelled", "deadline-exceeded", "internal",
// "resource-exhausted", "unavailable"; StatusCodes are extra HTTP statuses.
type RetryPolicy struct {
	MaxRetries    uint32   `json:"maxRetries"`
	PerTryTimeout Duration `json:"perTryTimeout,omitempty"`
	HTTPEvents    []string `json:"httpEvents,omitempty"`
	TCPEvents     []string `json:"tcpEvents,omitempty"`
	GRPCEvents    []string `json:"grpcEvents,omitempty"`
	StatusCodes   []uint32 `json:"statusCodes,omitempty"`
}

// Cluster is the upstream for one (virtual node, listener port).
type Cluster struct {
	// Name follows App Mesh: cds_egress_<mesh>_<node>_<protocol>_<port>.
	Name     string   `json:"name"`
	Node     string   `json:"node"`
	Port     uint32   `json:"port"`
	Protocol Protocol `json:"protocol"`
	// Discovery is how endpoints are found.
	Discovery   Discovery         `json:"discovery"`
	HealthCheck *HealthCheck      `json:"healthCheck,omitempty"`
	Outlier     *OutlierDetection `json:"outlier,omitempty"`
	// TLS is nil for plaintext upstreams.
	TLS *UpstreamTLS `json:"tls,omitempty"`
}

// Discovery is DNS-based endpoint discovery.
type Discovery struct {
	Hostname string `json:"hostname"`
	Port     uint32 `json:"port"`
	// AllEndpoints: use every address DNS returns (App Mesh ENDPOINTS, Envoy
	// STRICT_DNS) instead of one at a time (LOADBALANCER, LOGICAL_DNS).
	AllEndpoints bool `json:"allEndpoints,omitempty"`
	// IPPreference is one of IPv6_PREFERRED, IPv4_PREFERRED, IPv4_ONLY,
	// IPv6_ONLY, or "" for the default (IPv6 preferred, IPv4 fallback).
	IPPreference string `json:"ipPreference,omitempty"`
}

// HealthCheck is an active health check of a cluster's endpoints.
type HealthCheck struct {
	Protocol           Protocol `json:"protocol"` // http, http2, grpc or tcp
	Path               string   `json:"path,omitempty"`
	Port               uint32   `json:"port,omitempty"` // 0 = the endpoint's port
	Interval           Duration `json:"interval"`
	Timeout            Duration `json:"timeout"`
	HealthyThreshold   uint32   `json:"healthyThreshold"`
	UnhealthyThreshold uint32   `json:"unhealthyThreshold"`
}

// OutlierDetection ejects endpoints that return server errors.
type OutlierDetection struct {
	MaxServerErrors      uint32   `json:"maxServerErrors"` // consecutive 5xx before ejection
	Interval             Duration `json:"interval"`
	BaseEjectionDuration Duration `json:"baseEjectionDuration"`
	MaxEjectionPercent   uint32   `json:"maxEjectionPercent"`
}

// UpstreamTLS is TLS origination towards a cluster.
type UpstreamTLS struct {
	// SNI is the server name sent (the node's DNS hostname).
	SNI string `json:"sni,omitempty"`
	// Certificate is presented when the upstream asks for one (mTLS).
	Certificate *Certificate `json:"certificate,omitempty"`
	// Validation checks the upstream's certificate; nil = not checked
	// (App Mesh's behaviour when TLS comes from the node's own listener
	// setting rather than a client policy).
	Validation *Validation `json:"validation,omitempty"`
}

// AccessLog writes one line per request.
type AccessLog struct {
	Path string `json:"path"`
	// Text is an Envoy format string; JSON maps keys to Envoy format
	// strings. Neither = Envoy's default format.
	Text string      `json:"text,omitempty"`
	JSON []JSONField `json:"json,omitempty"`
}

// JSONField is one key of a JSON access-log format, in the user's order.
type JSONField struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}
