package envoy_test

import (
	"context"
	"sync"
	"testing"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/model"
	"github.com/meshgate/meshgate/internal/scenario"
	"github.com/meshgate/meshgate/internal/translate"
)

// scenarioGateway is one scenario with its gateway's IR.
type scenarioGateway struct {
	scenario.Scenario
	IR *ir.Gateway
}

var (
	irMu    sync.Mutex
	irCache = map[string]*ir.Gateway{}
)

// scenarios creates every scenario through a real API server (once per
// test binary; the IR outlives the store) and translates it to IR.
func scenarios(t *testing.T) []scenarioGateway {
	t.Helper()
	all, err := scenario.All()
	if err != nil {
		t.Fatal(err)
	}
	irMu.Lock()
	defer irMu.Unlock()
	var out []scenarioGateway
	for _, s := range all {
		g, ok := irCache[s.Name]
		if !ok {
			st := s.Store(t)
			m, err := model.Load(context.Background(), st, model.GatewayKey{Mesh: s.Mesh, Name: s.Gateway})
			if err != nil {
				t.Fatalf("%s: %v", s.Name, err)
			}
			if g, err = translate.Gateway(m); err != nil {
				t.Fatalf("%s: %v", s.Name, err)
			}
			g.UID = "uid" // random per run; Envoy resources do not use it
			irCache[s.Name] = g
		}
		out = append(out, scenarioGateway{Scenario: s, IR: g})
	}
	return out
}
