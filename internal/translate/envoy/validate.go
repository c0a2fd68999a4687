package envoy

import (
	"errors"
	"fmt"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// Validate checks what Envoy checks before it accepts a configuration:
// every resource and every typed config packed inside it passes its
// ValidateAll (protoc-gen-validate rules; ValidateAll alone does not look
// inside Any), names are unique per type, and every name a resource refers
// to exists: RDS names, route clusters, and the loopback address of every
// static cluster, which must be one of the listeners.
func Validate(res *Resources) error { return validate(res, true) }

// validate is Validate; with deep false it trusts the typed configs inside
// Anys, which marshalAny validated when it packed them (walking every
// message for Anys by reflection costs more than the rest of Translate).
func validate(res *Resources, deep bool) error {
	var errs []error
	for _, kind := range []struct {
		name string
		rs   []types.Resource
	}{{"listener", res.Listeners}, {"route configuration", res.Routes}, {"cluster", res.Clusters}, {"endpoint", res.Endpoints}, {"secret", res.Secrets}} {
		seen := map[string]bool{}
		for _, r := range kind.rs {
			n := ResourceName(r)
			if n == "" || seen[n] {
				errs = append(errs, fmt.Errorf("%s %q: missing or repeated name", kind.name, n))
			}
			seen[n] = true
			check := ValidateDeep
			if !deep {
				check = validateAll
			}
			if err := check(r); err != nil {
				errs = append(errs, fmt.Errorf("%s %q: %w", kind.name, n, err))
			}
		}
	}
	if err := checkReferences(res); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func validateAll(m proto.Message) error {
	if v, ok := m.(interface{ ValidateAll() error }); ok {
		return v.ValidateAll()
	}
	return nil
}

// ValidateDeep runs ValidateAll on m and on every message packed in an Any
// anywhere inside it.
func ValidateDeep(m proto.Message) error {
	if v, ok := m.(interface{ ValidateAll() error }); ok {
		if err := v.ValidateAll(); err != nil {
			return err
		}
	}
	return eachAny(m.ProtoReflect(), func(a *anypb.Any) error {
		inner, err := a.UnmarshalNew()
		if err != nil {
			return fmt.Errorf("%s: %w", a.GetTypeUrl(), err)
		}
		if err := ValidateDeep(inner); err != nil {
			return fmt.Errorf("%s: %w", a.GetTypeUrl(), err)
		}
		return nil
	})
}

// eachAny calls f for every Any directly or indirectly in m (not inside
// other Anys: f recurses itself).
func eachAny(m protoreflect.Message, f func(*anypb.Any) error) error {
	if a, ok := m.Interface().(*anypb.Any); ok {
		return f(a)
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len() && err == nil; i++ {
				err = eachAny(l.Get(i).Message(), f)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				err = eachAny(mv.Message(), f)
				return err == nil
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			err = eachAny(v.Message(), f)
		}
		return err == nil
	})
	return err
}

func checkReferences(res *Resources) error {
	routes := map[string]*route.RouteConfiguration{}
	for _, r := range res.Routes {
		if rc, ok := r.(*route.RouteConfiguration); ok {
			routes[rc.GetName()] = rc
		}
	}
	clusters := map[string]*cluster.Cluster{}
	for _, r := range res.Clusters {
		if c, ok := r.(*cluster.Cluster); ok {
			clusters[c.GetName()] = c
		}
	}
	endpoints := map[string]bool{}
	for _, r := range res.Endpoints {
		endpoints[ResourceName(r)] = true
	}
	loopback := map[uint32]bool{}
	var errs []error
	for _, r := range res.Listeners {
		l, ok := r.(*listener.Listener)
		if !ok {
			continue
		}
		if sa := l.GetAddress().GetSocketAddress(); sa.GetAddress() == "127.0.0.1" {
			loopback[sa.GetPortValue()] = true
		}
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				m := &hcm.HttpConnectionManager{}
				if f.GetTypedConfig() == nil || f.GetTypedConfig().UnmarshalTo(m) != nil {
					continue
				}
				if name := m.GetRds().GetRouteConfigName(); routes[name] == nil {
					errs = append(errs, fmt.Errorf("listener %s: route configuration %q does not exist", l.GetName(), name))
				}
			}
		}
	}
	for _, rc := range routes {
		for _, vh := range rc.GetVirtualHosts() {
			for _, rt := range vh.GetRoutes() {
				for _, c := range RouteClusters(rt) {
					if clusters[c] == nil {
						errs = append(errs, fmt.Errorf("route configuration %s, virtual host %s: cluster %q does not exist", rc.GetName(), vh.GetName(), c))
					}
				}
			}
		}
	}
	for _, c := range clusters {
		switch c.GetType() {
		case cluster.Cluster_EDS:
			if !endpoints[c.GetName()] {
				errs = append(errs, fmt.Errorf("cluster %s: no endpoints resource", c.GetName()))
			}
		case cluster.Cluster_STATIC:
			for _, lep := range c.GetLoadAssignment().GetEndpoints() {
				for _, ep := range lep.GetLbEndpoints() {
					sa := ep.GetEndpoint().GetAddress().GetSocketAddress()
					if sa.GetAddress() == "127.0.0.1" && !loopback[sa.GetPortValue()] {
						errs = append(errs, fmt.Errorf("cluster %s: no listener on 127.0.0.1:%d", c.GetName(), sa.GetPortValue()))
					}
				}
			}
		}
	}
	return errors.Join(errs...)
}

// RouteClusters are the clusters a route can send to.
func RouteClusters(rt *route.Route) []string {
	a := rt.GetRoute()
	if a == nil {
		return nil
	}
	if c := a.GetCluster(); c != "" {
		return []string{c}
	}
	var out []string
	for _, w := range a.GetWeightedClusters().GetClusters() {
		out = append(out, w.GetName())
	}
	return out
}
