package xds

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/meshgate/meshgate/internal/store"
)

// Names in the bootstrap. The SDS cluster has the App Mesh Envoy image's
// name, which the Envoy translation's SDS config sources point at.
const (
	XDSClusterName = "xds_cluster"
	SDSClusterName = "static_cluster_sds_unix_socket"
	// XDSClientCertSecretName is the secret of the file-based SDS
	// configuration that carries the xDS client certificate
	// (BootstrapOptions.CertSDSFile).
	XDSClientCertSecretName = "xds_client_certificate"
)

// BootstrapOptions describe an upstream Envoy that runs as one virtual
// gateway against this server.
type BootstrapOptions struct {
	// Resource is node.id: the gateway's ARN, full or short.
	Resource string
	// Cluster is node.cluster (default: Resource, as the App Mesh image does).
	Cluster string
	// XDS is the server: host:port, or unix:///path/to.sock.
	XDS string
	// AdminPort is Envoy's admin port on 127.0.0.1 (default 9901).
	AdminPort uint32
	// TLS makes Envoy speak TLS to a TCP server, trusting CAFile (default:
	// the Debian/Ubuntu system bundle).
	TLS    bool
	CAFile string
	// SDSSocket adds the static cluster static_cluster_sds_unix_socket to a
	// local SDS server (SPIRE agent, say), like APPMESH_SDS_SOCKET_PATH.
	SDSSocket string
	// CertFile and KeyFile, paths inside Envoy's file system, are the
	// client certificate chain and key Envoy presents to the server (its
	// --xds-auth mtls). They need TLS. Envoy reads them once, at start,
	// unless CertSDSFile is set.
	CertFile, KeyFile string
	// CertSDSFile, a path inside Envoy's file system, delivers CertFile and
	// KeyFile through file-based SDS (the file XDSClientCertSDS writes):
	// Envoy then watches the certificate files' folders and uses a
	// certificate rotated by a file move (mv, a Kubernetes secret update)
	// without a restart.
	CertSDSFile string
	// Token is a bearer token sent as "authorization: Bearer TOKEN" on the
	// ADS stream (the server's --xds-auth token). It is written into the
	// bootstrap in clear: keep the file readable by Envoy only. It needs
	// TLS, or a loopback server.
	Token string
}

// DefaultCAFile is where Debian and Ubuntu keep the system CA bundle.
const DefaultCAFile = "/etc/ssl/certs/ca-certificates.crt"

// Bootstrap returns a v3 bootstrap: node identity, ADS over gRPC to the
// static cluster xds_cluster (HTTP/2), LDS and CDS through ADS (RDS, EDS
// and SDS then follow by reference), and the admin interface on loopback.
func Bootstrap(o BootstrapOptions) (*bootstrapv3.Bootstrap, error) {
	k, _, _, err := store.ParseResource(o.Resource)
	if err != nil || k.Kind != store.KindVirtualGateway {
		return nil, fmt.Errorf("--resource %q: want a virtual gateway ARN, mesh/MESH/virtualGateway/NAME or arn:aws:appmesh:REGION:ACCOUNT:mesh/MESH/virtualGateway/NAME", o.Resource)
	}
	adminPort := cmp.Or(o.AdminPort, 9901)
	xdsCluster, err := xdsCluster(o)
	if err != nil {
		return nil, err
	}
	grpcService := &corev3.GrpcService{
		TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: XDSClusterName}},
	}
	if o.Token != "" {
		// Envoy sends initial_metadata as request headers of each stream it
		// opens to the service: the server's bearer token check reads
		// "authorization: Bearer TOKEN" (tokens.go).
		grpcService.InitialMetadata = []*corev3.HeaderValue{{Key: "authorization", Value: "Bearer " + o.Token}}
	}
	clusters := []*clusterv3.Cluster{xdsCluster}
	if o.SDSSocket != "" {
		clusters = append(clusters, staticCluster(SDSClusterName, pipe(o.SDSSocket), time.Second))
	}
	ads := &corev3.ConfigSource{
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
		ResourceApiVersion:    corev3.ApiVersion_V3,
	}
	b := &bootstrapv3.Bootstrap{
		Node: &corev3.Node{Id: o.Resource, Cluster: cmp.Or(o.Cluster, o.Resource)},
		Admin: &bootstrapv3.Admin{
			Address: socket("127.0.0.1", adminPort),
		},
		StaticResources: &bootstrapv3.Bootstrap_StaticResources{Clusters: clusters},
		DynamicResources: &bootstrapv3.Bootstrap_DynamicResources{
			AdsConfig: &corev3.ApiConfigSource{
				ApiType:                   corev3.ApiConfigSource_GRPC,
				TransportApiVersion:       corev3.ApiVersion_V3,
				SetNodeOnFirstMessageOnly: true,
				GrpcServices:              []*corev3.GrpcService{grpcService},
			},
			LdsConfig: ads,
			CdsConfig: proto.CloneOf(ads),
		},
		// The API accepts regular expressions up to the size the App Mesh
		// agent allowed (re2 program size 1000); stock Envoy refuses more
		// than 100 unless told, and would NACK such routes.
		LayeredRuntime: &bootstrapv3.LayeredRuntime{Layers: []*bootstrapv3.RuntimeLayer{
			{Name: "static_layer_0", LayerSpecifier: &bootstrapv3.RuntimeLayer_StaticLayer{StaticLayer: &structpb.Struct{
				Fields: map[string]*structpb.Value{"re2.max_program_size.error_level": structpb.NewNumberValue(1000)},
			}}},
			{Name: "admin_layer", LayerSpecifier: &bootstrapv3.RuntimeLayer_AdminLayer_{AdminLayer: &bootstrapv3.RuntimeLayer_AdminLayer{}}},
		}},
	}
	if err := b.ValidateAll(); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	return b, nil
}

