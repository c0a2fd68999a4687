package heapfloor

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/testutil/wait"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		base, floor uint64
		want        int
	}{
		{2 * mib, 8 * mib, 400},     // a small proxy: four times its heap
		{3 * mib, 8 * mib, 266},     // rounded down: the headroom is at least the floor's
		{8 * mib, 8 * mib, 100},     // the floor reached: GOGC=100
		{40 * mib, 8 * mib, 100},    // never below GOGC=100
		{1024, 8 * mib, 100_000},    // bounded for a nearly empty heap
		{0, 8 * mib, 100_000},       // nothing measured yet
		{2 * mib, 3 * mib / 2, 100}, // a floor under the heap changes nothing
	} {
		if got := Percent(tc.base, tc.floor); got != tc.want {
			t.Errorf("Percent(%d, %d) = %d, want %d", tc.base, tc.floor, got, tc.want)
		}
	}
}

// gcPercent reads GOGC without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestStartRespectsTheEnvironment(t *testing.T) {
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "200")
			if env == "GOMEMLIMIT" {
				t.Setenv(env, "1GiB")
			}
			if Start(64 << 20) {
				t.Fatalf("Start ran with %s set", env)
			}
		})
	}
	if Start(0) {
		t.Fatal("Start ran with a floor of 0")
	}
}

// memoryLimit reads the soft memory limit without changing it.
func memoryLimit() int64 { return debug.SetMemoryLimit(-1) }

// TestAdjust: over a heap below the floor, GOGC rises and a memory limit
// bounds what a sudden growth of the heap could take; once the heap is
// past the floor, GOGC is 100 and the limit is lifted.
func TestAdjust(t *testing.T) {
	before, beforeLimit := gcPercent(), memoryLimit()
	t.Cleanup(func() { debug.SetGCPercent(before); debug.SetMemoryLimit(beforeLimit) })
	debug.SetGCPercent(100)
	tu := newTuner(256 << 20)
	runtime.GC()
	tu.adjust()
	if p := gcPercent(); p <= 100 {
		t.Fatalf("GOGC %d with a 256 MiB floor over a small heap", p)
	}
	if l := memoryLimit(); l == math.MaxInt64 || l < 256<<20 || l > 1<<30 {
		t.Fatalf("memory limit %d with GOGC raised, want the floor and a half over what is in use", l)
	}
	tu.floor = 1 << 10 // now below the heap
	runtime.GC()
	tu.adjust()
	if p, l := gcPercent(), memoryLimit(); p != 100 || l != math.MaxInt64 {
		t.Fatalf("past the floor: GOGC %d, memory limit %d; want 100 and none", p, l)
	}
}

// TestArmedTunerRaisesGOGC: armed as Start arms it, with a floor far above
// this test's heap, the tuner raises GOGC after the next collections
// without being called; the heap goal then leaves the floor's headroom.
// (Start itself would leave its tuner running for the other tests.)
func TestArmedTunerRaisesGOGC(t *testing.T) {
	before, beforeLimit := gcPercent(), memoryLimit()
	t.Cleanup(func() { debug.SetGCPercent(before); debug.SetMemoryLimit(beforeLimit) })
	tu := newTuner(256 << 20)
	tu.arm()
	t.Cleanup(func() { tu.stopped.Store(true) }) // runs first: then GOGC is restored
	wait.For(t, 5*time.Second, "GOGC to rise above 100", func() bool {
		runtime.GC()
		return gcPercent() > 100
	})
	var ms runtime.MemStats
	runtime.GC()
	wait.For(t, 5*time.Second, "the heap goal to leave the floor's headroom", func() bool {
		runtime.ReadMemStats(&ms)
		return ms.NextGC >= ms.HeapAlloc+200<<20
	})
}
