package envoy_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/meshgate/meshgate/internal/translate/envoy"
)

// TestEvaluateScenarios routes every case of every scenario through the
// generated Envoy resources and checks the outcome against the scenario's
// table: the node and port reached (through the IR's clusters), the path
// and Host the upstream sees, or Envoy's own status.
func TestEvaluateScenarios(t *testing.T) {
	cases := 0
	for _, s := range scenarios(t) {
		res, err := envoy.Translate(s.IR, envoy.Options{})
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		type nodePort struct {
			node string
			port uint32
		}
		byCluster := map[string]nodePort{}
		for _, c := range s.IR.Clusters {
			byCluster[c.Name] = nodePort{c.Node, c.Port}
		}
		for _, c := range s.Cases {
			cases++
			t.Run(s.Name+"/"+c.Name, func(t *testing.T) {
				got, err := envoy.Evaluate(res, envoy.Request(c.Request))
				if err != nil {
					t.Fatal(err)
				}
				trace := "\n  " + strings.Join(got.Trace, "\n  ")
				want := c.Expect
				if got.Status != want.Status {
					t.Fatalf("status %d, want %d%s", got.Status, want.Status, trace)
				}
				if got.GRPCStatus != want.GRPCStatus {
					t.Errorf("grpc-status %d, want %d%s", got.GRPCStatus, want.GRPCStatus, trace)
				}
				if want.Status != 200 {
					return
				}
				chosen, ok := byCluster[got.Cluster]
				if !ok || !slices.Contains(want.Nodes, chosen.node) || chosen.port != want.NodePort {
					t.Errorf("cluster %s (%s:%d), want one of %v on port %d%s", got.Cluster, chosen.node, chosen.port, want.Nodes, want.NodePort, trace)
				}
				var nodes []string
				for _, tg := range got.Targets {
					np, ok := byCluster[tg.Cluster]
					if !ok || np.port != want.NodePort {
						t.Errorf("target %s is not a node cluster on port %d", tg.Cluster, want.NodePort)
					}
					if !slices.Contains(nodes, np.node) {
						nodes = append(nodes, np.node)
					}
				}
				slices.Sort(nodes)
				wantNodes := slices.Clone(want.Nodes)
				slices.Sort(wantNodes)
				if !slices.Equal(nodes, wantNodes) {
					t.Errorf("weighted targets reach %v, want %v%s", nodes, wantNodes, trace)
				}
				if got.Path != want.Path {
					t.Errorf("upstream path %q, want %q%s", got.Path, want.Path, trace)
				}
				if got.Host != want.Host {
					t.Errorf("upstream Host %q, want %q%s", got.Host, want.Host, trace)
				}
				for h := range got.Headers {
					if strings.HasPrefix(h, "x-meshgate-") {
						t.Errorf("internal header %s reaches the upstream", h)
					}
				}
			})
		}
	}
	if cases == 0 {
		t.Fatal("no scenario cases")
	}
	t.Logf("%d cases evaluated", cases)
}