// BootstrapJSON is Bootstrap as indented JSON, which Envoy reads as a
// .json or .yaml file.
func BootstrapJSON(o BootstrapOptions) ([]byte, error) {
	b, err := Bootstrap(o)
	if err != nil {
		return nil, err
	}
	return indentedJSON(b)
}

// XDSClientCertSDS is the file-based SDS configuration Envoy reads at
// o.CertSDSFile: one secret, XDSClientCertSecretName, whose certificate
// chain and key are o.CertFile and o.KeyFile. Envoy watches the folders of
// those files (and CertSDSFile itself) for moves and reloads the pair when
// one happens, as its documentation's "certificate rotation for xDS gRPC
// connection" describes.
func XDSClientCertSDS(o BootstrapOptions) ([]byte, error) {
	if o.CertFile == "" || o.KeyFile == "" {
		return nil, errors.New("--xds-cert-sds needs --xds-cert and --xds-key")
	}
	secret := &tlsv3.Secret{Name: XDSClientCertSecretName, Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: clientCertificate(o)}}
	if err := secret.ValidateAll(); err != nil {
		return nil, fmt.Errorf("xds client certificate secret: %w", err)
	}
	res, err := anypb.New(secret)
	if err != nil {
		return nil, err
	}
	return indentedJSON(&discoveryv3.DiscoveryResponse{Resources: []*anypb.Any{res}})
}

func clientCertificate(o BootstrapOptions) *tlsv3.TlsCertificate {
	return &tlsv3.TlsCertificate{
		CertificateChain: &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: o.CertFile}},
		PrivateKey:       &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: o.KeyFile}},
	}
}

