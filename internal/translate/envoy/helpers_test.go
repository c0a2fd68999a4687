package envoy_test

import (
	"sync"
	"testing"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/scenario"
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
			g = s.IR(t)
			irCache[s.Name] = g
		}
		out = append(out, scenarioGateway{Scenario: s, IR: g})
	}
	return out
}
