// Package supervisor runs a gateway per virtual gateway of the store in
// one process: `meshgate up`.
package supervisor

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/meshgate/meshgate/internal/gateway/run"
	"github.com/meshgate/meshgate/internal/model"
	"github.com/meshgate/meshgate/internal/store"
)

// Supervisor runs one gateway per virtual gateway in the store — what
// `meshgate up` does so the quick start needs no second process. It starts
// a gateway when its virtual gateway appears and stops it when it goes;
// updates reach the running gateways through xDS like any other.
type Supervisor struct {
	Store store.Store
	// New returns the configuration of the gateway for one virtual gateway.
	New      func(k model.GatewayKey) run.Config
	Logger   *slog.Logger
	Interval time.Duration // how often the store is looked at (default 200ms)
}

// Run supervises until ctx ends, then stops every gateway.
func (s *Supervisor) Run(ctx context.Context) {
	if s.Interval <= 0 {
		s.Interval = 200 * time.Millisecond
	}
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	type running struct {
		cancel context.CancelFunc
		done   chan struct{}
	}
	gws := map[model.GatewayKey]running{}
	var wg sync.WaitGroup
	stop := func(k model.GatewayKey) {
		r := gws[k]
		r.cancel()
		<-r.done
		delete(gws, k)
	}
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	lastRev := int64(-1)
	for {
		if rev, err := s.Store.Revision(ctx); err == nil && rev != lastRev {
			keys, err := model.ListGateways(ctx, s.Store)
			if err != nil {
				log.Warn("listing virtual gateways", "err", err)
			} else {
				lastRev = rev
				want := map[model.GatewayKey]bool{}
				for _, k := range keys {
					want[k] = true
					if _, ok := gws[k]; ok {
						continue
					}
					gctx, cancel := context.WithCancel(context.Background())
					r := running{cancel: cancel, done: make(chan struct{})}
					gws[k] = r
					wg.Add(1)
					go func() {
						defer wg.Done()
						defer close(r.done)
						log.Info("starting a gateway", "resource", k.String())
						if err := run.Gateway(gctx, s.New(k)); err != nil {
							log.Error("gateway stopped with an error", "resource", k.String(), "err", err)
						}
					}()
				}
				for k := range gws {
					if !want[k] {
						log.Info("stopping the gateway of a deleted virtual gateway", "resource", k.String())
						stop(k)
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			for k := range gws {
				stop(k)
			}
			wg.Wait()
			return
		case <-t.C:
		}
	}
}
