package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/scenario"
)

// TestScenariosLive serves every scenario from a live gateway on loopback,
// with echo backends on the 127.0.x.y addresses its nodes resolve to, and
// checks each case of its table end to end.
func TestScenariosLive(t *testing.T) {
	all, err := scenario.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if len(s.Cases) == 0 {
			continue
		}
		t.Run(s.Name, func(t *testing.T) {
			cfg := s.IR(t)
			s.StartBackends(t)
			g := New(Options{ListenHost: "127.0.0.1"})
			if err := g.Apply(cfg, cfg.Version()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				g.Shutdown(ctx)
			})
			for _, c := range s.Cases {
				t.Run(c.Name, func(t *testing.T) { c.Run(t, "127.0.0.1") })
			}
		})
	}
}
