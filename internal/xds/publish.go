package xds

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/model"
)

// envoyContent translates the IR to Envoy resources. The translator has
// checked each resource the way Envoy will (EnvoyFunc); what is checked
// here is that they hang together as a snapshot, so that a translation
// bug is a translation error here, not a NACK on every proxy.
func (y *syncer) envoyContent(g *ir.Gateway) (*content, error) {
	res, err := y.s.cfg.Envoy(g)
	if err != nil {
		return nil, err
	}
	if res == nil {
		return nil, fmt.Errorf("the translator returned no resources")
	}
	c, err := newContent(res)
	if err != nil {
		return nil, err
	}
	byType := map[string][]types.Resource{}
	for _, t := range envoyTypes {
		for _, r := range c.items[t] {
			byType[t] = append(byType[t], r)
		}
	}
	// Every endpoint set a cluster names and every route configuration a
	// listener names must be there: ADS answers EDS and RDS requests only
	// when they cover the snapshot.
	snap, err := cache.NewSnapshot("check", byType)
	if err != nil {
		return nil, err
	}
	if err := snap.Consistent(); err != nil {
		return nil, err
	}
	return c, nil
}

// publish moves a gateway towards its current target: a new rollout when
// the Envoy goal changed, or the current step again with a new
// GatewayConfig when only the IR-level config changed.
func (y *syncer) publish(ctx context.Context, gs *gatewayState) {
	goal := gs.published.envoyContent()
	if n := len(gs.pending); n > 0 {
		goal = gs.pending[n-1].content
	} else if gs.step != nil {
		goal = gs.step.content
	}
	switch {
	case gs.target == nil:
		// No good Envoy content yet: publish the GatewayConfig alone.
		y.set(ctx, gs, nil)
	case goal.equal(gs.target):
		y.set(ctx, gs, gs.published.envoyContent())
	default:
		steps, err := plan(gs.published.envoyContent(), gs.target)
		if err != nil {
			y.failed(gs, "make-before-break plan", err)
			return
		}
		if len(steps) > 1 && y.s.tracker.count(gs.name) > 0 {
			y.s.log.Info("xds: make-before-break rollout", "gateway", gs.name, "steps", len(steps))
		}
		gs.step, gs.pending = nil, steps
		y.next(ctx, gs)
	}
}

// next publishes the following steps of a rollout until one has to wait
// for ACKs.
func (y *syncer) next(ctx context.Context, gs *gatewayState) {
	y.dirty = true
	for len(gs.pending) > 0 {
		p := gs.pending[0]
		gs.pending = gs.pending[1:]
		y.set(ctx, gs, p.content)
		if len(p.wait) == 0 {
			continue
		}
		gs.step, gs.deadline = &p, time.Now().Add(y.s.cfg.Grace)
		if !y.satisfied(gs) {
			y.s.log.Debug("xds: rollout step waits for ACKs", "gateway", gs.name, "step", p.name)
			return
		}
	}
	gs.step = nil
}

// advance moves every waiting rollout whose step is ACKed by all the
// gateway's proxies, or has waited its grace period.
func (y *syncer) advance(ctx context.Context) {
	for _, name := range y.gatewayNames() {
		gs := y.gateways[name]
		if gs.step == nil {
			continue
		}
		if !y.satisfied(gs) {
			if time.Now().Before(gs.deadline) {
				continue
			}
			y.s.log.Info("xds: rollout step not ACKed by every proxy in time; going on", "gateway", gs.name,
				"step", gs.step.name, "grace", y.s.cfg.Grace)
		}
		gs.step = nil
		y.next(ctx, gs)
	}
}

// satisfied reports whether every proxy of the gateway has ACKed the
// waiting step's versions of the types it waits for.
func (y *syncer) satisfied(gs *gatewayState) bool {
	for _, t := range gs.step.wait {
		if !y.s.tracker.acked(gs.name, t, gs.step.content.versions[t]) {
			return false
		}
	}
	return true
}

// set puts a snapshot of the gateway with the given Envoy content (nil:
// none yet) and its current GatewayConfig into the cache, unless it would
// change no version.
func (y *syncer) set(ctx context.Context, gs *gatewayState, c *content) {
	snap := &snapshot{envoy: c, config: gs.config, configName: gs.name, configVersion: gs.irVersion}
	if gs.published != nil && maps.Equal(gs.published.versions(), snap.versions()) {
		return
	}
	if err := y.s.cache.SetSnapshot(ctx, gs.name, snap); err != nil {
		// Only a cancelled context fails here (the server is stopping).
		y.s.log.Debug("xds: set snapshot", "gateway", gs.name, "error", err)
		return
	}
	gs.published = snap
	y.s.m.snapshots.WithLabelValues(gs.name).Inc()
	y.s.log.Debug("xds: snapshot published", "gateway", gs.name, "versions", snap.versions())
}

// envoyContent is the snapshot's Envoy content; nil for no snapshot.
func (s *snapshot) envoyContent() *content {
	if s == nil {
		return nil
	}
	return s.envoy
}

// statusNotFound is App Mesh's answer to a proxy whose gateway does not
// exist: gRPC status 3.
func statusNotFound(k model.GatewayKey, why string) error {
	return status.Errorf(codes.InvalidArgument, "the node's resource was not found: virtual gateway %q in mesh %q %s", k.Name, k.Mesh, why)
}
