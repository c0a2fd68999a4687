package xds

import (
	"maps"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
)

// gatewayView is a read-only copy of one gateway's sync state, for the
// callbacks (does it exist?) and the inspect endpoints. Everything it
// points to is immutable once built.
type gatewayView struct {
	name      string
	owner     string // the gateway's owner account
	ir        *ir.Gateway
	irVersion string
	target    *content
	published map[string]string // versions in the cache, by type URL
	step      string            // the rollout step waiting for ACKs, if any
	pending   int               // rollout steps after it
	err       string
	errAt     time.Time
	updatedAt time.Time
}

// publishView replaces the view when the loop changed something.
func (y *syncer) publishView() {
	if !y.dirty {
		return
	}
	y.dirty = false
	v := make(map[string]*gatewayView, len(y.gateways))
	for name, gs := range y.gateways {
		gv := &gatewayView{name: name, owner: gs.owner, ir: gs.ir, irVersion: gs.irVersion, target: gs.target,
			pending: len(gs.pending), err: gs.err, errAt: gs.errAt, updatedAt: gs.updatedAt}
		if gs.published != nil {
			gv.published = maps.Clone(gs.published.versions())
		}
		if gs.step != nil {
			gv.step = gs.step.name
		}
		v[name] = gv
	}
	y.view.Store(&v)
}

// gateway returns the view of one gateway.
func (y *syncer) gateway(name string) (*gatewayView, bool) {
	gv, ok := (*y.view.Load())[name]
	return gv, ok
}
