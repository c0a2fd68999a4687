// Package golden compares test output with golden files, with one -update
// flag that rewrites them and removes the stale ones.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files (and remove stale ones)")

// Updating reports whether the test run rewrites golden files.
func Updating() bool { return *update }

// Compare checks got against the file, or rewrites the file with -update.
func Compare(t testing.TB, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n%s", file, firstDiff(string(want), string(got)))
	}
}

// RemoveStale deletes the files matching pattern that are not in keep,
// when updating.
func RemoveStale(t testing.TB, pattern string, keep map[string]bool) {
	if !*update {
		return
	}
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !keep[f] {
			if err := os.Remove(f); err != nil {
				t.Error(err)
			}
		}
	}
}

// firstDiff shows the first differing line: enough to see what changed.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\n- " + a + "\n+ " + b
		}
	}
	return "(equal lines, different bytes)"
}
