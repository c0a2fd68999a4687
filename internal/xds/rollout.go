package xds

import (
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
)

// phase is one step of a make-before-break rollout: the Envoy content to
// publish and the types whose ACK (at this content's versions) by every
// proxy of the gateway ends the step. A step with nothing to wait for is
// the last one.
type phase struct {
	content *content
	wait    []string
	name    string // for logs and inspection
}

// Types that only become reachable through a reference: a route names a
// cluster, a cluster its endpoints, listeners and clusters their secrets.
// During a rollout these are published as the union of old and new so that
// nothing a proxy may still use disappears under it.
var referencedTypes = []string{resource.ClusterType, resource.EndpointType, resource.SecretType}

// The types that hold the references: what switches traffic.
var routingTypes = []string{resource.ListenerType, resource.RouteType}

// plan returns the steps from the published content cur to target, following
// the xDS protocol's advice for eventual consistency: clusters (and their
// endpoints) reach a proxy before the routes that use them, and go away
// only after no route refers to them.
//
//  1. add: if target adds clusters and changes routing, the new clusters
//     next to the old listeners and routes; wait for CDS and EDS ACKs.
//  2. switch: if target removes clusters, endpoints or secrets, the new
//     listeners and routes next to the union of old and new references;
//     wait for LDS and RDS ACKs.
//  3. final: target.
//
// Ordered ADS already sends CDS before EDS before LDS before RDS inside one
// snapshot; the steps add the wait for the ACK in between, which ordering
// alone cannot give (Envoy may still be warming the new cluster when the
// route arrives). Steps that would publish nothing new are left out.
func plan(cur, target *content) ([]phase, error) {
	if cur == nil {
		return []phase{{content: target, name: "initial"}}, nil
	}
	union, err := cur.mix(target, nil, referencedTypes)
	if err != nil {
		return nil, err
	}
	var steps []phase
	if added(cur, target, resource.ClusterType) && !sameTypes(cur, target, routingTypes) {
		// union keeps cur's listeners and routes.
		steps = append(steps, phase{content: union, wait: []string{resource.ClusterType, resource.EndpointType}, name: "add clusters"})
	}
	if removed(cur, target, referencedTypes...) {
		sw, err := union.mix(target, routingTypes, nil)
		if err != nil {
			return nil, err
		}
		steps = append(steps, phase{content: sw, wait: []string{resource.ListenerType, resource.RouteType}, name: "switch routes"})
	}
	steps = append(steps, phase{content: target, name: "final"})

	// Drop steps equal to the one before them (or to cur).
	out := steps[:0]
	prev := cur
	for _, s := range steps {
		if s.content.equal(prev) && s.wait != nil {
			continue
		}
		out = append(out, s)
		prev = s.content
	}
	return out, nil
}

// added reports whether target has a resource of typeURL that cur lacks.
func added(cur, target *content, typeURL string) bool {
	have := cur.names(typeURL)
	for n := range target.names(typeURL) {
		if !have[n] {
			return true
		}
	}
	return false
}

// removed reports whether cur has a resource of one of the types that
// target lacks.
func removed(cur, target *content, typeURLs ...string) bool {
	for _, t := range typeURLs {
		if added(target, cur, t) {
			return true
		}
	}
	return false
}

func sameTypes(a, b *content, typeURLs []string) bool {
	for _, t := range typeURLs {
		if a.versions[t] != b.versions[t] {
			return false
		}
	}
	return true
}
