package run

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/meshgate/meshgate/internal/cli"
	"github.com/meshgate/meshgate/internal/gateway/configclient"
	"github.com/meshgate/meshgate/internal/gateway/metrics"
	"github.com/meshgate/meshgate/internal/heapfloor"
	"github.com/meshgate/meshgate/internal/store"
)

// gatewayFlags are the settings of `meshgate gateway`. Their environment
// variables are the App Mesh Envoy image's, so a task definition or pod
// spec keeps its environment when it swaps the image.
type gatewayFlags struct {
	resource    string
	cluster     string
	xds         multiFlag
	xdsCA       string
	xdsCert     string // client certificate for --xds-auth mtls
	xdsKey      string
	xdsToken    string // bearer token file for --xds-auth token
	adminListen string
	listenHost  string
	configCache string
	drainTime   time.Duration
	logLevel    string
	logFormat   string
	heapFloor   uint64 // MiB
}

// maxHeapFloor (MiB) keeps --gc-heap-floor's bytes far from overflowing.
const maxHeapFloor = 1 << 20

// multiFlag collects a repeatable flag; each value may be a comma list.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// firstEnv returns the first set variable of names, or def.
func firstEnv(def string, names ...string) string {
	for _, n := range names {
		if v, ok := os.LookupEnv(n); ok && v != "" {
			return v
		}
	}
	return def
}

// envoyLogLevel maps ENVOY_LOG_LEVEL's words onto slog's.
func envoyLogLevel(v string) string {
	switch strings.ToLower(v) {
	case "trace", "debug":
		return "debug"
	case "warning", "warn":
		return "warn"
	case "error", "critical", "off":
		return "error"
	}
	return "info"
}

func parseGatewayFlags(args []string) (*gatewayFlags, error) {
	f := &gatewayFlags{}
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.StringVar(&f.resource, "resource", firstEnv("", "APPMESH_RESOURCE_ARN", "APPMESH_RESOURCE_NAME", "APPMESH_VIRTUAL_NODE_NAME"),
		"the virtual gateway this gateway serves: its ARN or mesh/MESH/virtualGateway/NAME (env APPMESH_RESOURCE_ARN; required)")
	fs.StringVar(&f.cluster, "cluster", firstEnv("", "APPMESH_RESOURCE_CLUSTER", "APPMESH_VIRTUAL_NODE_CLUSTER"),
		"node.cluster sent to the control plane (env APPMESH_RESOURCE_CLUSTER; default: the resource)")
	fs.Var(&f.xds, "xds", "xDS endpoint of meshgate server: host:port or unix:///path; repeat or comma-separate for failover "+
		"(env APPMESH_XDS_ENDPOINT; default 127.0.0.1:7071)")
	fs.StringVar(&f.xdsCA, "xds-ca", os.Getenv("MESHGATE_XDS_CA"),
		"CA bundle to verify a TLS xDS server; host:port endpoints use TLS when set (env MESHGATE_XDS_CA)")
	fs.StringVar(&f.xdsCert, "xds-cert", os.Getenv("MESHGATE_XDS_CERT"),
		"PEM client certificate presented to a TLS xDS server (its --xds-auth mtls); needs --xds-ca (env MESHGATE_XDS_CERT)")
	fs.StringVar(&f.xdsKey, "xds-key", os.Getenv("MESHGATE_XDS_KEY"), "PEM private key of --xds-cert (env MESHGATE_XDS_KEY)")
	fs.StringVar(&f.xdsToken, "xds-token-file", os.Getenv("MESHGATE_XDS_TOKEN_FILE"),
		"file holding a bearer token for the xDS server (its --xds-auth token), re-read at each reconnect (env MESHGATE_XDS_TOKEN_FILE)")
	adminPort := firstEnv("9901", "ENVOY_ADMIN_ACCESS_PORT")
	fs.StringVar(&f.adminListen, "admin-listen", "127.0.0.1:"+adminPort,
		"admin address: /ready, /server_info, /config_dump, /stats/prometheus (env ENVOY_ADMIN_ACCESS_PORT sets the port; empty disables)")
	fs.StringVar(&f.listenHost, "listen-host", os.Getenv("MESHGATE_GATEWAY_LISTEN_HOST"),
		"address the virtual gateway's listeners bind to; empty = all interfaces, like Envoy's 0.0.0.0 (env MESHGATE_GATEWAY_LISTEN_HOST)")
	fs.StringVar(&f.configCache, "config-cache", os.Getenv("MESHGATE_GATEWAY_CONFIG_CACHE"),
		"file keeping the last good configuration, served at start while the control plane is unreachable (env MESHGATE_GATEWAY_CONFIG_CACHE)")
	drain := 20 * time.Second
	if s := os.Getenv("LISTENER_DRAIN_WAIT_TIME_S"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("LISTENER_DRAIN_WAIT_TIME_S %q: want seconds", s)
		}
		drain = time.Duration(n) * time.Second
	}
	fs.DurationVar(&f.drainTime, "drain-time", drain,
		"after SIGTERM, how long to keep serving with readiness off and Connection: close before stopping (env LISTENER_DRAIN_WAIT_TIME_S, seconds)")
	fs.StringVar(&f.logLevel, "log-level", envoyLogLevel(firstEnv("info", "ENVOY_LOG_LEVEL")),
		"debug, info, warn or error (env ENVOY_LOG_LEVEL, Envoy's words accepted)")
	fs.StringVar(&f.logFormat, "log-format", cli.EnvString("MESHGATE_LOG_FORMAT", "text"), "text or json (env MESHGATE_LOG_FORMAT)")
	floor := uint64(8)
	if s := os.Getenv("MESHGATE_GC_HEAP_FLOOR_MIB"); s != "" {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("MESHGATE_GC_HEAP_FLOOR_MIB %q: want MiB", s)
		}
		floor = n
	}
	fs.Uint64Var(&f.heapFloor, "gc-heap-floor", floor,
		"MiB the heap may grow by between garbage collections however small the live heap (then as GOGC=100); 0 = GOGC=100 only; "+
			"ignored when GOGC or GOMEMLIMIT is set (env MESHGATE_GC_HEAP_FLOOR_MIB)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: meshgate gateway [flags], or meshgate-gateway [flags]\n\n"+
			"Serves one virtual gateway, configured by meshgate server over xDS.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if f.heapFloor > maxHeapFloor {
		return nil, fmt.Errorf("--gc-heap-floor %d: at most %d MiB", f.heapFloor, maxHeapFloor)
	}
	if len(f.xds) == 0 {
		f.xds = multiFlag{firstEnv("127.0.0.1:7071", "APPMESH_XDS_ENDPOINT")}
	}
	if f.resource == "" {
		return nil, errors.New("--resource (or APPMESH_RESOURCE_ARN) is required: the virtual gateway's ARN or mesh/MESH/virtualGateway/NAME")
	}
	return f, nil
}

