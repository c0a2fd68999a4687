// Package envoy maps one gateway's IR onto Envoy v3 xDS resources for stock
// Envoy, in the shape App Mesh gave its virtual gateways (reference §6.2)
// so existing dashboards and runbooks keep working:
//
//   - one ingress listener per gateway listener, lds_ingress_0.0.0.0_port_<port>,
//     whose route configuration rds_ingress_<protocol>_<port> holds the
//     gateway routes;
//   - every gateway route forwards to the self-redirect cluster of its
//     listener, a loop back into the same Envoy's egress listener on
//     127.0.0.1:<EgressPort>, where route configuration rds_egress_<EgressPort>
//     runs the router stage of the targeted virtual service and port;
//   - one cluster per (virtual node, port), cds_egress_<mesh>_<node>_<protocol>_<port>.
//
// The package decides no App Mesh semantics: route order, rewrites and
// the router stage come resolved in the IR, and are mapped one to one.
package envoy

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/meshgate/meshgate/internal/ir"
)

// Options are the parts of the Envoy shape that depend on how the Envoy
// process is started rather than on the gateway.
type Options struct {
	// EgressPort is the loopback port of the internal router-stage
	// listener; default 15001 (App Mesh's egress port).
	EgressPort uint32
	// SDSCluster is the bootstrap cluster SDS secrets are fetched from;
	// default "static_cluster_sds_unix_socket", the cluster the App Mesh
	// Envoy image defines when APPMESH_SDS_SOCKET_PATH is set.
	SDSCluster string
}

// Default option values.
const (
	DefaultEgressPort = 15001
	DefaultSDSCluster = "static_cluster_sds_unix_socket"
)

func (o Options) withDefaults() Options {
	if o.EgressPort == 0 {
		o.EgressPort = DefaultEgressPort
	}
	if o.SDSCluster == "" {
		o.SDSCluster = DefaultSDSCluster
	}
	return o
}

// Resources is one gateway's xDS configuration. Each slice is sorted by
// resource name, so equal IRs give equal resources in equal order.
type Resources struct {
	Listeners []types.Resource
	Routes    []types.Resource
	Clusters  []types.Resource
	// Endpoints stays empty: every cluster carries its endpoints inline
	// (DNS clusters resolve the hostname themselves, the self-redirect
	// cluster is static), so no cluster uses EDS.
	Endpoints []types.Resource
	// Secrets stays empty: file certificates are read by Envoy itself, and
	// SDS secrets are served by the SDS server behind Options.SDSCluster
	// (as with the App Mesh image), not by meshgate.
	Secrets []types.Resource
}

// Translate maps a gateway IR onto Envoy resources. It fails, rather than
// produce a configuration Envoy would reject, when the IR holds something
// Envoy cannot take (an invalid regular expression, two listeners on one
// port, ...); every resource it returns has passed Validate.
func Translate(g *ir.Gateway, o Options) (*Resources, error) {
	if g == nil {
		return nil, fmt.Errorf("envoy: no gateway")
	}
	o = o.withDefaults()
	t := &translator{g: g, o: o, names: newNames(g, o)}
	res, err := t.translate()
	if err != nil {
		return nil, fmt.Errorf("envoy: gateway %s/%s: %w", g.Mesh, g.Name, err)
	}
	if err := validate(res, false); err != nil {
		return nil, fmt.Errorf("envoy: gateway %s/%s: %w: %w", g.Mesh, g.Name, ErrInvalid, err)
	}
	return res, nil
}

// ErrInvalid marks a translation whose output failed Validate: a bug here,
// since every IR Envoy cannot take should be refused with its own error
// before. The output is withheld all the same.
var ErrInvalid = errors.New("generated resources fail validation")

// translator holds what every part of one translation needs.
type translator struct {
	g     *ir.Gateway
	o     Options
	names names
}

func (t *translator) translate() (*Resources, error) {
	if err := t.checkPorts(); err != nil {
		return nil, err
	}
	res := &Resources{}
	for _, l := range t.g.Listeners {
		lis, err := t.ingressListener(l)
		if err != nil {
			return nil, fmt.Errorf("listener %d: %w", l.Port, err)
		}
		rc, err := t.ingressRoutes(l)
		if err != nil {
			return nil, fmt.Errorf("listener %d: %w", l.Port, err)
		}
		hop, err := t.selfRedirectCluster(l)
		if err != nil {
			return nil, fmt.Errorf("listener %d: %w", l.Port, err)
		}
		res.Listeners = append(res.Listeners, lis)
		res.Routes = append(res.Routes, rc)
		res.Clusters = append(res.Clusters, hop)
	}
	egress, err := t.egressListener()
	if err != nil {
		return nil, fmt.Errorf("egress listener: %w", err)
	}
	res.Listeners = append(res.Listeners, egress)
	rc, err := t.egressRoutes()
	if err != nil {
		return nil, err
	}
	res.Routes = append(res.Routes, rc)
	seen := map[string]bool{}
	for _, c := range t.g.Clusters {
		if seen[c.Name] {
			return nil, fmt.Errorf("cluster %s appears twice", c.Name)
		}
		seen[c.Name] = true
		cl, err := t.cluster(c)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		res.Clusters = append(res.Clusters, cl)
	}
	for _, s := range [][]types.Resource{res.Listeners, res.Routes, res.Clusters} {
		slices.SortFunc(s, func(a, b types.Resource) int { return cmp.Compare(ResourceName(a), ResourceName(b)) })
	}
	return res, nil
}

// checkPorts refuses listeners Envoy could not bind: two on one port, or
// one on the egress port (0.0.0.0 covers 127.0.0.1).
func (t *translator) checkPorts() error {
	seen := map[uint32]bool{}
	for _, l := range t.g.Listeners {
		switch {
		case l.Port == 0 || l.Port > 65535:
			return fmt.Errorf("listener port %d is out of range", l.Port)
		case seen[l.Port]:
			return fmt.Errorf("two listeners on port %d", l.Port)
		case l.Port == t.o.EgressPort:
			return fmt.Errorf("listener port %d is the egress port; start Envoy with another egress port", l.Port)
		}
		seen[l.Port] = true
	}
	if t.o.EgressPort > 65535 {
		return fmt.Errorf("egress port %d is out of range", t.o.EgressPort)
	}
	return nil
}
