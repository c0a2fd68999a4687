package xds

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/model"
	"github.com/meshgate/meshgate/internal/store"
	"github.com/meshgate/meshgate/internal/translate"
	"github.com/meshgate/meshgate/internal/xds/gwconfig"
)

// syncer keeps the snapshot cache equal to the store. Only its goroutine
// touches gatewayState; everyone else reads the immutable view it
// publishes after each change, so nothing here holds a lock while calling
// into the cache (whose responses go to stream goroutines that may be
// running our callbacks).
type syncer struct {
	s        *Server
	kick     chan struct{}
	ackc     chan struct{}
	gateways map[string]*gatewayState // by short ARN
	specs    *model.Specs             // decoded specs, kept between checks
	lastRev  int64
	synced   bool
	dirty    bool   // the view is out of date
	storeErr string // last store error logged, to log each one once

	view      atomic.Pointer[map[string]*gatewayView]
	syncedRev atomic.Int64 // the store revision the snapshots reflect
	ready     chan struct{}
	readyOnce sync.Once
}

// gatewayState is one gateway as the sync loop tracks it.
type gatewayState struct {
	key   model.GatewayKey
	name  string
	owner string // the gateway's owner account (its resourceOwner)

	ir        *ir.Gateway
	irVersion string
	config    types.Resource // its GatewayConfig

	target    *content  // latest good Envoy content: where proxies should end up
	published *snapshot // what the cache holds now
	step      *phase    // the published rollout step being waited on; nil when settled
	pending   []phase   // the steps after it
	deadline  time.Time // when the step stops waiting for ACKs

	err       string // the last translation error; "" once translation succeeds
	errStage  string
	errAt     time.Time
	updatedAt time.Time
}

func newSyncer(s *Server) *syncer {
	y := &syncer{s: s, kick: make(chan struct{}, 1), ackc: make(chan struct{}, 1),
		gateways: map[string]*gatewayState{}, specs: model.NewSpecs(), ready: make(chan struct{})}
	y.view.Store(&map[string]*gatewayView{})
	return y
}

// Kick asks for a check of the store now rather than at the next poll.
func (y *syncer) Kick() {
	select {
	case y.kick <- struct{}{}:
	default:
	}
}

// acked wakes the loop to see whether a rollout step is complete.
func (y *syncer) acked() {
	select {
	case y.ackc <- struct{}{}:
	default:
	}
}

// changeNotifier is a store that announces writes made anywhere — by
// another replica too (PostgreSQL LISTEN/NOTIFY). The revision poll stays
// as the safety net for notifications lost while disconnected.
type changeNotifier interface {
	Changes(ctx context.Context) <-chan struct{}
}

func (y *syncer) run(ctx context.Context) {
	poll := time.NewTicker(y.s.cfg.PollInterval)
	defer poll.Stop()
	var changes <-chan struct{}
	if n, ok := y.s.cfg.Store.(changeNotifier); ok {
		changes = n.Changes(ctx)
	}
	deadline := time.NewTimer(time.Hour)
	defer deadline.Stop()
	y.check(ctx)
	for {
		if d, ok := y.nextDeadline(); ok {
			deadline.Reset(max(time.Until(d), 0))
		} else {
			deadline.Stop()
		}
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
			y.check(ctx)
		case <-y.kick:
			y.check(ctx)
		case _, ok := <-changes:
			if !ok {
				changes = nil // the store stopped announcing; the poll remains
				continue
			}
			y.check(ctx)
		case <-y.ackc:
			y.advance(ctx)
		case <-deadline.C:
			y.advance(ctx)
		}
		y.publishView()
	}
}

// check rebuilds every gateway when the store's revision moved. The
// revision is read before the gateways, so a write that lands during the
// rebuild moves it again and is picked up at the next check.
func (y *syncer) check(ctx context.Context) {
	rev, err := y.s.cfg.Store.Revision(ctx)
	if err != nil {
		y.storeFailed(ctx, err)
		return
	}
	if y.synced && rev == y.lastRev {
		return
	}
	start := time.Now()
	seen := map[string]bool{}
	retry := false
	// One read transaction for every gateway: what they share is read once.
	err = model.Read(ctx, y.s.cfg.Store, y.specs, func(r *model.Reader) error {
		keys, err := r.Gateways()
		if err != nil {
			return err
		}
		for _, k := range keys {
			found, err := y.rebuild(ctx, r, k)
			if err != nil {
				y.storeFailed(ctx, err)
				retry = true
				seen[k.String()] = true // a read failure is not a deletion
				continue
			}
			if found {
				seen[k.String()] = true
			}
		}
		return nil
	})
	if err != nil {
		y.storeFailed(ctx, err)
		return
	}
	for name, gs := range y.gateways {
		if !seen[name] {
			y.remove(gs)
		}
	}
	if retry {
		return
	}
	y.specs.Sweep() // every gateway was loaded: what none used is gone
	y.storeErr = ""
	y.lastRev, y.synced = rev, true
	y.s.m.syncSeconds.Observe(time.Since(start).Seconds())
	y.publishView()
	y.syncedRev.Store(rev)
	y.readyOnce.Do(func() { close(y.ready) })
}

func (y *syncer) storeFailed(ctx context.Context, err error) {
	if ctx.Err() != nil || err.Error() == y.storeErr {
		return
	}
	y.storeErr = err.Error()
	y.s.log.Error("xds: cannot read the store; proxies keep their current config", "error", err)
}

