package xds

import (
	"cmp"
	"context"
	"fmt"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshgate/meshgate/internal/model"
	"github.com/meshgate/meshgate/internal/xds/gwconfig"
)

// callbacks connect go-control-plane's stream events to identity checks,
// the tracker and the metrics. They run synchronously on the stream's
// goroutine, so they do little and never block on the sync loop.
type callbacks struct{ s *Server }

var _ serverv3.Callbacks = callbacks{}

// OnStreamOpen records the stream with who its caller proved to be (the
// authentication interceptor put it in ctx); admit authorizes the node of
// its first request against it.
func (c callbacks) OnStreamOpen(ctx context.Context, id int64, typeURL string) error {
	c.s.tracker.open(streamKey{id: id}, connFrom(ctx), handleFrom(ctx), typeURL)
	c.s.tracker.setCaller(streamKey{id: id}, callerFrom(ctx))
	return nil
}

func (c callbacks) OnDeltaStreamOpen(ctx context.Context, id int64, typeURL string) error {
	c.s.tracker.open(streamKey{delta: true, id: id}, connFrom(ctx), handleFrom(ctx), typeURL)
	c.s.tracker.setCaller(streamKey{delta: true, id: id}, callerFrom(ctx))
	return nil
}

func (c callbacks) OnStreamClosed(id int64, _ *core.Node) { c.s.streamClosed(streamKey{id: id}) }

func (c callbacks) OnDeltaStreamClosed(id int64, _ *core.Node) {
	c.s.streamClosed(streamKey{delta: true, id: id})
}

func (c callbacks) OnStreamRequest(id int64, req *discovery.DiscoveryRequest) error {
	k := streamKey{id: id}
	// go-control-plane fills in the type of a per-type stream before this
	// call, and refuses an ADS request without one after it.
	if err := c.s.admit(k, req.GetNode(), req.GetTypeUrl(), req.GetResourceNames()); err != nil {
		return err
	}
	c.s.sotwRequest(k, req)
	return nil
}

func (c callbacks) OnStreamResponse(_ context.Context, id int64, req *discovery.DiscoveryRequest, resp *discovery.DiscoveryResponse) {
	c.s.sent(streamKey{id: id}, resp.GetTypeUrl(), resp.GetVersionInfo(), resp.GetNonce())
}

func (c callbacks) OnStreamDeltaRequest(id int64, req *discovery.DeltaDiscoveryRequest) error {
	k := streamKey{delta: true, id: id}
	typeURL := c.s.typeOf(k, req.GetTypeUrl())
	if err := c.s.admit(k, req.GetNode(), typeURL, req.GetResourceNamesSubscribe()); err != nil {
		return err
	}
	c.s.deltaRequest(k, typeURL, req)
	return nil
}

func (c callbacks) OnStreamDeltaResponse(id int64, req *discovery.DeltaDiscoveryRequest, resp *discovery.DeltaDiscoveryResponse) {
	k := streamKey{delta: true, id: id}
	typeURL := resp.GetTypeUrl()
	if typeURL == "" {
		typeURL = c.s.typeOf(k, req.GetTypeUrl())
	}
	c.s.sent(k, typeURL, resp.GetSystemVersionInfo(), resp.GetNonce())
}

// OnFetchRequest guards the unary Fetch* methods of the per-type services
// with the same identity and authorization checks as streams: every
// registered method is covered, not only the streaming ones.
func (c callbacks) OnFetchRequest(ctx context.Context, req *discovery.DiscoveryRequest) error {
	node := req.GetNode()
	if _, err := c.s.identify(ctx, callerFrom(ctx), node); err != nil {
		c.s.reject(callerFrom(ctx), node.GetId(), err)
		return err
	}
	return nil
}

func (c callbacks) OnFetchResponse(*discovery.DiscoveryRequest, *discovery.DiscoveryResponse) {}

// typeOf is a request's type URL: its own, or its per-type stream's.
func (s *Server) typeOf(k streamKey, typeURL string) string {
	if typeURL != "" {
		return typeURL
	}
	s.tracker.mu.Lock()
	defer s.tracker.mu.Unlock()
	if st := s.tracker.stream(k); st != nil {
		return st.defaultType
	}
	return ""
}

