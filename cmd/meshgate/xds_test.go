package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/meshgate/meshgate/internal/translate/envoy"
	"github.com/meshgate/meshgate/internal/xds"
)

// The Envoy translation points SDS at the cluster the bootstrap defines.
func TestSDSClusterNamesAgree(t *testing.T) {
	if envoy.DefaultSDSCluster != xds.SDSClusterName {
		t.Errorf("translate/envoy uses %q, the bootstrap defines %q", envoy.DefaultSDSCluster, xds.SDSClusterName)
	}
}

func TestEnvoyBootstrapCommand(t *testing.T) {
	for _, args := range [][]string{
		{"--resource", "mesh/m/virtualGateway/gw"},
		{"--resource", "arn:aws:appmesh:us-east-1:000000000000:mesh/m/virtualGateway/gw", "--xds", "unix:///run/meshgate/xds.sock",
			"--sds-socket", "/run/spire.sock", "--cluster", "edge", "--admin-port", "19000"},
		{"--resource", "mesh/m/virtualGateway/gw", "--xds", "xds.internal:7071", "--xds-tls", "--xds-ca", "/etc/meshgate/ca.pem"},
	} {
		var out bytes.Buffer
		if err := runEnvoyBootstrap(args, &out); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		b := &bootstrapv3.Bootstrap{}
		if err := protojson.Unmarshal(out.Bytes(), b); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if err := b.ValidateAll(); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
	t.Setenv("APPMESH_RESOURCE_ARN", "mesh/m/virtualGateway/from-env")
	t.Setenv("APPMESH_XDS_ENDPOINT", "unix:///tmp/x.sock")
	var out bytes.Buffer
	if err := runEnvoyBootstrap(nil, &out); err != nil || !strings.Contains(out.String(), "from-env") || !strings.Contains(out.String(), "/tmp/x.sock") {
		t.Errorf("from the App Mesh image's environment: %v\n%s", err, out.String())
	}
	t.Setenv("APPMESH_RESOURCE_ARN", "")
	if err := runEnvoyBootstrap(nil, &out); err == nil {
		t.Error("no resource: accepted")
	}
	if err := runEnvoyBootstrap([]string{"--resource", "mesh/m/virtualGateway/g", "--admin-port", "70000"}, &out); err == nil {
		t.Error("admin port 70000: accepted")
	}
}

func TestServerXDSFlags(t *testing.T) {
	for _, tc := range []struct {
		cmd    string
		args   []string
		socket string
	}{
		{"server", nil, ""},
		{"up", nil, "meshgate-data/xds.sock"},
		{"up", []string{"--xds-socket", ""}, ""},
	} {
		f, err := parseServerFlags(tc.cmd, tc.args)
		if err != nil {
			t.Fatal(err)
		}
		if f.xdsSocket != tc.socket || f.xdsListen != "127.0.0.1:7071" || f.adminListen != "127.0.0.1:7072" || f.xdsMaxProxies != 50 {
			t.Errorf("%s %v: %+v", tc.cmd, tc.args, f)
		}
	}
	if _, err := parseServerFlags("server", []string{"--xds-tls-cert", "x.pem"}); err == nil {
		t.Error("a certificate without a key: accepted")
	}
	if _, err := parseServerFlags("server", []string{"--xds-max-proxies", "-1"}); err == nil {
		t.Error("negative proxy limit: accepted")
	}
	t.Setenv("MESHGATE_XDS_MAX_PROXIES", "many")
	if _, err := parseServerFlags("server", nil); err == nil {
		t.Error("MESHGATE_XDS_MAX_PROXIES=many: accepted")
	}
}

func TestInspectCommand(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.String())
		if r.URL.Query().Get("resource") == "mesh/m/virtualGateway/nope" {
			http.Error(w, "virtual gateway mesh/m/virtualGateway/nope is not known", http.StatusNotFound)
			return
		}
		w.Write([]byte(`{"proxies":[]}`))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	var out bytes.Buffer
	if err := runInspect([]string{"--admin", addr}, &out); err != nil || out.String() != `{"proxies":[]}` {
		t.Errorf("inspect: %v %q", err, out.String())
	}
	if err := runInspect([]string{"--admin", srv.URL, "--resource", "mesh/m/virtualGateway/gw", "--format", "envoy"}, &out); err != nil {
		t.Error(err)
	}
	err := runInspect([]string{"--admin", addr, "--resource", "mesh/m/virtualGateway/nope"}, &out)
	if err == nil || !strings.Contains(err.Error(), "is not known") {
		t.Errorf("unknown gateway: %v", err)
	}
	want := []string{"/debug/xds", "/debug/xds/config?format=envoy&resource=mesh%2Fm%2FvirtualGateway%2Fgw",
		"/debug/xds/config?format=ir&resource=mesh%2Fm%2FvirtualGateway%2Fnope"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("requests: %v, want %v", paths, want)
	}
}
