package envoy

import (
	"fmt"

	accesslog "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	mutation "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	headermutation "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/header_mutation/v3"
	router "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	upstreamcodec "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/upstream_codec/v3"
	tlsinspector "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/tls_inspector/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"github.com/meshgate/meshgate/internal/ir"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Filter chain names, also read by the evaluator.
const (
	chainTLS       = "tls"
	chainPlaintext = "plaintext"
)

// ingressListener is one gateway listener on 0.0.0.0:<port>.
func (t *translator) ingressListener(l ir.Listener) (*listener.Listener, error) {
	logs, err := t.accessLogs()
	if err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	m, err := t.connectionManager(connManager{
		statPrefix: t.names.ingressStatPrefix(l),
		routes:     t.names.ingressRoutes(l),
		protocol:   l.Protocol,
		logs:       logs,
		// The gateway is the edge: it sets X-Forwarded-For/-Proto from the
		// connection and drops x-envoy-* headers from outside.
		edge: true,
	})
	if err != nil {
		return nil, err
	}
	plain := &listener.FilterChain{Name: chainPlaintext, Filters: []*listener.Filter{m}}
	lis := &listener.Listener{
		Name:             t.names.ingressListener(l.Port),
		Address:          socketAddress("0.0.0.0", l.Port),
		TrafficDirection: core.TrafficDirection_INBOUND,
	}
	mode := ir.TLSDisabled
	if l.TLS != nil {
		mode = l.TLS.Mode
	}
	switch mode {
	case ir.TLSDisabled:
		lis.FilterChains = []*listener.FilterChain{plain}
	case ir.TLSStrict, ir.TLSPermissive:
		ts, err := t.downstreamTLS(l)
		if err != nil {
			return nil, fmt.Errorf("TLS: %w", err)
		}
		secure := &listener.FilterChain{Name: chainTLS, Filters: []*listener.Filter{m}, TransportSocket: ts}
		if mode == ir.TLSStrict {
			lis.FilterChains = []*listener.FilterChain{secure}
			break
		}
		// PERMISSIVE: the TLS inspector tells a TLS handshake from
		// plaintext, and each goes to its own chain on the one port.
		secure.FilterChainMatch = &listener.FilterChainMatch{TransportProtocol: "tls"}
		plain.FilterChainMatch = &listener.FilterChainMatch{TransportProtocol: "raw_buffer"}
		inspector, err := marshalAny(&tlsinspector.TlsInspector{})
		if err != nil {
			return nil, err
		}
		lis.ListenerFilters = []*listener.ListenerFilter{{
			Name:       "envoy.filters.listener.tls_inspector",
			ConfigType: &listener.ListenerFilter_TypedConfig{TypedConfig: inspector},
		}}
		lis.FilterChains = []*listener.FilterChain{secure, plain}
	default:
		return nil, fmt.Errorf("unknown TLS mode %q", mode)
	}
	return lis, nil
}

// egressListener is the router stage: the self-redirect clusters loop
// gateway traffic back into it on 127.0.0.1:<EgressPort>.
func (t *translator) egressListener() (*listener.Listener, error) {
	// The egress route restores Host from hostHeader, which the router
	// reads only after every route-level header mutation has run; so the
	// header is removed later, by an upstream filter, once the request is
	// on its way to the node.
	strip, err := marshalAny(&headermutation.HeaderMutation{Mutations: &headermutation.Mutations{
		RequestMutations: []*mutation.HeaderMutation{{Action: &mutation.HeaderMutation_Remove{Remove: hostHeader}}},
	}})
	if err != nil {
		return nil, err
	}
	codec, err := marshalAny(&upstreamcodec.UpstreamCodec{})
	if err != nil {
		return nil, err
	}
	m, err := t.connectionManager(connManager{
		statPrefix: "egress",
		routes:     t.names.egressRoutes(),
		// The hop is HTTP/1.1 from http listeners and HTTP/2 from http2 and
		// grpc ones: AUTO takes both.
		protocol: ir.HTTP,
		upstreamFilters: []*hcm.HttpFilter{
			{Name: "envoy.filters.http.header_mutation", ConfigType: &hcm.HttpFilter_TypedConfig{TypedConfig: strip}},
			{Name: "envoy.filters.http.upstream_codec", ConfigType: &hcm.HttpFilter_TypedConfig{TypedConfig: codec}},
		},
	})
	if err != nil {
		return nil, err
	}
	return &listener.Listener{
		Name:             t.names.egressListener(),
		Address:          socketAddress("127.0.0.1", t.o.EgressPort),
		TrafficDirection: core.TrafficDirection_OUTBOUND,
		FilterChains:     []*listener.FilterChain{{Name: chainPlaintext, Filters: []*listener.Filter{m}}},
	}, nil
}

type connManager struct {
	statPrefix      string
	routes          string // RDS name
	protocol        ir.Protocol
	logs            []*accesslog.AccessLog
	edge            bool
	upstreamFilters []*hcm.HttpFilter
}

// connectionManager is an HTTP connection manager fetching its routes
// over ADS.
func (t *translator) connectionManager(c connManager) (*listener.Filter, error) {
	r, err := marshalAny(&router.Router{UpstreamHttpFilters: c.upstreamFilters})
	if err != nil {
		return nil, err
	}
	m := &hcm.HttpConnectionManager{
		StatPrefix: c.statPrefix,
		CodecType:  hcm.HttpConnectionManager_AUTO,
		RouteSpecifier: &hcm.HttpConnectionManager_Rds{Rds: &hcm.Rds{
			ConfigSource:    adsSource(),
			RouteConfigName: c.routes,
		}},
		HttpFilters: []*hcm.HttpFilter{{Name: "envoy.filters.http.router", ConfigType: &hcm.HttpFilter_TypedConfig{TypedConfig: r}}},
		// App Mesh matched paths after RFC 3986 normalization with merged
		// slashes (UG:routes); "/a//b" and "/a/./b" route like "/a/b".
		NormalizePath:    wrapperspb.Bool(true),
		MergeSlashes:     true,
		UseRemoteAddress: wrapperspb.Bool(c.edge),
		AccessLog:        c.logs,
	}
	switch c.protocol {
	case ir.HTTP:
		// HTTP/1.1 (and h2c with prior knowledge); websockets upgrade on
		// http listeners only, as in App Mesh (RM#465).
		m.UpgradeConfigs = []*hcm.HttpConnectionManager_UpgradeConfig{{UpgradeType: "websocket"}}
	case ir.HTTP2, ir.GRPC:
		m.CodecType = hcm.HttpConnectionManager_HTTP2
	default:
		return nil, fmt.Errorf("listener protocol %q is not http, http2 or grpc", c.protocol)
	}
	a, err := marshalAny(m)
	if err != nil {
		return nil, err
	}
	return &listener.Filter{Name: "envoy.filters.network.http_connection_manager", ConfigType: &listener.Filter_TypedConfig{TypedConfig: a}}, nil
}

func socketAddress(ip string, port uint32) *core.Address {
	return &core.Address{Address: &core.Address_SocketAddress{SocketAddress: &core.SocketAddress{
		Address:       ip,
		PortSpecifier: &core.SocketAddress_PortValue{PortValue: port},
	}}}
}
