package envoy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/testutil/golden"
	"github.com/meshgate/meshgate/internal/translate/envoy"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const goldenDir = "testdata/golden"

// TestGolden translates every scenario's gateway to Envoy resources and
// compares them with testdata/golden/<scenario>.json.
func TestGolden(t *testing.T) {
	want := map[string]bool{}
	for _, s := range scenarios(t) {
		file := filepath.Join(goldenDir, s.Name+".json")
		want[file] = true
		t.Run(s.Name, func(t *testing.T) {
			res, err := envoy.Translate(s.IR, envoy.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := render(res)
			if err != nil {
				t.Fatal(err)
			}
			golden.Compare(t, file, got)
		})
	}
	golden.RemoveStale(t, filepath.Join(goldenDir, "*.json"), want)
}

// render writes the resources as indented JSON with protojson's field
// names, re-indented by encoding/json: protojson's own spacing varies on
// purpose from build to build.
func render(res *envoy.Resources) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("{")
	for i, kind := range []struct {
		name string
		rs   []types.Resource
	}{{"listeners", res.Listeners}, {"routes", res.Routes}, {"clusters", res.Clusters}, {"endpoints", res.Endpoints}, {"secrets", res.Secrets}} {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%q:[", kind.name)
		for j, r := range kind.rs {
			if j > 0 {
				b.WriteString(",")
			}
			j, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(r)
			if err != nil {
				return nil, err
			}
			b.Write(j)
		}
		b.WriteString("]")
	}
	b.WriteString("}")
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// TestResourcesValid checks every scenario's resources the way Envoy
// would: ValidateAll on each resource and each typed config inside it,
// and no dangling name.
func TestResourcesValid(t *testing.T) {
	for _, s := range scenarios(t) {
		t.Run(s.Name, func(t *testing.T) {
			for _, o := range []envoy.Options{{}, {EgressPort: 16001, SDSCluster: "sds"}} {
				res, err := envoy.Translate(s.IR, o)
				if err != nil {
					t.Fatal(err)
				}
				checkResources(t, s.IR, res, o)
			}
		})
	}
}

func checkResources(t *testing.T, g *ir.Gateway, res *envoy.Resources, o envoy.Options) {
	t.Helper()
	if err := envoy.Validate(res); err != nil {
		t.Fatal(err)
	}
	all := [][]types.Resource{res.Listeners, res.Routes, res.Clusters, res.Endpoints, res.Secrets}
	for _, rs := range all {
		for i, r := range rs {
			if err := envoy.ValidateDeep(r); err != nil {
				t.Errorf("%s: %v", envoy.ResourceName(r), err)
			}
			if i > 0 && envoy.ResourceName(rs[i-1]) >= envoy.ResourceName(r) {
				t.Errorf("resources not sorted by name: %s before %s", envoy.ResourceName(rs[i-1]), envoy.ResourceName(r))
			}
		}
	}
	if len(res.Endpoints) != 0 || len(res.Secrets) != 0 {
		t.Errorf("endpoints and secrets should be empty, got %d and %d", len(res.Endpoints), len(res.Secrets))
	}
	egressPort := o.EgressPort
	if egressPort == 0 {
		egressPort = envoy.DefaultEgressPort
	}

	routes := map[string]*route.RouteConfiguration{}
	for _, r := range res.Routes {
		routes[envoy.ResourceName(r)] = r.(*route.RouteConfiguration)
	}
	clusters := map[string]*cluster.Cluster{}
	for _, r := range res.Clusters {
		clusters[envoy.ResourceName(r)] = r.(*cluster.Cluster)
	}
	egress := 0
	ingress := map[uint32]bool{}
	for _, r := range res.Listeners {
		l := r.(*listener.Listener)
		sa := l.GetAddress().GetSocketAddress()
		switch sa.GetAddress() {
		case "127.0.0.1":
			egress++
			if sa.GetPortValue() != egressPort {
				t.Errorf("egress listener on port %d, want %d", sa.GetPortValue(), egressPort)
			}
		case "0.0.0.0":
			ingress[sa.GetPortValue()] = true
			if want := fmt.Sprintf("lds_ingress_0.0.0.0_port_%d", sa.GetPortValue()); l.GetName() != want {
				t.Errorf("listener %s, want %s", l.GetName(), want)
			}
		}
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				m := &hcm.HttpConnectionManager{}
				if err := f.GetTypedConfig().UnmarshalTo(m); err != nil {
					t.Fatalf("%s: %v", l.GetName(), err)
				}
				if routes[m.GetRds().GetRouteConfigName()] == nil {
					t.Errorf("%s: RDS %q has no route configuration", l.GetName(), m.GetRds().GetRouteConfigName())
				}
			}
		}
	}
	if egress != 1 {
		t.Errorf("%d egress listeners, want 1", egress)
	}
	for _, l := range g.Listeners {
		if !ingress[l.Port] {
			t.Errorf("no ingress listener for port %d", l.Port)
		}
	}
	for _, rc := range routes {
		for _, vh := range rc.GetVirtualHosts() {
			for _, rt := range vh.GetRoutes() {
				for _, c := range envoy.RouteClusters(rt) {
					if clusters[c] == nil {
						t.Errorf("%s/%s: route %q names cluster %q, which does not exist", rc.GetName(), vh.GetName(), rt.GetName(), c)
					}
				}
			}
		}
	}
	selfRedirects := 0
	for name, c := range clusters {
		if !strings.Contains(name, "_self_redirect_") {
			continue
		}
		selfRedirects++
		eps := c.GetLoadAssignment().GetEndpoints()
		if c.GetType() != cluster.Cluster_STATIC || len(eps) != 1 || len(eps[0].GetLbEndpoints()) != 1 {
			t.Errorf("self-redirect %s is not one static endpoint", name)
			continue
		}
		sa := eps[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
		if sa.GetAddress() != "127.0.0.1" || sa.GetPortValue() != egressPort {
			t.Errorf("self-redirect %s points at %s:%d, want the egress listener 127.0.0.1:%d", name, sa.GetAddress(), sa.GetPortValue(), egressPort)
		}
		if !strings.HasSuffix(name, fmt.Sprintf("_%d", egressPort)) {
			t.Errorf("self-redirect %s does not end in the egress port", name)
		}
	}
	if selfRedirects != len(g.Listeners) {
		t.Errorf("%d self-redirect clusters for %d listeners", selfRedirects, len(g.Listeners))
	}
	for _, c := range g.Clusters {
		if clusters[c.Name] == nil {
			t.Errorf("IR cluster %s has no Envoy cluster", c.Name)
		}
	}
}

// TestDeterministic: the same IR (also after a JSON round trip, so no
// pointer is shared) gives byte-identical resources.
func TestDeterministic(t *testing.T) {
	for _, s := range scenarios(t) {
		a, err := envoy.Translate(s.IR, envoy.Options{})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(s.IR)
		if err != nil {
			t.Fatal(err)
		}
		var copyIR ir.Gateway
		if err := json.Unmarshal(raw, &copyIR); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			b, err := envoy.Translate(&copyIR, envoy.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(marshalAll(t, a), marshalAll(t, b)) {
				t.Fatalf("%s: two translations differ", s.Name)
			}
		}
	}
}

func marshalAll(t *testing.T, res *envoy.Resources) []byte {
	t.Helper()
	var out []byte
	for _, rs := range [][]types.Resource{res.Listeners, res.Routes, res.Clusters, res.Endpoints, res.Secrets} {
		for _, r := range rs {
			b, err := proto.MarshalOptions{Deterministic: true}.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b...)
		}
	}
	return out
}
