package sqlite

import (
	"testing"

	"github.com/meshgate/meshgate/internal/store"
	"github.com/meshgate/meshgate/internal/store/storetest"
)

// BenchmarkStore runs the shared store workload on a temporary file.
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { s, _ := openTemp(b); return s }, nil)
}