// admit checks a request before the cache sees it. The first request of a
// stream must carry the node; its id is pinned for the stream's life.
func (s *Server) admit(k streamKey, node *core.Node, typeURL string, names []string) error {
	s.tracker.mu.Lock()
	st := s.tracker.stream(k)
	var gateway, pinned string
	var who *caller
	if st != nil {
		who = st.caller
		if st.proxy != nil {
			gateway, pinned = st.proxy.gateway, st.proxy.key.node
		}
	}
	s.tracker.mu.Unlock()
	if st == nil {
		return status.Error(codes.Internal, "xds: request on an unknown stream")
	}

	if pinned != "" {
		if node != nil && node.GetId() != pinned {
			err := status.Errorf(codes.PermissionDenied, "node.id changed on the stream from %q to %q", pinned, node.GetId())
			s.reject(who, pinned, err)
			return err
		}
	} else {
		key, err := s.identify(s.baseCtx(), who, node)
		if err != nil {
			s.reject(who, node.GetId(), err)
			return err
		}
		gateway = key.String()
		ok, isNew := s.tracker.attach(k, node.GetId(), node.GetCluster(), gateway, s.cfg.MaxProxiesPerGateway)
		if !ok {
			err := status.Errorf(codes.ResourceExhausted, "too many proxies connected for %s: the limit is %d per virtual gateway",
				gateway, s.cfg.MaxProxiesPerGateway)
			s.reject(who, node.GetId(), err)
			return err
		}
		if isNew {
			s.m.proxies.WithLabelValues(gateway).Inc()
			s.log.Info("proxy connected", "node", node.GetId(), "cluster", node.GetCluster(), "gateway", gateway, "caller", who.String())
		}
	}

	if typeURL == gwconfig.Type {
		// The snapshot is per gateway, so a wildcard can only ever return
		// the proxy's own GatewayConfig; an explicit other name is refused
		// rather than silently answered with nothing.
		for _, n := range names {
			if n != gateway && n != "*" {
				err := status.Errorf(codes.PermissionDenied, "node of %s may only subscribe to its own gateway config %q, not %q", gateway, gateway, n)
				s.reject(who, cmp.Or(pinned, node.GetId()), err)
				return err
			}
		}
	}
	return nil
}

// identify maps a node to its gateway, which the caller must be allowed
// to stream (checked before existence, so that a caller learns nothing of
// gateways it may not be) and which must exist.
func (s *Server) identify(ctx context.Context, who *caller, node *core.Node) (key model.GatewayKey, err error) {
	if node == nil {
		return key, status.Error(codes.InvalidArgument, "the first request of a stream must carry the node (node.id = the virtual gateway's ARN)")
	}
	if key, err = s.checkNode(ctx, who, node); err != nil {
		return key, err
	}
	found, err := s.sync.exists(ctx, key)
	if err != nil {
		return key, status.Errorf(codes.Unavailable, "cannot look up %s: %v", key, err)
	}
	if !found {
		// App Mesh's EMS closed the stream with 3 when "the node's
		// resource was not found"; the proxy retries with backoff and gets
		// its config once the gateway exists.
		return key, statusNotFound(key, fmt.Sprintf("does not exist (node.id %q)", node.GetId()))
	}
	return key, nil
}

// reject logs and counts a refused stream or fetch.
func (s *Server) reject(who *caller, nodeID string, err error) {
	code := status.Code(err)
	s.m.rejected.WithLabelValues(code.String()).Inc()
	s.log.Warn("xds request refused", "node", nodeID, "code", fmt.Sprintf("%d %s", code, code), "error", status.Convert(err).Message(),
		"caller", who.String())
}

func (s *Server) streamClosed(k streamKey) {
	if p := s.tracker.close(k); p != nil {
		s.m.proxies.WithLabelValues(p.gateway).Dec()
		s.log.Info("proxy disconnected", "node", p.key.node, "gateway", p.gateway)
	}
}

// typeState returns (creating) a stream's state for a type. Callers hold
// the tracker lock.
func (st *streamState) typeState(typeURL string) *typeState {
	ts := st.types[typeURL]
	if ts == nil {
		ts = &typeState{}
		st.types[typeURL] = ts
	}
	return ts
}

