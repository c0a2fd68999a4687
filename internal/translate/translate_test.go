package translate_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/meshgate/meshgate/internal/scenario"
	"github.com/meshgate/meshgate/internal/testutil/golden"
)

// TestGatewayGolden translates every scenario's gateway and compares the IR
// with testdata/ir/<scenario>.json.
func TestGatewayGolden(t *testing.T) {
	all, err := scenario.All()
	if err != nil {
		t.Fatal(err)
	}
	keep := map[string]bool{}
	for _, s := range all {
		file := filepath.Join("testdata", "ir", s.Name+".json")
		keep[file] = true
		t.Run(s.Name, func(t *testing.T) {
			got, err := json.MarshalIndent(s.IR(t), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Compare(t, file, append(got, '\n'))
		})
	}
	golden.RemoveStale(t, filepath.Join("testdata", "ir", "*.json"), keep)
}