func indentedJSON(m proto.Message) ([]byte, error) {
	raw, err := protojson.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	// protojson varies its whitespace on purpose; encoding/json's indent
	// gives the same bytes every time, which diffs and reviews want.
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// xdsCluster is the static cluster of the management server.
func xdsCluster(o BootstrapOptions) (*clusterv3.Cluster, error) {
	addr, useTLS, caFile := cmp.Or(o.XDS, "127.0.0.1:7071"), o.TLS, cmp.Or(o.CAFile, DefaultCAFile)
	switch {
	case (o.CertFile == "") != (o.KeyFile == ""):
		return nil, errors.New("--xds-cert and --xds-key go together")
	case o.CertSDSFile != "" && o.CertFile == "":
		return nil, errors.New("--xds-cert-sds needs --xds-cert and --xds-key")
	case o.CertFile != "" && !useTLS && !strings.HasPrefix(addr, "unix://"):
		return nil, errors.New("--xds-cert needs --xds-tls: the certificate is presented in the TLS handshake")
	}
	if o.Token != "" {
		if len(o.Token) < MinTokenLength || strings.ContainsFunc(o.Token, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
			return nil, fmt.Errorf("--xds-token-file: want one token of at least %d printable ASCII characters without white space, as in the server's tokens file", MinTokenLength)
		}
	}
	if path, ok := strings.CutPrefix(addr, "unix://"); ok {
		if path == "" {
			return nil, fmt.Errorf("--xds %q: no socket path", addr)
		}
		if useTLS {
			return nil, fmt.Errorf("--xds %q: the unix socket is plaintext; drop --xds-tls", addr)
		}
		if o.CertFile != "" || o.Token != "" {
			return nil, fmt.Errorf("--xds %q: the unix socket authenticates nobody; --xds-cert and --xds-token-file are for a host:port server", addr)
		}
		return staticCluster(XDSClusterName, pipe(path), 5*time.Second), nil
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--xds %q: want host:port or unix:///path: %w", addr, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 || host == "" {
		return nil, fmt.Errorf("--xds %q: want host:port with a port in 1-65535", addr)
	}
	if o.Token != "" && !useTLS && !loopbackHost(host) {
		return nil, fmt.Errorf("--xds %q: a bearer token is sent over TLS (--xds-tls) or to a loopback address only", addr)
	}
	c := staticCluster(XDSClusterName, socket(host, uint32(port)), 5*time.Second)
	ip := net.ParseIP(host)
	if ip == nil {
		// A name: resolve it, one address at a time.
		c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_LOGICAL_DNS}
	}
	if useTLS {
		// Envoy checks a server certificate's names only when told to: a
		// trusted CA alone would accept any certificate it signed (with the
		// system bundle, any public certificate), and the token or the
		// configuration would go to whoever holds one. The server must be
		// the host dialed, as the SNI says.
		san := &tlsv3.SubjectAltNameMatcher{SanType: tlsv3.SubjectAltNameMatcher_DNS,
			Matcher: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: strings.ToLower(host)}}}
		if ip != nil {
			// Envoy compares an IP SAN in its canonical text form.
			san.SanType = tlsv3.SubjectAltNameMatcher_IP_ADDRESS
			san.Matcher.MatchPattern = &matcherv3.StringMatcher_Exact{Exact: ip.String()}
		}
		common := &tlsv3.CommonTlsContext{
			AlpnProtocols: []string{"h2"},
			ValidationContextType: &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
				TrustedCa:                 &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: caFile}},
				MatchTypedSubjectAltNames: []*tlsv3.SubjectAltNameMatcher{san},
			}},
		}
		switch {
		case o.CertSDSFile != "":
			common.TlsCertificateSdsSecretConfigs = []*tlsv3.SdsSecretConfig{{
				Name: XDSClientCertSecretName,
				SdsConfig: &corev3.ConfigSource{
					ConfigSourceSpecifier: &corev3.ConfigSource_PathConfigSource{PathConfigSource: &corev3.PathConfigSource{Path: o.CertSDSFile}},
					ResourceApiVersion:    corev3.ApiVersion_V3,
				},
			}}
		case o.CertFile != "":
			common.TlsCertificates = []*tlsv3.TlsCertificate{clientCertificate(o)}
		}
		sni := host
		if ip != nil {
			sni = "" // SNI carries host names only (RFC 6066)
		}
		tlsCtx, err := anypb.New(&tlsv3.UpstreamTlsContext{Sni: sni, CommonTlsContext: common})
		if err != nil {
			return nil, err
		}
		c.TransportSocket = &corev3.TransportSocket{Name: "envoy.transport_sockets.tls",
			ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: tlsCtx}}
	}
	return c, nil
}

// staticCluster is a one-endpoint HTTP/2 cluster (gRPC needs HTTP/2).
func staticCluster(name string, addr *corev3.Address, timeout time.Duration) *clusterv3.Cluster {
	h2, _ := anypb.New(&httpv3.HttpProtocolOptions{
		UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{
				Http2ProtocolOptions: &corev3.Http2ProtocolOptions{
					// Detect a dead control plane, as the App Mesh image does.
					ConnectionKeepalive: &corev3.KeepaliveSettings{Interval: durationpb.New(10 * time.Second), Timeout: durationpb.New(20 * time.Second)},
				},
			},
		}},
	})
	return &clusterv3.Cluster{
		Name:                 name,
		ConnectTimeout:       durationpb.New(timeout),
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		LoadAssignment: &endpointv3.ClusterLoadAssignment{
			ClusterName: name,
			Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: []*endpointv3.LbEndpoint{{
				HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{Address: addr}},
			}}}},
		},
		TypedExtensionProtocolOptions: map[string]*anypb.Any{"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": h2},
	}
}

func socket(host string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}
}

// loopbackHost is "localhost" or a loopback IP address.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func pipe(path string) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_Pipe{Pipe: &corev3.Pipe{Path: path}}}
}
