package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/store"
)

// listener is a port and protocol of a gateway, router or node listener:
// all that the cross-resource rules look at.
type listener struct {
	port     int64
	protocol string
}

func ports(ls []listener) []int64 {
	out := make([]int64, len(ls))
	for i, l := range ls {
		out[i] = l.port
	}
	return out
}

// decodeSpec reads a stored spec back into its type.
func decodeSpec[S any](r store.Record) (*S, error) {
	s := new(S)
	if err := json.Unmarshal(r.Spec, s); err != nil {
		return nil, fmt.Errorf("stored spec of %s: %w", store.ResourcePath(r.Key), err)
	}
	return s, nil
}

// listenersOf returns the listeners of a stored gateway, router or node.
func listenersOf(r store.Record) ([]listener, error) {
	var spec any
	var err error
	switch r.Kind {
	case store.KindVirtualGateway:
		spec, err = decodeSpec[appmesh.VirtualGatewaySpec](r)
	case store.KindVirtualRouter:
		spec, err = decodeSpec[appmesh.VirtualRouterSpec](r)
	case store.KindVirtualNode:
		spec, err = decodeSpec[appmesh.VirtualNodeSpec](r)
	}
	if err != nil {
		return nil, err
	}
	return specListeners(spec), nil
}

// matchListener applies App Mesh's multiple-listener rule to a route (or
// gateway route) of the given protocol on its parent's listeners: with more
// than one listener match.port is required, and a given port must be a
// listener whose protocol is the route's.
func matchListener(parent string, ls []listener, port *int64, protocol, routeType, field string) error {
	if port == nil {
		if len(ls) > 1 {
			return appmesh.BadRequest("%s is required: %s has multiple listeners (ports %v)", field, parent, ports(ls))
		}
		for _, l := range ls {
			if l.protocol != protocol {
				return appmesh.BadRequest("%s does not match the protocol %s of the listener on port %d of %s", routeType, l.protocol, l.port, parent)
			}
		}
		return nil
	}
	for _, l := range ls {
		if l.port == *port {
			if l.protocol != protocol {
				return appmesh.BadRequest("%s does not match the protocol %s of the listener on port %d of %s", routeType, l.protocol, l.port, parent)
			}
			return nil
		}
	}
	return appmesh.BadRequest("%s %d is not a listener port of %s (ports %v)", field, *port, parent, ports(ls))
}

// targetPort applies the rule for a target's port: required when the target
// has more than one listener, and then one of them.
func targetPort(target string, ls []listener, port *int64, field string) error {
	if port == nil {
		if len(ls) > 1 {
			return appmesh.BadRequest("%s is required: %s has multiple listeners (ports %v)", field, target, ports(ls))
		}
		return nil
	}
	if len(ls) == 0 || slices.Contains(ports(ls), *port) {
		return nil
	}
	return appmesh.BadRequest("%s %d is not a listener port of %s (ports %v)", field, *port, target, ports(ls))
}

// referenced reads a resource a spec names; a missing one is NotFound with
// App Mesh's "is missing" wording.
func (s *Service) referenced(ctx context.Context, tx store.Tx, k store.Key) (store.Record, error) {
	r, err := tx.Get(ctx, k)
	if errors.Is(err, store.ErrNotFound) {
		return r, appmesh.NotFound("%s is missing", describeKey(k))
	}
	return r, err
}

// routeProtocol is the listener protocol a route type serves.
func gatewayRouteType(s *appmesh.GatewayRouteSpec) (protocol, field string, port *int64, target *appmesh.GatewayRouteTarget) {
	switch {
	case s.HttpRoute != nil:
		return "http", "httpRoute", s.HttpRoute.Match.Port, s.HttpRoute.Action.Target
	case s.Http2Route != nil:
		return "http2", "http2Route", s.Http2Route.Match.Port, s.Http2Route.Action.Target
	default:
		return "grpc", "grpcRoute", s.GrpcRoute.Match.Port, s.GrpcRoute.Action.Target
	}
}

// checkGatewayRoute: the gateway's listeners accept the route, the target
// virtual service exists, and its provider has the target port.
func (s *Service) checkGatewayRoute(key store.Key, spec *appmesh.GatewayRouteSpec) checkFunc {
	return func(ctx context.Context, tx store.Tx) ([]store.Key, error) {
		gw, err := s.get(ctx, tx, store.Key{Kind: store.KindVirtualGateway, Mesh: key.Mesh, Name: key.Parent})
		if err != nil {
			return nil, err
		}
		gls, err := listenersOf(gw)
		if err != nil {
			return nil, err
		}
		protocol, field, port, target := gatewayRouteType(spec)
		if err := matchListener("virtual gateway "+key.Parent, gls, port, protocol, "spec."+field, "spec."+field+".match.port"); err != nil {
			return nil, err
		}
		vsKey := store.Key{Kind: store.KindVirtualService, Mesh: key.Mesh, Name: *target.VirtualService.VirtualServiceName}
		vs, err := s.referenced(ctx, tx, vsKey)
		if err != nil {
			return nil, err
		}
		pls, provider, err := s.providerListeners(ctx, tx, vs)
		if err != nil {
			return nil, err
		}
		if provider != "" {
			if err := targetPort(provider, pls, target.Port, "spec."+field+".action.target.port"); err != nil {
				return nil, err
			}
		}
		return []store.Key{vsKey}, nil
	}
}

