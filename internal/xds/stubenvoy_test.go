package xds

import (
	"cmp"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/meshgate/meshgate/internal/ir"
)

// stubEnvoy stands in for translate/envoy (written in parallel) in this
// package's tests: a small but valid mapping of the IR with the shape the
// real one has — one listener per gateway port with its routes over RDS,
// one EDS cluster per IR cluster — so that the ADS flow (CDS → EDS, LDS →
// RDS) is exercised end to end. fail, when set, makes it return an error;
// hold, when set, makes it wait until the channel closes.
type stubEnvoy struct {
	fail atomic.Bool
	hold atomic.Pointer[chan struct{}]
}

func (s *stubEnvoy) translate(g *ir.Gateway) (*EnvoyResources, error) {
	if s.fail.Load() {
		return nil, fmt.Errorf("stub: told to fail")
	}
	if h := s.hold.Load(); h != nil {
		<-*h
	}
	ads := &corev3.ConfigSource{ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
		ResourceApiVersion: corev3.ApiVersion_V3}
	r := &EnvoyResources{}
	services := map[string]ir.Service{}
	for _, sv := range g.Services {
		services[fmt.Sprintf("%s:%d", sv.Name, sv.Port)] = sv
	}
	for _, l := range g.Listeners {
		rdsName := fmt.Sprintf("rds_ingress_%s_%d", l.Protocol, l.Port)
		router, _ := anypb.New(&routerv3.Router{})
		hcm, err := anypb.New(&hcmv3.HttpConnectionManager{
			StatPrefix:     fmt.Sprintf("ingress_%d", l.Port),
			RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{ConfigSource: ads, RouteConfigName: rdsName}},
			HttpFilters: []*hcmv3.HttpFilter{{Name: "envoy.filters.http.router",
				ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: router}}},
		})
		if err != nil {
			return nil, err
		}
		r.Listeners = append(r.Listeners, &listenerv3.Listener{
			Name:    fmt.Sprintf("lds_ingress_0.0.0.0_%d", l.Port),
			Address: socket("0.0.0.0", l.Port),
			FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{{
				Name: "envoy.filters.network.http_connection_manager", ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: hcm},
			}}}},
		})
		rc := &routev3.RouteConfiguration{Name: rdsName}
		for _, vh := range l.VirtualHosts {
			v := &routev3.VirtualHost{Name: vh.Name, Domains: vh.Domains}
			for _, gr := range vh.Routes {
				v.Routes = append(v.Routes, stubRoute(gr, services[fmt.Sprintf("%s:%d", gr.Action.Service, gr.Action.Port)]))
			}
			rc.VirtualHosts = append(rc.VirtualHosts, v)
		}
		r.Routes = append(r.Routes, rc)
	}
	for _, c := range g.Clusters {
		r.Clusters = append(r.Clusters, &clusterv3.Cluster{
			Name:                 c.Name,
			ConnectTimeout:       durationpb.New(time.Second),
			ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
			EdsClusterConfig:     &clusterv3.Cluster_EdsClusterConfig{EdsConfig: ads},
		})
		r.Endpoints = append(r.Endpoints, &endpointv3.ClusterLoadAssignment{
			ClusterName: c.Name,
			Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: []*endpointv3.LbEndpoint{{
				HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
					Address: socket(c.Discovery.Hostname, c.Discovery.Port)}},
			}}}},
		})
	}
	for _, l := range [][]types.Resource{r.Listeners, r.Routes, r.Clusters, r.Endpoints} {
		slices.SortFunc(l, func(a, b types.Resource) int { return cmp.Compare(nameOf(a), nameOf(b)) })
	}
	return r, nil
}

func stubRoute(gr ir.GatewayRoute, sv ir.Service) *routev3.Route {
	m := &routev3.RouteMatch{}
	switch {
	case gr.Match.Path != "":
		m.PathSpecifier = &routev3.RouteMatch_Path{Path: gr.Match.Path}
	case gr.Match.PathRegex != "":
		m.PathSpecifier = &routev3.RouteMatch_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: gr.Match.PathRegex}}
	default:
		m.PathSpecifier = &routev3.RouteMatch_Prefix{Prefix: cmp.Or(gr.Match.Prefix, "/")}
	}
	route := &routev3.Route{Name: gr.Name, Match: m}
	var targets []ir.WeightedTarget
	if len(sv.Routes) > 0 {
		for _, t := range sv.Routes[0].Targets {
			if t.Weight > 0 {
				targets = append(targets, t)
			}
		}
	}
	switch len(targets) {
	case 0:
		route.Action = &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{Status: 503}}
	case 1:
		route.Action = &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: targets[0].Cluster}}}
	default:
		wc := &routev3.WeightedCluster{}
		for _, t := range targets {
			wc.Clusters = append(wc.Clusters, &routev3.WeightedCluster_ClusterWeight{Name: t.Cluster, Weight: wrapperspb.UInt32(t.Weight)})
		}
		route.Action = &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_WeightedClusters{WeightedClusters: wc}}}
	}
	return route
}

func nameOf(r types.Resource) string {
	if n, ok := r.(interface{ GetName() string }); ok {
		return n.GetName()
	}
	if cla, ok := r.(*endpointv3.ClusterLoadAssignment); ok {
		return cla.GetClusterName()
	}
	// A dynamic message (GatewayConfig) with a name field.
	if f := r.ProtoReflect().Descriptor().Fields().ByName("name"); f != nil {
		return r.ProtoReflect().Get(f).String()
	}
	return ""
}