// syncedRevision is the store revision the cache reflects.
func (s *Server) syncedRevision() int64 { return s.sync.syncedRev.Load() }

// rebuild translates one gateway and publishes what changed. found is
// false when the gateway is gone; err is a store failure (retried at the
// next check), never a translation error.
func (y *syncer) rebuild(ctx context.Context, r *model.Reader, k model.GatewayKey) (found bool, err error) {
	m, err := r.Load(k)
	if errors.Is(err, model.ErrNotFound) || errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	name := k.String()
	gs := y.gateways[name]
	if gs == nil {
		gs = &gatewayState{key: k, name: name}
		y.gateways[name] = gs
		y.dirty = true
	}
	if gs.owner != m.Gateway.Owner {
		gs.owner, y.dirty = m.Gateway.Owner, true
	}
	g, err := translate.Gateway(m)
	if err != nil {
		y.failed(gs, stageIR, err)
		return true, nil
	}
	if gs.errStage == stageIR {
		gs.err, gs.errStage = "", ""
		y.dirty = true
	}
	cfg, version, err := gwconfig.New(name, g)
	if err != nil {
		y.failed(gs, "IR to gateway config", err)
		return true, nil
	}
	if version == gs.irVersion {
		// The IR is the only input of both back ends: nothing a proxy
		// sees has changed (an update that re-sent the same spec, a
		// change elsewhere in the mesh).
		return true, nil
	}
	gs.ir, gs.irVersion, gs.config, gs.updatedAt = g, version, cfg, time.Now()
	y.dirty = true
	gs.err, gs.errStage = "", ""
	// The meshgate gateway gets the new IR at once, next to the Envoy
	// content already published: it does not wait for the Envoy
	// translation (with 10,000 gateway routes, a third of a change's
	// time), and it gets it even if that translation fails: the two data
	// planes are independent. A gateway's first snapshot waits, so that
	// an Envoy proxy's first answer is never an empty configuration.
	if gs.published != nil {
		y.set(ctx, gs, gs.published.envoyContent())
	}
	if c, err := y.envoyContent(g); err != nil {
		y.failed(gs, "IR to Envoy", err)
	} else {
		gs.target = c
	}
	y.publish(ctx, gs)
	return true, nil
}

// The stages of a gateway's translation, as errors name them.
const stageIR = "model to IR"

// failed records a translation error. Each distinct error is logged and
// counted once, not on every later store change that rebuilds the gateway
// with the same broken input.
func (y *syncer) failed(gs *gatewayState, stage string, err error) {
	msg := stage + ": " + err.Error()
	if msg == gs.err {
		return
	}
	gs.err, gs.errStage, gs.errAt = msg, stage, time.Now()
	y.dirty = true
	y.s.m.translationErrors.WithLabelValues(gs.name).Inc()
	y.s.log.Error("xds: cannot translate a virtual gateway; its proxies keep the last good config",
		"gateway", gs.name, "stage", stage, "error", err)
}

// remove drops a deleted gateway. Its proxies' streams are closed the way
// App Mesh closed them, with status 3 "resource not found": Envoy keeps
// serving its last config, reconnects with backoff and is refused until a
// gateway of that name exists again.
func (y *syncer) remove(gs *gatewayState) {
	delete(y.gateways, gs.name)
	y.dirty = true
	err := statusNotFound(gs.key, "was deleted")
	n := y.s.tracker.kill(gs.name, err)
	y.s.cache.ClearSnapshot(gs.name)
	y.s.log.Info("virtual gateway deleted; closed its proxies' streams", "gateway", gs.name, "streams", n)
}

// exists reports whether a gateway exists: known to the loop, or, for one
// created since the last check, in the store (and then the loop is kicked
// so its config follows quickly).
func (y *syncer) exists(ctx context.Context, k model.GatewayKey) (bool, error) {
	if _, ok := y.gateway(k.String()); ok {
		return true, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err := y.s.cfg.Store.Read(ctx, func(tx store.Tx) error {
		_, err := tx.Get(ctx, store.Key{Kind: store.KindVirtualGateway, Mesh: k.Mesh, Name: k.Name})
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	y.Kick()
	return true, nil
}

// owner is the account that owns a gateway, "" when it does not exist: from
// the view when the gateway is synced (the node of every request of a
// stream is checked), else from the store.
func (y *syncer) owner(ctx context.Context, k model.GatewayKey) (string, error) {
	if gv, ok := y.gateway(k.String()); ok && gv.owner != "" {
		return gv.owner, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var owner string
	err := y.s.cfg.Store.Read(ctx, func(tx store.Tx) error {
		r, err := tx.Get(ctx, store.Key{Kind: store.KindVirtualGateway, Mesh: k.Mesh, Name: k.Name})
		owner = r.ResourceOwner
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return owner, err
}

// nextDeadline is the earliest end of a rollout step's wait.
func (y *syncer) nextDeadline() (time.Time, bool) {
	var d time.Time
	for _, gs := range y.gateways {
		if gs.step != nil && (d.IsZero() || gs.deadline.Before(d)) {
			d = gs.deadline
		}
	}
	return d, !d.IsZero()
}

// gatewayNames lists the gateways in order (for stable logs and views).
func (y *syncer) gatewayNames() []string {
	return slices.Sorted(maps.Keys(y.gateways))
}