// sent records a response about to go out.
func (s *Server) sent(k streamKey, typeURL, version, nonce string) {
	s.m.pushes.WithLabelValues(typeName(typeURL)).Inc()
	s.tracker.mu.Lock()
	defer s.tracker.mu.Unlock()
	if st := s.tracker.stream(k); st != nil {
		ts := st.typeState(typeURL)
		ts.sentVersion, ts.sentNonce, ts.sentAt = version, nonce, s.tracker.now()
	}
}

// sotwRequest records an ACK or NACK. On a NACK it rewrites the request's
// version_info to the rejected version: the cache answers a request whose
// version differs from the snapshot at once, which would send the rejected
// config straight back in a loop. Holding the version makes the proxy wait,
// on its last good config, for the next real change.
func (s *Server) sotwRequest(k streamKey, req *discovery.DiscoveryRequest) {
	s.tracker.mu.Lock()
	st := s.tracker.stream(k)
	if st == nil || st.proxy == nil {
		s.tracker.mu.Unlock()
		return
	}
	ts := st.typeState(req.GetTypeUrl())
	nonce := req.GetResponseNonce()
	var ack, nack bool
	switch {
	case nonce == "":
		// A proxy (re)connecting says what it already has.
		if req.GetVersionInfo() != "" {
			ts.ackedVersion, ts.ackedAt = req.GetVersionInfo(), s.tracker.now()
		}
	case nonce != ts.sentNonce:
		// Stale: go-control-plane ignores it as well.
	case req.GetErrorDetail() != nil:
		ts.nack = &nackInfo{Version: ts.sentVersion, Nonce: nonce, Error: req.GetErrorDetail().GetMessage(), At: s.tracker.now()}
		req.VersionInfo = ts.sentVersion
		nack = true
	case ts.nack != nil && ts.nack.Nonce == nonce:
		// Still answering the rejected response (new names, say).
		req.VersionInfo = ts.sentVersion
	default:
		ts.ackedVersion, ts.ackedAt = req.GetVersionInfo(), s.tracker.now()
		ack = true
	}
	node, gateway := st.proxy.key.node, st.proxy.gateway
	s.tracker.mu.Unlock()
	s.counted(node, gateway, req.GetTypeUrl(), ack, nack, req.GetVersionInfo(), nonce, req.GetErrorDetail().GetMessage())
}

// deltaRequest records an ACK or NACK on a delta stream. Delta needs no
// version rewrite: the server diffs against what it sent, so a NACK gets
// nothing until the config changes.
func (s *Server) deltaRequest(k streamKey, typeURL string, req *discovery.DeltaDiscoveryRequest) {
	s.tracker.mu.Lock()
	st := s.tracker.stream(k)
	if st == nil || st.proxy == nil {
		s.tracker.mu.Unlock()
		return
	}
	ts := st.typeState(typeURL)
	nonce := req.GetResponseNonce()
	var ack, nack bool
	version := ts.sentVersion
	switch {
	case nonce == "" || nonce != ts.sentNonce:
	case req.GetErrorDetail() != nil:
		ts.nack = &nackInfo{Version: ts.sentVersion, Nonce: nonce, Error: req.GetErrorDetail().GetMessage(), At: s.tracker.now()}
		nack = true
	default:
		ts.ackedVersion, ts.ackedAt = ts.sentVersion, s.tracker.now()
		ack = true
	}
	node, gateway := st.proxy.key.node, st.proxy.gateway
	s.tracker.mu.Unlock()
	s.counted(node, gateway, typeURL, ack, nack, version, nonce, req.GetErrorDetail().GetMessage())
}

func (s *Server) counted(node, gateway, typeURL string, ack, nack bool, version, nonce, msg string) {
	switch {
	case ack:
		s.m.acks.WithLabelValues(typeName(typeURL)).Inc()
		s.sync.acked()
	case nack:
		s.m.nacks.WithLabelValues(typeName(typeURL)).Inc()
		s.log.Warn("proxy rejected a configuration; it keeps its last good one", "node", node, "gateway", gateway,
			"type", typeURL, "version", version, "nonce", nonce, "error", msg)
		// A rejected step of a rollout will not be ACKed; let the sync
		// loop's grace period decide, but wake it to re-check now.
		s.sync.acked()
	}
}
