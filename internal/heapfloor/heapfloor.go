// Package heapfloor gives the garbage collector a minimum headroom: the
// heap may grow by at least Floor bytes over the live heap before the next
// collection, and by the live heap itself (GOGC=100) once that is larger.
//
// A proxy's live heap is small (a few MiB) while it allocates quickly (a
// few KiB a request), so with GOGC=100 it collects every few megabytes:
// tens of cycles a second, each paying fixed costs (scanning every
// connection's goroutine stack, starting the mark workers) that do not
// shrink with the heap. A fixed headroom cuts the cycles without scaling
// memory with the configuration, as raising GOGC would: with a 10,000-route
// table the live heap is past the floor and GOGC stays 100.
//
// It sets GOGC after each collection from the live heap it measured; it
// does nothing when the user set GOGC or GOMEMLIMIT, which say what they
// want themselves.
package heapfloor

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The runtime's heap goal is live + (live + stacks + globals) × GOGC/100:
// these are the three terms.
var scanned = []string{"/gc/heap/live:bytes", "/gc/scan/stack:bytes", "/gc/scan/globals:bytes"}

// maxPercent bounds GOGC (an int32 in the runtime) for a nearly empty
// heap: a headroom of 8 MiB stays exact down to 8 KiB scanned.
const maxPercent = 100_000

// Start keeps floor bytes of headroom from now on, unless GOGC or
// GOMEMLIMIT is set in the environment or floor is 0. It reports whether
// it runs.
func Start(floor uint64) bool {
	if floor == 0 || os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return false
	}
	t := &tuner{floor: floor, percent: 100}
	for i, name := range scanned {
		t.sample[i].Name = name
	}
	t.arm()
	return true
}

// Percent is the GOGC that gives at least floor bytes of headroom when
// the garbage collector scans base bytes (live heap, stacks and globals),
// and never less than GOGC=100's.
func Percent(base, floor uint64) int {
	if base == 0 {
		return maxPercent
	}
	if floor <= base {
		return 100
	}
	return int(min(floor*100/base, maxPercent))
}

type tuner struct {
	mu      sync.Mutex // cleanups may run concurrently
	floor   uint64
	percent int
	sample  [3]metrics.Sample
}

// arm registers a cleanup on a new object that nothing references: it
// runs after the next collection, which is when the live heap is known.
func (t *tuner) arm() {
	runtime.AddCleanup(new(sentinel), func(t *tuner) { t.adjust(); t.arm() }, t)
}

// sentinel is large enough not to share a tiny-allocator block, whose
// other objects could keep it alive.
type sentinel [16]byte

func (t *tuner) adjust() {
	t.mu.Lock()
	defer t.mu.Unlock()
	metrics.Read(t.sample[:])
	var base uint64
	for _, s := range t.sample {
		if s.Value.Kind() != metrics.KindUint64 {
			return // the runtime no longer reports it: keep GOGC as it is
		}
		base += s.Value.Uint64()
	}
	p := Percent(base, t.floor)
	// Small changes are not worth the pacer's recomputation.
	if d := p - t.percent; d > t.percent/10 || -d > t.percent/10 {
		debug.SetGCPercent(p)
		t.percent = p
	}
}
