package translate_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/meshgate/meshgate/internal/scenario"
	"github.com/meshgate/meshgate/internal/testutil/golden"
	"github.com/meshgate/meshgate/internal/translate"
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

// Translation leaves the model as it found it, and translating it again
// gives the same IR: the xDS server hands the same decoded specs
// (model.Specs) to every translation until they change.
func TestGatewayLeavesModel(t *testing.T) {
	all, err := scenario.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		t.Run(s.Name, func(t *testing.T) {
			m := s.Model(t)
			before, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			first, err := translate.Gateway(m)
			if err != nil {
				t.Fatal(err)
			}
			if after, _ := json.Marshal(m); string(after) != string(before) {
				t.Errorf("translation changed the model:\nbefore %s\nafter  %s", before, after)
			}
			second, err := translate.Gateway(m)
			if err != nil {
				t.Fatal(err)
			}
			if first.Version() != second.Version() {
				t.Error("a second translation of the same model gave another IR")
			}
		})
	}
}
