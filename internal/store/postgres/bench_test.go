package postgres

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/store"
)

// The same workload as the SQLite back end's benchmarks, so the two can be
// compared; these need MESHGATE_TEST_POSTGRES and skip without it.

// benchSpec is about the size of a virtual node spec with one listener,
// a backend and service discovery.
var benchSpec = []byte(`{"backends":[{"virtualService":{"virtualServiceName":"svc.mesh.local"}}],` +
	`"listeners":[{"portMapping":{"port":8080,"protocol":"http"},"healthCheck":{"healthyThreshold":2,` +
	`"intervalMillis":5000,"path":"/ping","protocol":"http","timeoutMillis":2000,"unhealthyThreshold":2}}],` +
	`"serviceDiscovery":{"dns":{"hostname":"node.mesh.local"}}}`)

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

var benchTags = []store.Tag{{Key: "team", Value: "payments"}}

func benchCreate(ctx context.Context, s *Store, i int64) error {
	r := benchRecord(i)
	return s.Write(ctx, func(tx store.Tx) error { return tx.Create(ctx, r, benchTags) })
}

func BenchmarkCreate(b *testing.B) {
	s := openFresh(b)
	ctx := b.Context()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := benchCreate(ctx, s, int64(i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateParallel: concurrent creates all bump the one revision
// row, so they serialize in PostgreSQL; retries/op shows what that costs.
func BenchmarkCreateParallel(b *testing.B) {
	s := openFresh(b)
	ctx := b.Context()
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := benchCreate(ctx, s, next.Add(1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(s.retries.Load())/float64(b.N), "retries/op")
}

// benchPopulate creates n records in one transaction.
func benchPopulate(b *testing.B, s *Store, n int64) {
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

const benchRecords = 1000

func benchGet(ctx context.Context, s *Store, i int64) error {
	k := benchRecord(i % benchRecords).Key
	return s.Read(ctx, func(tx store.Tx) error {
		_, err := tx.Get(ctx, k)
		return err
	})
}

func BenchmarkGet(b *testing.B) {
	s := openFresh(b)
	benchPopulate(b, s, benchRecords)
	ctx := b.Context()
	b.ReportAllocs()
	for i := int64(0); b.Loop(); i++ {
		if err := benchGet(ctx, s, i*7919); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetParallel(b *testing.B) {
	s := openFresh(b)
	benchPopulate(b, s, benchRecords)
	ctx := b.Context()
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := benchGet(ctx, s, next.Add(7919)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