// providerListeners returns the listeners of a virtual service's provider
// and names it; a service without provider has neither.
func (s *Service) providerListeners(ctx context.Context, tx store.Tx, vs store.Record) ([]listener, string, error) {
	spec, err := decodeSpec[appmesh.VirtualServiceSpec](vs)
	if err != nil || spec.Provider == nil {
		return nil, "", err
	}
	var k store.Key
	switch p := spec.Provider; {
	case p.VirtualNode != nil:
		k = store.Key{Kind: store.KindVirtualNode, Mesh: vs.Mesh, Name: *p.VirtualNode.VirtualNodeName}
	case p.VirtualRouter != nil:
		k = store.Key{Kind: store.KindVirtualRouter, Mesh: vs.Mesh, Name: *p.VirtualRouter.VirtualRouterName}
	default:
		return nil, "", nil
	}
	r, err := s.referenced(ctx, tx, k)
	if err != nil {
		return nil, "", err
	}
	ls, err := listenersOf(r)
	return ls, fmt.Sprintf("%s %s (provider of virtual service %s)", kindTitle(k.Kind), k.Name, vs.Name), err
}

// routeType is the protocol, spec member, match port and weighted targets
// of a router route.
func routeType(s *appmesh.RouteSpec) (protocol, field string, port *int64, targets []appmesh.WeightedTarget) {
	switch {
	case s.HttpRoute != nil:
		return "http", "httpRoute", s.HttpRoute.Match.Port, s.HttpRoute.Action.WeightedTargets
	case s.Http2Route != nil:
		return "http2", "http2Route", s.Http2Route.Match.Port, s.Http2Route.Action.WeightedTargets
	case s.GrpcRoute != nil:
		var p *int64
		if s.GrpcRoute.Match != nil {
			p = s.GrpcRoute.Match.Port
		}
		return "grpc", "grpcRoute", p, s.GrpcRoute.Action.WeightedTargets
	default:
		var p *int64
		if s.TcpRoute.Match != nil {
			p = s.TcpRoute.Match.Port
		}
		return "tcp", "tcpRoute", p, s.TcpRoute.Action.WeightedTargets
	}
}

// checkRoute: the router's listeners accept the route and every weighted
// target is an existing node with the target port.
func (s *Service) checkRoute(key store.Key, spec *appmesh.RouteSpec) checkFunc {
	return func(ctx context.Context, tx store.Tx) ([]store.Key, error) {
		vr, err := s.get(ctx, tx, store.Key{Kind: store.KindVirtualRouter, Mesh: key.Mesh, Name: key.Parent})
		if err != nil {
			return nil, err
		}
		rls, err := listenersOf(vr)
		if err != nil {
			return nil, err
		}
		protocol, field, port, targets := routeType(spec)
		if err := matchListener("virtual router "+key.Parent, rls, port, protocol, "spec."+field, "spec."+field+".match.port"); err != nil {
			return nil, err
		}
		var refs []store.Key
		for i, t := range targets {
			nk := store.Key{Kind: store.KindVirtualNode, Mesh: key.Mesh, Name: *t.VirtualNode}
			node, err := s.referenced(ctx, tx, nk)
			if err != nil {
				return nil, err
			}
			nls, err := listenersOf(node)
			if err != nil {
				return nil, err
			}
			f := fmt.Sprintf("spec.%s.action.weightedTargets[%d].port", field, i)
			if err := targetPort("virtual node "+nk.Name, nls, t.Port, f); err != nil {
				return nil, err
			}
			// The route type must match the target listener's protocol too
			// (UG:routes).
			for _, l := range nls {
				if (t.Port == nil || l.port == *t.Port) && l.protocol != protocol {
					return nil, appmesh.BadRequest("spec.%s does not match the protocol %s of the listener on port %d of virtual node %s",
						field, l.protocol, l.port, nk.Name)
				}
			}
			if !slices.Contains(refs, nk) {
				refs = append(refs, nk)
			}
		}
		return refs, nil
	}
}

