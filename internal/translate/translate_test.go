package translate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/meshgate/meshgate/internal/model"
	"github.com/meshgate/meshgate/internal/scenario"
	"github.com/meshgate/meshgate/internal/translate"
)

var update = flag.Bool("update", false, "rewrite the golden files (and remove stale ones)")

// TestGatewayGolden translates every scenario's gateway and compares the IR
// with testdata/ir/<scenario>.json.
func TestGatewayGolden(t *testing.T) {
	all, err := scenario.All()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, s := range all {
		file := filepath.Join("testdata", "ir", s.Name+".json")
		want[file] = true
		t.Run(s.Name, func(t *testing.T) {
			st := s.Store(t)
			m, err := model.Load(context.Background(), st, model.GatewayKey{Mesh: s.Mesh, Name: s.Gateway})
			if err != nil {
				t.Fatal(err)
			}
			g, err := translate.Gateway(m)
			if err != nil {
				t.Fatal(err)
			}
			g.UID = "uid" // random per run
			got, err := json.MarshalIndent(g, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			compareGolden(t, file, got)
		})
	}
	if *update {
		removeStale(t, "testdata/ir", want)
	}
}

func compareGolden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
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
		t.Errorf("%s differs from the translation (run with -update to accept):\n%s", file, diff(string(want), string(got)))
	}
}

func removeStale(t *testing.T, dir string, keep map[string]bool) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range files {
		if !keep[f] {
			if err := os.Remove(f); err != nil {
				t.Error(err)
			}
		}
	}
}

// diff shows the first differing lines; enough to see what changed.
func diff(want, got string) string {
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
