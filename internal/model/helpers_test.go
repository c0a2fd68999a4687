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

// openStore opens an SQLite store on disk for the test.
func openStore(tb testing.TB) store.Store {
	tb.Helper()
	st, err := sqlite.Open(filepath.Join(tb.TempDir(), "meshgate.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// record is a resource of mesh m at version 1, its UID made of its key.
func record(kind store.Kind, parent, name, spec string, refs ...store.Key) store.Record {
	now := time.Now()
	return store.Record{Key: store.Key{Kind: kind, Mesh: "m", Parent: parent, Name: name},
		UID: fmt.Sprintf("uid-%s-%s-%s", kind, parent, name), Version: 1, CreatedAt: now, LastUpdatedAt: now,
		MeshOwner: "111122223333", ResourceOwner: "111122223333", Spec: []byte(spec), Refs: refs}
}

// gatewayRoute is a gateway route of gw matching prefix /name, to svc.
func gatewayRoute(gw, name, svc string) store.Record {
	return record(store.KindGatewayRoute, gw, name,
		fmt.Sprintf(`{"httpRoute":{"action":{"target":{"virtualService":{"virtualServiceName":%q}}},"match":{"prefix":"/%s"}}}`, svc, name),
		store.Key{Kind: store.KindVirtualService, Mesh: "m", Name: svc})
}

const (
	gatewaySpec = `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}]}`
	nodeSpec    = `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":"node.local"}}}`
)

// create writes recs in one transaction.
func create(tb testing.TB, st store.Store, recs ...store.Record) {
	tb.Helper()
	ctx := context.Background()
	if err := st.Write(ctx, func(tx store.Tx) error {
		for _, r := range recs {
			if err := tx.Create(ctx, r, nil); err != nil {
				return fmt.Errorf("%s %s: %w", r.Kind, r.Name, err)
			}
		}
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
}

// populate stores a mesh m, a virtual gateway gw with n gateway routes
// (r00000...) to virtual service svc.local, provided by virtual node node.
func populate(tb testing.TB, st store.Store, n int) {
	node := store.Key{Kind: store.KindVirtualNode, Mesh: "m", Name: "node"}
	recs := []store.Record{
		record(store.KindMesh, "", "m", `{}`),
		record(store.KindVirtualGateway, "", "gw", gatewaySpec),
		record(store.KindVirtualNode, "", "node", nodeSpec),
		record(store.KindVirtualService, "", "svc.local", `{"provider":{"virtualNode":{"virtualNodeName":"node"}}}`, node),
	}
	for i := range n {
		recs = append(recs, gatewayRoute("gw", fmt.Sprintf("r%05d", i), "svc.local"))
	}
	create(tb, st, recs...)
}
