package model

import (
	"context"
	"fmt"
	"testing"

	"github.com/meshgate/meshgate/internal/store"
)

// BenchmarkLoad loads a gateway with n gateway routes (over one virtual
// service and node) from an SQLite store on disk: what the xDS server
// does for every gateway on every change. specs=kept reuses the decoded
// specs from one load to the next, as the server does.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		st := openStore(b)
		populate(b, st, n)
		for _, keep := range []bool{false, true} {
			b.Run(fmt.Sprintf("routes=%d/specs=%s", n, map[bool]string{false: "none", true: "kept"}[keep]), func(b *testing.B) {
				var specs *Specs
				if keep {
					specs = NewSpecs()
				}
				k := GatewayKey{Mesh: "m", Name: "gw"}
				b.ReportAllocs()
				for b.Loop() {
					g, err := Load(b.Context(), st, k, specs)
					if err != nil || len(g.GatewayRoutes) != n || len(g.Nodes) != 1 {
						b.Fatalf("loaded %v, %d gateway routes, %d nodes", err, len(g.GatewayRoutes), len(g.Nodes))
					}
					if specs != nil {
						specs.Sweep()
					}
				}
			})
		}
	}
}

// BenchmarkLoadFleet loads 20 gateways of 50 gateway routes each, over 10
// virtual services and nodes they share, as the xDS server's full sync
// does (bench/xds-scale.sh's set-up): reader=shared in one transaction,
// reading what they share once; reader=each, a transaction a gateway.
func BenchmarkLoadFleet(b *testing.B) {
	st := openStore(b)
	recs := []store.Record{record(store.KindMesh, "", "m", `{}`)}
	for s := range 10 {
		node := store.Key{Kind: store.KindVirtualNode, Mesh: "m", Name: fmt.Sprintf("node%d", s)}
		recs = append(recs, record(store.KindVirtualNode, "", node.Name, nodeSpec),
			record(store.KindVirtualService, "", fmt.Sprintf("svc%d.local", s), fmt.Sprintf(`{"provider":{"virtualNode":{"virtualNodeName":"%s"}}}`, node.Name), node))
	}
	for g := range 20 {
		gw := fmt.Sprintf("gw%02d", g)
		recs = append(recs, record(store.KindVirtualGateway, "", gw, gatewaySpec))
		for r := range 50 {
			recs = append(recs, gatewayRoute(gw, fmt.Sprintf("r%03d", r), fmt.Sprintf("svc%d.local", r%10)))
		}
	}
	create(b, st, recs...)
	ctx := context.Background()
	check := func(g *Gateway, err error) {
		if err != nil || len(g.GatewayRoutes) != 50 || len(g.Services) != 10 {
			b.Fatalf("loaded %v", err)
		}
	}
	b.Run("reader=shared", func(b *testing.B) {
		specs := NewSpecs()
		b.ReportAllocs()
		for b.Loop() {
			if err := Read(ctx, st, specs, func(r *Reader) error {
				keys, err := r.Gateways()
				for _, k := range keys {
					check(r.Load(k))
				}
				return err
			}); err != nil {
				b.Fatal(err)
			}
			specs.Sweep()
		}
	})
	b.Run("reader=each", func(b *testing.B) {
		specs := NewSpecs()
		b.ReportAllocs()
		for b.Loop() {
			keys, err := ListGateways(ctx, st)
			if err != nil {
				b.Fatal(err)
			}
			for _, k := range keys {
				check(Load(ctx, st, k, specs))
			}
			specs.Sweep()
		}
	})
}
