package main

import (
	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/translate/envoy"
	"github.com/meshgate/meshgate/internal/xds"
)

// envoyResources is the xDS server's Envoy translation: translate/envoy
// with its defaults, whose SDS cluster is the one `meshgate
// envoy-bootstrap --sds-socket` and the App Mesh image define.
func envoyResources(g *ir.Gateway) (*xds.EnvoyResources, error) {
	r, err := envoy.Translate(g, envoy.Options{})
	if err != nil {
		return nil, err
	}
	return &xds.EnvoyResources{Listeners: r.Listeners, Routes: r.Routes, Clusters: r.Clusters,
		Endpoints: r.Endpoints, Secrets: r.Secrets}, nil
}
