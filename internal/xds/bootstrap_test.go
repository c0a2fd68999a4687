package xds

import (
	"cmp"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/encoding/protojson"
)

// The printed bootstrap parses back and passes Envoy's validation, for
// TCP, TLS and unix socket endpoints.
func TestBootstrap(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    BootstrapOptions
		// what the xds_cluster's endpoint must be
		pipe string
		host string
		port uint32
		typ  clusterv3.Cluster_DiscoveryType
	}{
		{"tcp", BootstrapOptions{Resource: "mesh/m/virtualGateway/gw", XDS: "127.0.0.1:7071"}, "", "127.0.0.1", 7071, clusterv3.Cluster_STATIC},
		{"tls hostname", BootstrapOptions{Resource: arnPrefix + "mesh/m/virtualGateway/gw", XDS: "xds.example.com:443", TLS: true,
			Cluster: "ingress", AdminPort: 19901}, "", "xds.example.com", 443, clusterv3.Cluster_LOGICAL_DNS},
		{"unix with sds", BootstrapOptions{Resource: "mesh/m/virtualGateway/gw", XDS: "unix:///run/meshgate/xds.sock",
			SDSSocket: "/run/spire/agent.sock"}, "/run/meshgate/xds.sock", "", 0, clusterv3.Cluster_STATIC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := BootstrapJSON(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			b := &bootstrapv3.Bootstrap{}
			if err := protojson.Unmarshal(out, b); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if err := b.ValidateAll(); err != nil {
				t.Fatal(err)
			}
			if b.GetNode().GetId() != tc.o.Resource || b.GetNode().GetCluster() != cmp.Or(tc.o.Cluster, tc.o.Resource) {
				t.Errorf("node %v", b.GetNode())
			}
			if got := b.GetAdmin().GetAddress().GetSocketAddress(); got.GetAddress() != "127.0.0.1" || got.GetPortValue() != cmp.Or(tc.o.AdminPort, 9901) {
				t.Errorf("admin %v", got)
			}
			ads := b.GetDynamicResources().GetAdsConfig()
			if ads.GetGrpcServices()[0].GetEnvoyGrpc().GetClusterName() != XDSClusterName || b.GetDynamicResources().GetLdsConfig().GetAds() == nil ||
				b.GetDynamicResources().GetCdsConfig().GetAds() == nil {
				t.Errorf("dynamic resources %v", b.GetDynamicResources())
			}
			clusters := map[string]*clusterv3.Cluster{}
			for _, c := range b.GetStaticResources().GetClusters() {
				clusters[c.GetName()] = c
			}
			x := clusters[XDSClusterName]
			addr := x.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress()
			if addr.GetPipe().GetPath() != tc.pipe || addr.GetSocketAddress().GetAddress() != tc.host ||
				addr.GetSocketAddress().GetPortValue() != tc.port || x.GetType() != tc.typ {
				t.Errorf("xds cluster %v", x)
			}
			if x.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"] == nil {
				t.Error("the xds cluster does not use HTTP/2")
			}
			if tc.o.TLS {
				tlsCtx := &tlsv3.UpstreamTlsContext{}
				if err := x.GetTransportSocket().GetTypedConfig().UnmarshalTo(tlsCtx); err != nil || tlsCtx.GetSni() != tc.host ||
					tlsCtx.GetCommonTlsContext().GetValidationContext().GetTrustedCa().GetFilename() != DefaultCAFile {
					t.Errorf("tls %v %v", tlsCtx, err)
				}
			} else if x.GetTransportSocket() != nil {
				t.Error("plaintext endpoint with a transport socket")
			}
			sds := clusters[SDSClusterName]
			if (sds != nil) != (tc.o.SDSSocket != "") {
				t.Errorf("sds cluster %v", sds)
			}
			if sds != nil && sds.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetPipe().GetPath() != tc.o.SDSSocket {
				t.Errorf("sds cluster %v", sds)
			}
		})
	}
}

func TestBootstrapErrors(t *testing.T) {
	for _, tc := range []struct {
		o    BootstrapOptions
		want string
	}{
		{BootstrapOptions{Resource: "mesh/m/virtualNode/n"}, "virtual gateway ARN"},
		{BootstrapOptions{Resource: ""}, "virtual gateway ARN"},
		{BootstrapOptions{Resource: "mesh/m/virtualGateway/g", XDS: "no-port"}, "host:port"},
		{BootstrapOptions{Resource: "mesh/m/virtualGateway/g", XDS: "h:0"}, "port in 1-65535"},
		{BootstrapOptions{Resource: "mesh/m/virtualGateway/g", XDS: "unix://"}, "no socket path"},
		{BootstrapOptions{Resource: "mesh/m/virtualGateway/g", XDS: "unix:///x.sock", TLS: true}, "plaintext"},
	} {
		if _, err := BootstrapJSON(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.want)
		}
	}
}

// TestBootstrapRegexRuntime: routes with regular expressions as large as
// the API accepts must not be NACKed by Envoy's default RE2 limit.
func TestBootstrapRegexRuntime(t *testing.T) {
	b, err := Bootstrap(BootstrapOptions{Resource: "mesh/m/virtualGateway/g", XDS: "127.0.0.1:7071"})
	if err != nil {
		t.Fatal(err)
	}
	layers := b.GetLayeredRuntime().GetLayers()
	if len(layers) == 0 {
		t.Fatal("no runtime layers")
	}
	v := layers[0].GetStaticLayer().GetFields()["re2.max_program_size.error_level"]
	if v.GetNumberValue() != 1000 {
		t.Errorf("re2.max_program_size.error_level = %v, want 1000", v)
	}
}
