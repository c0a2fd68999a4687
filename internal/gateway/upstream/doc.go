// Package upstream is the Go gateway's cluster manager: one Cluster per
// ir.Cluster, each with DNS discovery, keep-alive connection pools, TLS
// origination, active health checks, outlier detection, and round-robin
// load balancing with Envoy's panic mode. Cluster.RoundTrip is one attempt
// at one endpoint; retries, timeouts and circuit breaking belong to the
// proxy that calls it.
//
// Where App Mesh's Envoy leaves a choice, this package decides as follows.
//
// Connect timeout: 1s (Options.ConnectTimeout), the connect_timeout App
// Mesh puts on its cds_egress clusters, covering the TCP connect and the
// TLS handshake. No response-header timeout: the caller's context bounds
// each attempt. Connections are not capped per endpoint (App Mesh raises
// Envoy's circuit breakers to 2^31-1); up to 1024 idle ones are kept per
// endpoint. HTTP/1.1 clusters (plaintext and TLS) use this package's own
// client (h1client.go), which writes the request and reads the response on
// the caller's goroutine and keeps http.Transport's rules for keep-alive,
// retries on dead keep-alive connections, 1xx, trailers, upgrades and
// cancellation; HTTP/2 and gRPC clusters use http.Transport.
//
// Discovery: ENDPOINTS (AllEndpoints) is Envoy's STRICT_DNS, every address
// an endpoint; LOADBALANCER is LOGICAL_DNS, one logical endpoint at the
// first address, whose health and outlier state survive an address change
// while connections to the old address drain. IP preferences follow
// Envoy's dns_lookup_family: *_ONLY keeps one family, *_PREFERRED (and "",
// IPv6 preferred) uses the preferred family when the answer has it and the
// other otherwise. An IP literal is its own answer. Addresses are looked up
// again every 5s; a failed or empty answer keeps the last good addresses
// (logged once per failure streak); a cluster that never resolved answers
// ErrNoHealthyUpstream. A cluster replaced by a new configuration with the
// same discovery starts from its predecessor's addresses.
//
// Warming: like Envoy, a new cluster takes no request until its first DNS
// answer and its endpoints' first health checks are in. RoundTrip waits for
// that (bounded by ResolveTimeout plus the check timeout, and by the
// request's context) instead of failing.
//
// Health checks: each endpoint is checked at once, then every interval
// after the previous check ends. Envoy's rules: an endpoint counts as
// unhealthy until its first check passes, and that first pass is enough;
// afterwards healthyThreshold passes in a row heal it; an answer that says
// unhealthy (HTTP status other than 200, the only status Envoy accepts by
// default; gRPC status other than OK; a health status other than SERVING)
// makes it unhealthy at once, while network failures and timeouts need
// unhealthyThreshold in a row. HTTP checks send GET path with Host
// "<hostname>:<port>" (as App Mesh configures) and User-Agent Envoy/HC;
// gRPC checks call grpc.health.v1.Health/Check for the empty service over
// HTTP/2; TCP checks connect (and complete TLS when the cluster uses it).
// A passing check also ends an outlier ejection, as Envoy does by default.
//
// Panic mode: when fewer than Options.PanicThreshold percent (Envoy's
// default 50) of the endpoints are healthy and not ejected, all endpoints
// take traffic. Setting it to 0 turns panic mode off, and a cluster with no
// healthy endpoint then answers ErrNoHealthyUpstream.
//
// Outlier detection: maxServerErrors consecutive 5xx responses, connection
// failures, resets or timeouts (a client cancellation does not count) eject
// the endpoint at once. The ejection is refused when 100*(ejected+1)/
// endpoints would exceed maxEjectionPercent; there is no "always eject at
// least one" (Envoy's always_eject_one_host is off by default), so 0%
// disables ejection and a one-endpoint cluster needs 100%. An ejection
// lasts baseEjectionDuration times the endpoint's backoff (1 for the first,
// growing by one per ejection, capped at max(300s, base)), and ends at the
// first interval sweep after that; the backoff decays by one per interval
// the endpoint stays in service.
//
// TLS: SNI as configured; the client certificate and the trust bundle are
// read from their files and read again when a file's modification time or
// size changes (checked at most every FileRecheck), keeping the last good
// version if a rotation is half written. Validation verifies the chain
// against the bundle without hostname checks and requires, when
// SubjectAltNames is set, one of them to equal a DNS, URI, email or IP SAN
// of the upstream's certificate (no wildcard expansion). No Validation
// means the upstream's certificate is not checked. Any handshake failure
// is a *ConnectError. SDS secret names need Options.SDS; without it the
// cluster is reported by Cluster.Err (and logged once, at Update) and
// every request fails with a *ConfigError, which the proxy answers like a
// connection failure (503), as Envoy does once a missing secret's fetch
// times out. Failing closed beats sending without the configured identity
// or validation.
//
// Updates and shutdown: an unchanged cluster (deep-equal ir.Cluster) is
// kept as is. A removed or changed cluster stops its background work at
// once, serves requests already holding it, and is closed when its
// connections are idle or after DrainTimeout (default 5 minutes), whichever
// comes first; endpoints DNS drops are drained the same way. Close closes
// everything at once: the proxy drains its listeners before calling it.
package upstream
