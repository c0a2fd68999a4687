package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/store"
)

// Bench runs the store benchmarks every back end shares, so their numbers
// compare: Create and Get, sequential and parallel, on a record about the
// size of a virtual node. after, when not nil, runs at the end of each
// benchmark (a back end reports its own metrics there).
func Bench(b *testing.B, open func(b *testing.B) store.Store, after func(b *testing.B, s store.Store)) {
	run := func(name string, populate bool, body func(b *testing.B, s store.Store)) {
		b.Run(name, func(b *testing.B) {
			s := open(b)
			if populate {
				benchPopulate(b, s, benchRecords)
			}
			b.ReportAllocs()
			b.ResetTimer()
			body(b, s)
			if after != nil {
				after(b, s)
			}
		})
	}
	run("Create", false, func(b *testing.B, s store.Store) {
		for i := 0; b.Loop(); i++ {
			if err := benchCreate(b.Context(), s, int64(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	run("CreateParallel", false, func(b *testing.B, s store.Store) {
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := benchCreate(b.Context(), s, next.Add(1)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	run("Get", true, func(b *testing.B, s store.Store) {
		for i := int64(0); b.Loop(); i++ {
			if err := benchGet(b.Context(), s, i*7919); err != nil {
				b.Fatal(err)
			}
		}
	})
	run("GetParallel", true, func(b *testing.B, s store.Store) {
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := benchGet(b.Context(), s, next.Add(7919)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// benchSpec is about the size of a virtual node spec with one listener,
// a backend and service discovery.
var benchSpec = []byte(`{"backends":[{"virtualService":{"virtualServiceName":"svc.mesh.local"}}],` +
	`"listeners":[{"portMapping":{"port":8080,"protocol":"http"},"healthCheck":{"healthyThreshold":2,` +
	`"intervalMillis":5000,"path":"/ping","protocol":"http","timeoutMillis":2000,"unhealthyThreshold":2}}],` +
	`"serviceDiscovery":{"dns":{"hostname":"node.mesh.local"}}}`)

var benchTags = []store.Tag{{Key: "team", Value: "payments"}}

const benchRecords = 1000

func benchRecord(i int64) store.Record {
	now := time.Now()
	name := fmt.Sprintf("node-%08d", i)
	return store.Record{
		Key:     store.Key{Kind: store.KindVirtualNode, Mesh: "bench", Name: name},
		UID:     "uid-" + name,
		Version: 1, CreatedAt: now, LastUpdatedAt: now,
		MeshOwner: "111122223333", ResourceOwner: "111122223333",
		Spec: benchSpec,
		Refs: []store.Key{{Kind: store.KindVirtualService, Mesh: "bench", Name: "svc.mesh.local"}},
	}
}

func benchCreate(ctx context.Context, s store.Store, i int64) error {
	r := benchRecord(i)
	return s.Write(ctx, func(tx store.Tx) error { return tx.Create(ctx, r, benchTags) })
}

// benchPopulate creates n records in one transaction.
func benchPopulate(b *testing.B, s store.Store, n int64) {
	ctx := b.Context()
	if err := s.Write(ctx, func(tx store.Tx) error {
		for i := range n {
			if err := tx.Create(ctx, benchRecord(i), benchTags); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
}

func benchGet(ctx context.Context, s store.Store, i int64) error {
	k := benchRecord(i % benchRecords).Key
	return s.Read(ctx, func(tx store.Tx) error {
		_, err := tx.Get(ctx, k)
		return err
	})
}
