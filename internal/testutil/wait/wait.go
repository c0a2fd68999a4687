// Package wait is the tests' bounded polling: a condition that must come
// true within a time limit.
package wait

import (
	"testing"
	"time"
)

// For polls cond every 5 ms until it holds, and fails the test (naming
// what it waited for) when d passes first.
func For(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
