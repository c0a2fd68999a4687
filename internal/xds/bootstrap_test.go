package xds

import (
	"cmp"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/meshgate/meshgate/internal/testutil/golden"
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

// Client credentials for the xDS server: a client certificate (static
// files, or file-based SDS that Envoy watches), a bearer token as the ADS
// service's initial metadata; and the server's certificate checked
// against the host dialed. Every variant passes Envoy's validation and
// matches its golden file in testdata/bootstrap.
func TestBootstrapClientCredentials(t *testing.T) {
	const (
		certFile = "/etc/envoy/xds/tls.crt"
		keyFile  = "/etc/envoy/xds/tls.key"
		sdsFile  = "/etc/envoy/xds-client-cert.json"
		token    = "token-of-gateway-gw-0123456789"
	)
	tlsTo := func(addr string) BootstrapOptions {
		return BootstrapOptions{Resource: "mesh/m/virtualGateway/gw", XDS: addr, TLS: true, CAFile: "/etc/meshgate/ca.pem"}
	}
	with := func(o BootstrapOptions, edit func(*BootstrapOptions)) BootstrapOptions { edit(&o); return o }
	goldenFile := func(name string) string { return filepath.Join("testdata", "bootstrap", name+".json") }
	keep := map[string]bool{}
	for _, tc := range []struct {
		name     string
		o        BootstrapOptions
		san      string // the SAN the server's certificate must carry
		ip       bool   // as an IP address SAN (no SNI)
		static   bool   // a client certificate in tls_certificates
		sds      bool   // a client certificate through file-based SDS
		metadata string // the authorization metadata
	}{
		{name: "default"},
		{name: "tls", o: tlsTo("XDS.example.com:7071"), san: "xds.example.com"},
		{name: "tls-ip", o: tlsTo("10.0.0.5:7071"), san: "10.0.0.5", ip: true},
		{name: "tls-ipv6", o: tlsTo("[::1]:7071"), san: "::1", ip: true},
		{name: "mtls", o: with(tlsTo("xds.example.com:7071"), func(o *BootstrapOptions) { o.CertFile, o.KeyFile = certFile, keyFile }),
			san: "xds.example.com", static: true},
		{name: "mtls-sds", o: with(tlsTo("xds.example.com:7071"), func(o *BootstrapOptions) {
			o.CertFile, o.KeyFile, o.CertSDSFile = certFile, keyFile, sdsFile
		}), san: "xds.example.com", sds: true},
		{name: "token", o: with(tlsTo("xds.example.com:7071"), func(o *BootstrapOptions) { o.Token = token }),
			san: "xds.example.com", metadata: "Bearer " + token},
		{name: "token-loopback", o: BootstrapOptions{XDS: "127.0.0.1:7071", Token: token}, metadata: "Bearer " + token},
		{name: "mtls-and-token", o: with(tlsTo("xds.example.com:7071"), func(o *BootstrapOptions) {
			o.CertFile, o.KeyFile, o.Token = certFile, keyFile, token
		}), san: "xds.example.com", static: true, metadata: "Bearer " + token},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Resource = cmp.Or(tc.o.Resource, "mesh/m/virtualGateway/gw")
			out, err := BootstrapJSON(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			keep[goldenFile(tc.name)] = true
			golden.Compare(t, goldenFile(tc.name), out)
			b := &bootstrapv3.Bootstrap{}
			if err := protojson.Unmarshal(out, b); err != nil {
				t.Fatal(err)
			}
			if err := b.ValidateAll(); err != nil {
				t.Fatal(err)
			}
			svc := b.GetDynamicResources().GetAdsConfig().GetGrpcServices()[0]
			var md []string
			for _, h := range svc.GetInitialMetadata() {
				md = append(md, h.GetKey()+": "+h.GetValue())
			}
			if want := []string{"authorization: " + tc.metadata}; tc.metadata == "" && len(md) != 0 || tc.metadata != "" && !slices.Equal(md, want) {
				t.Errorf("initial metadata %q, want %q", md, tc.metadata)
			}
			var x *clusterv3.Cluster
			for _, c := range b.GetStaticResources().GetClusters() {
				if c.GetName() == XDSClusterName {
					x = c
				}
			}
			if !tc.o.TLS {
				if x.GetTransportSocket() != nil {
					t.Error("a transport socket without TLS")
				}
				return
			}
			tlsCtx := &tlsv3.UpstreamTlsContext{}
			if err := x.GetTransportSocket().GetTypedConfig().UnmarshalTo(tlsCtx); err != nil {
				t.Fatal(err)
			}
			if err := tlsCtx.ValidateAll(); err != nil {
				t.Fatal(err)
			}
			common := tlsCtx.GetCommonTlsContext()
			vc := common.GetValidationContext()
			sans := vc.GetMatchTypedSubjectAltNames()
			wantType := tlsv3.SubjectAltNameMatcher_DNS
			if tc.ip {
				wantType = tlsv3.SubjectAltNameMatcher_IP_ADDRESS
			}
			if vc.GetTrustedCa().GetFilename() != "/etc/meshgate/ca.pem" || len(sans) != 1 || sans[0].GetSanType() != wantType ||
				sans[0].GetMatcher().GetExact() != tc.san {
				t.Errorf("validation context %v, want the CA and the SAN %s %q", vc, wantType, tc.san)
			}
			if (tlsCtx.GetSni() == "") != tc.ip || (!tc.ip && tlsCtx.GetSni() != strings.Split(tc.o.XDS, ":")[0]) {
				t.Errorf("SNI %q", tlsCtx.GetSni())
			}
			certs := common.GetTlsCertificates()
			if tc.static != (len(certs) == 1) || tc.static && (certs[0].GetCertificateChain().GetFilename() != certFile ||
				certs[0].GetPrivateKey().GetFilename() != keyFile) {
				t.Errorf("tls_certificates %v", certs)
			}
			sdsConfigs := common.GetTlsCertificateSdsSecretConfigs()
			if tc.sds != (len(sdsConfigs) == 1) {
				t.Fatalf("tls_certificate_sds_secret_configs %v", sdsConfigs)
			}
			if !tc.sds {
				return
			}
			if sdsConfigs[0].GetName() != XDSClientCertSecretName || sdsConfigs[0].GetSdsConfig().GetPathConfigSource().GetPath() != sdsFile {
				t.Errorf("SDS secret config %v", sdsConfigs[0])
			}
			secretFile, err := XDSClientCertSDS(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			keep[goldenFile(tc.name+".secret")] = true
			golden.Compare(t, goldenFile(tc.name+".secret"), secretFile)
			resp := &discoveryv3.DiscoveryResponse{}
			if err := protojson.Unmarshal(secretFile, resp); err != nil {
				t.Fatal(err)
			}
			secret := &tlsv3.Secret{}
			if len(resp.GetResources()) != 1 || resp.GetResources()[0].UnmarshalTo(secret) != nil || secret.ValidateAll() != nil ||
				secret.GetName() != XDSClientCertSecretName || secret.GetTlsCertificate().GetCertificateChain().GetFilename() != certFile ||
				secret.GetTlsCertificate().GetPrivateKey().GetFilename() != keyFile {
				t.Errorf("SDS file %s", secretFile)
			}
		})
	}
	golden.RemoveStale(t, goldenFile("*"), keep)
}

func TestBootstrapClientCredentialErrors(t *testing.T) {
	const token = "token-of-gateway-gw-0123456789"
	gw := "mesh/m/virtualGateway/g"
	for _, tc := range []struct {
		o    BootstrapOptions
		want string
	}{
		{BootstrapOptions{Resource: gw, XDS: "x:1", TLS: true, CertFile: "c.pem"}, "go together"},
		{BootstrapOptions{Resource: gw, XDS: "x:1", TLS: true, KeyFile: "k.pem"}, "go together"},
		{BootstrapOptions{Resource: gw, XDS: "x:1", CertFile: "c.pem", KeyFile: "k.pem"}, "needs --xds-tls"},
		{BootstrapOptions{Resource: gw, XDS: "x:1", TLS: true, CertSDSFile: "s.json"}, "needs --xds-cert"},
		{BootstrapOptions{Resource: gw, XDS: "unix:///x.sock", CertFile: "c.pem", KeyFile: "k.pem"}, "authenticates nobody"},
		{BootstrapOptions{Resource: gw, XDS: "unix:///x.sock", Token: token}, "authenticates nobody"},
		{BootstrapOptions{Resource: gw, XDS: "xds.example.com:7071", Token: token}, "over TLS"},
		{BootstrapOptions{Resource: gw, XDS: "10.0.0.1:7071", Token: token}, "over TLS"},
		{BootstrapOptions{Resource: gw, XDS: "x:1", TLS: true, Token: "short"}, "at least 16"},
		{BootstrapOptions{Resource: gw, XDS: "x:1", TLS: true, Token: "a token with spaces in it"}, "without white space"},
		{BootstrapOptions{Resource: gw, XDS: "x:1", TLS: true, Token: "a-token-with-a-newline\nx"}, "without white space"},
	} {
		_, err := BootstrapJSON(tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.want)
		}
		if err != nil && tc.o.Token != "" && strings.Contains(err.Error(), tc.o.Token) {
			t.Errorf("the error shows the token: %v", err)
		}
	}
	if _, err := XDSClientCertSDS(BootstrapOptions{}); err == nil {
		t.Error("an SDS file without a certificate")
	}
}