// gatewayResource checks a resource ARN and returns its short form.
func gatewayResource(arn string) (string, error) {
	k, _, _, err := store.ParseResource(arn)
	if err != nil || k.Kind != store.KindVirtualGateway {
		return "", fmt.Errorf("resource %q is not a virtual gateway: want arn:aws:appmesh:REGION:ACCOUNT:mesh/MESH/virtualGateway/NAME or mesh/MESH/virtualGateway/NAME", arn)
	}
	mesh, _, _ := strings.Cut(k.Mesh, "@")
	return "mesh/" + mesh + "/virtualGateway/" + k.Name, nil
}

// Command is `meshgate gateway` (and `meshgate-gateway`): its flags, with
// the App Mesh Envoy image's environment variables as defaults, then
// Gateway until SIGTERM. version is the binary's, reported by the admin
// server.
func Command(args []string, version string) error {
	f, err := parseGatewayFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log, err := cli.NewLogger(f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	heapfloor.Start(f.heapFloor << 20)
	resource, err := gatewayResource(f.resource)
	if err != nil {
		return err
	}
	eps, err := configclient.ParseEndpoints(strings.Join(f.xds, ","), f.xdsCA)
	if err != nil {
		return err
	}
	if eps, err = configclient.WithClientAuth(eps, f.xdsCert, f.xdsKey, f.xdsToken); err != nil {
		return err
	}
	reg := cli.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		return err
	}
	if f.adminListen != "" {
		if _, _, err := net.SplitHostPort(f.adminListen); err != nil {
			return fmt.Errorf("--admin-listen %q: %w", f.adminListen, err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Gateway(ctx, Config{
		Client: configclient.Options{Endpoints: eps, NodeID: f.resource, Cluster: f.cluster, Resource: resource,
			CacheFile: f.configCache, Logger: log},
		AdminListen: f.adminListen, ListenHost: f.listenHost, DrainTime: f.drainTime,
		ShutdownTimeout: 30 * time.Second, Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		GatewayMetrics: m, Logger: log, Version: version,
	})
}
