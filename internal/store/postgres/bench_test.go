package postgres

import (
	"testing"

	"github.com/meshgate/meshgate/internal/store"
	"github.com/meshgate/meshgate/internal/store/storetest"
)

// BenchmarkStore runs the shared store workload (the same as SQLite's, so
// the two compare); it needs MESHGATE_TEST_POSTGRES and skips without it.
// Concurrent creates all bump the one revision row, so they serialize in
// PostgreSQL; retries/op shows what that costs.
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return openFresh(b) }, func(b *testing.B, s store.Store) {
		b.ReportMetric(float64(s.(*Store).retries.Load())/float64(b.N), "retries/op")
	})
}