// checkVirtualService: the provider exists.
func (s *Service) checkVirtualService(key store.Key, spec *appmesh.VirtualServiceSpec) checkFunc {
	return func(ctx context.Context, tx store.Tx) ([]store.Key, error) {
		p := spec.Provider
		if p == nil {
			return nil, nil
		}
		k := store.Key{Mesh: key.Mesh}
		if p.VirtualNode != nil {
			k.Kind, k.Name = store.KindVirtualNode, *p.VirtualNode.VirtualNodeName
		} else {
			k.Kind, k.Name = store.KindVirtualRouter, *p.VirtualRouter.VirtualRouterName
		}
		if _, err := s.referenced(ctx, tx, k); err != nil {
			return nil, err
		}
		return []store.Key{k}, nil
	}
}

// checkVirtualNode: the backends quota.
func (s *Service) checkVirtualNode(spec *appmesh.VirtualNodeSpec) checkFunc {
	return func(ctx context.Context, tx store.Tx) ([]store.Key, error) {
		if n := len(spec.Backends); n > s.cfg.Quotas.BackendsPerVirtualNode {
			return nil, appmesh.LimitExceeded("spec.backends has %d backends; the limit is %d per virtual node", n, s.cfg.Quotas.BackendsPerVirtualNode)
		}
		return nil, nil
	}
}

// recheckDependants runs again the stateful rules of every route and
// gateway route that depends on key, after key was updated in tx: a gateway
// or router whose listeners changed, a node whose listeners changed under a
// route or a gateway route's target port, a virtual service whose provider
// changed. App Mesh refused such updates for routers ("All Routes for this
// Virtual Router ..."); meshgate refuses them everywhere, so what is stored
// always translates.
func (s *Service) recheckDependants(ctx context.Context, tx store.Tx, key store.Key) error {
	deps, err := s.dependants(ctx, tx, key)
	if err != nil {
		return err
	}
	for _, d := range deps {
		var check checkFunc
		switch d.Kind {
		case store.KindGatewayRoute:
			spec, err := decodeSpec[appmesh.GatewayRouteSpec](d)
			if err != nil {
				return err
			}
			check = s.checkGatewayRoute(d.Key, spec)
		case store.KindRoute:
			spec, err := decodeSpec[appmesh.RouteSpec](d)
			if err != nil {
				return err
			}
			check = s.checkRoute(d.Key, spec)
		default:
			continue
		}
		if _, err := check(ctx, tx); err != nil {
			var ae *appmesh.Error
			if errors.As(err, &ae) {
				return appmesh.BadRequest("this update would break %s: %s", describeKey(d.Key), ae.Message)
			}
			return err
		}
	}
	return nil
}

// dependants are the routes and gateway routes whose rules look at key.
func (s *Service) dependants(ctx context.Context, tx store.Tx, key store.Key) ([]store.Record, error) {
	var keys []store.Key
	switch key.Kind {
	case store.KindVirtualGateway, store.KindVirtualRouter:
		child := store.KindGatewayRoute
		if key.Kind == store.KindVirtualRouter {
			child = store.KindRoute
		}
		after := ""
		for {
			page, err := tx.List(ctx, child, key.Mesh, key.Name, after, 100)
			if err != nil {
				return nil, err
			}
			for _, r := range page {
				keys = append(keys, r.Key)
			}
			if len(page) < 100 {
				break
			}
			after = page[len(page)-1].Name
		}
	}
	if key.Kind != store.KindVirtualGateway {
		refs, err := tx.Referrers(ctx, key)
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			switch r.Kind {
			case store.KindRoute, store.KindGatewayRoute:
				keys = append(keys, r)
			case store.KindVirtualService:
				// Gateway routes reach a node or router through the service it provides.
				grs, err := tx.Referrers(ctx, r)
				if err != nil {
					return nil, err
				}
				keys = append(keys, grs...)
			}
		}
	}
	out := make([]store.Record, 0, len(keys))
	for _, k := range keys {
		r, err := tx.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// specListeners returns the listeners of a gateway, router or node spec.
func specListeners(spec any) []listener {
	var out []listener
	switch s := spec.(type) {
	case *appmesh.VirtualGatewaySpec:
		for _, l := range s.Listeners {
			out = append(out, listener{*l.PortMapping.Port, *l.PortMapping.Protocol})
		}
	case *appmesh.VirtualRouterSpec:
		for _, l := range s.Listeners {
			out = append(out, listener{*l.PortMapping.Port, *l.PortMapping.Protocol})
		}
	case *appmesh.VirtualNodeSpec:
		for _, l := range s.Listeners {
			out = append(out, listener{*l.PortMapping.Port, *l.PortMapping.Protocol})
		}
	}
	return out
}
