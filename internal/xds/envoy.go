package xds

import (
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"

	"github.com/meshgate/meshgate/internal/ir"
)

// EnvoyResources are one gateway's Envoy resources, each list sorted by
// name. It mirrors translate/envoy.Resources; the server takes the
// translation as a function so that this package does not depend on the
// translator's internals and its tests can run on a small stand-in.
type EnvoyResources struct {
	Listeners, Routes, Clusters, Endpoints, Secrets []types.Resource
}

// EnvoyFunc translates a gateway's IR to Envoy resources, each of which
// passes its ValidateAll (protoc-gen-validate's rules, which Envoy checks
// too), as envoy.Translate's do: with 10,000 gateway routes that check
// takes 20 ms, too long to run twice a change.
type EnvoyFunc func(*ir.Gateway) (*EnvoyResources, error)
