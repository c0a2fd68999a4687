// Package heapfloor gives the garbage collector a minimum headroom: the
// heap may grow by at least the floor over the live heap before the next
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
//
// A raised GOGC multiplies whatever the live heap becomes until the next
// collection lowers it again: a large configuration decoded over a small
// heap would let the heap grow to several times its size (seen: 46 MB
// for 13 MB live, with GOGC still at 250). So while GOGC is raised, a
// soft memory limit stops the heap at the floor's headroom (and half as
// much again) over what the process had in use after the collection.
package heapfloor

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// The runtime's heap goal is live + (live + stacks + globals) × GOGC/100:
// these are the three terms. The memory limit applies to the memory
// mapped and not released: the last two.
var sampled = [...]string{"/gc/heap/live:bytes", "/gc/scan/stack:bytes", "/gc/scan/globals:bytes",
	"/memory/classes/total:bytes", "/memory/classes/heap/released:bytes"}

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
	newTuner(floor).arm()
	return true
}

func newTuner(floor uint64) *tuner {
	t := &tuner{floor: floor, percent: 100}
	for i, name := range sampled {
		t.sample[i].Name = name
	}
	return t
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
	limited bool // a memory limit is set
	stopped atomic.Bool
	sample  [5]metrics.Sample
}

// arm registers a cleanup on a new object that nothing references: it
// runs after the next collection, which is when the live heap is known.
func (t *tuner) arm() {
	runtime.AddCleanup(new(sentinel), func(t *tuner) {
		if !t.stopped.Load() {
			t.adjust()
			t.arm()
		}
	}, t)
}

// sentinel is large enough not to share a tiny-allocator block, whose
// other objects could keep it alive.
type sentinel [16]byte

func (t *tuner) adjust() {
	t.mu.Lock()
	defer t.mu.Unlock()
	metrics.Read(t.sample[:])
	var v [len(sampled)]uint64
	for i, s := range t.sample {
		if s.Value.Kind() != metrics.KindUint64 {
			return // the runtime no longer reports it: keep GOGC as it is
		}
		v[i] = s.Value.Uint64()
	}
	p := Percent(v[0]+v[1]+v[2], t.floor)
	if p > 100 {
		debug.SetMemoryLimit(int64(min(v[3]-v[4]+t.floor+t.floor/2, math.MaxInt64)))
		t.limited = true
	} else if t.limited {
		debug.SetMemoryLimit(math.MaxInt64)
		t.limited = false
	}
	// Small changes are not worth the pacer's recomputation.
	if d := p - t.percent; d > t.percent/10 || -d > t.percent/10 {
		debug.SetGCPercent(p)
		t.percent = p
	}
}
