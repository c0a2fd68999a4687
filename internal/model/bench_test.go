package model

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/store"
	"github.com/meshgate/meshgate/internal/store/sqlite"
)

// BenchmarkLoad loads a gateway with n gateway routes (over one virtual
// service and node) from an SQLite store on disk: what the xDS server
// does for every gateway on every change. specs=kept reuses the decoded
// specs from one load to the next, as the server does.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		st, err := sqlite.Open(filepath.Join(b.TempDir(), "meshgate.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
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

// populate stores a mesh m, a virtual gateway gw with n gateway routes to
// virtual service svc.local, provided by virtual node node.
func populate(b testing.TB, st store.Store, n int) {
	now := time.Now()
	rec := func(kind store.Kind, parent, name, spec string, refs ...store.Key) store.Record {
		return store.Record{Key: store.Key{Kind: kind, Mesh: "m", Parent: parent, Name: name},
			UID: fmt.Sprintf("uid-%s-%s", kind, name), Version: 1, CreatedAt: now, LastUpdatedAt: now,
			MeshOwner: "111122223333", ResourceOwner: "111122223333", Spec: []byte(spec), Refs: refs}
	}
	svc := store.Key{Kind: store.KindVirtualService, Mesh: "m", Name: "svc.local"}
	node := store.Key{Kind: store.KindVirtualNode, Mesh: "m", Name: "node"}
	recs := []store.Record{
		rec(store.KindMesh, "", "m", `{}`),
		rec(store.KindVirtualGateway, "", "gw", `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}]}`),
		rec(store.KindVirtualNode, "", "node", `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":"node.local"}}}`),
		rec(store.KindVirtualService, "", "svc.local", `{"provider":{"virtualNode":{"virtualNodeName":"node"}}}`, node),
	}
	for i := range n {
		recs = append(recs, rec(store.KindGatewayRoute, "gw", fmt.Sprintf("r%05d", i),
			fmt.Sprintf(`{"httpRoute":{"action":{"target":{"virtualService":{"virtualServiceName":"svc.local"}}},"match":{"prefix":"/r%05d"}}}`, i), svc))
	}
	ctx := context.Background()
	if err := st.Write(ctx, func(tx store.Tx) error {
		for _, r := range recs {
			if err := tx.Create(ctx, r, nil); err != nil {
				return fmt.Errorf("%s %s: %w", r.Kind, r.Name, err)
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkLoadFleet loads 20 gateways of 50 gateway routes each, over 10
// virtual services and nodes they share, as the xDS server's full sync
// does (bench/xds-scale.sh's set-up): reader=shared in one transaction,
// reading what they share once; reader=each, a transaction a gateway.
func BenchmarkLoadFleet(b *testing.B) {
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "meshgate.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	now := time.Now()
	rec := func(kind store.Kind, parent, name, spec string, refs ...store.Key) store.Record {
		return store.Record{Key: store.Key{Kind: kind, Mesh: "m", Parent: parent, Name: name},
			UID: fmt.Sprintf("uid-%s-%s-%s", kind, parent, name), Version: 1, CreatedAt: now, LastUpdatedAt: now,
			MeshOwner: "111122223333", ResourceOwner: "111122223333", Spec: []byte(spec), Refs: refs}
	}
	recs := []store.Record{rec(store.KindMesh, "", "m", `{}`)}
	for s := range 10 {
		node := store.Key{Kind: store.KindVirtualNode, Mesh: "m", Name: fmt.Sprintf("node%d", s)}
		recs = append(recs,
			rec(store.KindVirtualNode, "", node.Name, `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":"node.local"}}}`),
			rec(store.KindVirtualService, "", fmt.Sprintf("svc%d.local", s), fmt.Sprintf(`{"provider":{"virtualNode":{"virtualNodeName":"%s"}}}`, node.Name), node))
	}
	for g := range 20 {
		gw := fmt.Sprintf("gw%02d", g)
		recs = append(recs, rec(store.KindVirtualGateway, "", gw, `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}]}`))
		for r := range 50 {
			svc := fmt.Sprintf("svc%d.local", r%10)
			recs = append(recs, rec(store.KindGatewayRoute, gw, fmt.Sprintf("r%03d", r),
				fmt.Sprintf(`{"httpRoute":{"action":{"target":{"virtualService":{"virtualServiceName":"%s"}}},"match":{"prefix":"/r%03d"}}}`, svc, r),
				store.Key{Kind: store.KindVirtualService, Mesh: "m", Name: svc}))
		}
	}
	ctx := context.Background()
	if err := st.Write(ctx, func(tx store.Tx) error {
		for _, r := range recs {
			if err := tx.Create(ctx, r, nil); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
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
