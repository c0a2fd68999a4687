package model

import (
	"encoding/json"
	"fmt"

	"github.com/meshgate/meshgate/internal/store"
)

// Specs keeps decoded specs from one Load to the next, so that a load
// decodes only the records that changed since. The xDS server loads every
// gateway on every change; with 10,000 gateway routes, decoding their JSON
// was a fifth of a load.
//
// A record's UID and version name its spec: every update of a resource
// raises its version, and a resource deleted and created again has a new
// UID. The specs handed out are shared between loads, so whoever reads a
// loaded Gateway must not change them (translation does not: its tests
// check). Not safe for concurrent use.
type Specs struct {
	m   map[string]cachedSpec // by UID
	gen uint64
}

type cachedSpec struct {
	version int64
	spec    any // *S of the record's kind
	gen     uint64
}

// NewSpecs returns an empty cache.
func NewSpecs() *Specs { return &Specs{m: map[string]cachedSpec{}} }

// Sweep forgets the specs no Load used since the previous Sweep: those of
// resources deleted or no longer reached from a gateway.
func (c *Specs) Sweep() {
	for uid, e := range c.m {
		if e.gen != c.gen {
			delete(c.m, uid)
		}
	}
	c.gen++
}

// decode returns r's decoded spec, from specs when it holds r's version.
func decode[S any](r store.Record, specs *Specs) (*S, error) {
	if specs != nil {
		if e, ok := specs.m[r.UID]; ok && e.version == r.Version {
			if s, ok := e.spec.(*S); ok {
				e.gen = specs.gen
				specs.m[r.UID] = e
				return s, nil
			}
		}
	}
	s := new(S)
	if err := json.Unmarshal(r.Spec, s); err != nil {
		return nil, fmt.Errorf("stored spec of %s %s/%s: %w", r.Kind, r.Mesh, r.Name, err)
	}
	if specs != nil {
		specs.m[r.UID] = cachedSpec{version: r.Version, spec: s, gen: specs.gen}
	}
	return s, nil
}
