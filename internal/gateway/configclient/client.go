// Package configclient keeps a gateway's configuration current: it
// subscribes over ADS to the meshgate.v1.GatewayConfig resource of one
// virtual gateway, hands each new version to the gateway, and ACKs what
// applied or NACKs with the reason. While no server answers, the gateway
// keeps its last good configuration; reconnects back off with jitter and
// rotate through the endpoints given. The last good configuration can be
// kept on disk so a restart during a control-plane outage serves at once.
package configclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/xds/gwconfig"
)

// Applier applies a configuration, given decoded and as the JSON it was
// decoded from (ir.Gateway.JSON's, from the server that encoded it); an
// error refuses it (NACK).
type Applier func(cfg *ir.Gateway, raw []byte, version string) error

// Options configure a Client.
type Options struct {
	// Endpoints are xDS servers, tried in turn.
	Endpoints []Endpoint
	// NodeID is the gateway's ARN as given (APPMESH_RESOURCE_ARN); the
	// subscribed resource is its short form.
	NodeID   string
	Cluster  string // node.cluster (APPMESH_RESOURCE_CLUSTER); default NodeID
	Resource string // short ARN: mesh/M/virtualGateway/G
	// CacheFile, when set, keeps the last good configuration on disk.
	CacheFile string
	Logger    *slog.Logger
	// Backoff bounds between reconnects (defaults 250ms and 15s).
	MinBackoff, MaxBackoff time.Duration
}

// Client is the configuration subscriber.
type Client struct {
	opts  Options
	apply Applier
	log   *slog.Logger
	st    statusTracker
}

// New returns a client that applies configurations through apply.
func New(opts Options, apply Applier) (*Client, error) {
	if len(opts.Endpoints) == 0 {
		return nil, errors.New("configclient: no xDS endpoint")
	}
	if opts.Resource == "" {
		return nil, errors.New("configclient: no resource name")
	}
	if opts.Cluster == "" {
		opts.Cluster = opts.NodeID
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 250 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 15 * time.Second
	}
	return &Client{opts: opts, apply: apply, log: opts.Logger}, nil
}

// LoadCache applies the configuration kept on disk, if any; it returns
// whether one was applied.
func (c *Client) LoadCache() bool {
	if c.opts.CacheFile == "" {
		return false
	}
	cfg, raw, version, err := readCache(c.opts.CacheFile)
	if err != nil {
		if !errors.Is(err, errNoCache) {
			c.log.Warn("ignoring the cached gateway configuration", "file", c.opts.CacheFile, "err", err)
		}
		return false
	}
	if err := c.apply(cfg, raw, version); err != nil {
		c.log.Warn("the cached gateway configuration does not apply", "file", c.opts.CacheFile, "err", err)
		return false
	}
	c.st.setApplied(version)
	c.log.Info("serving the cached gateway configuration until the control plane answers", "version", version)
	return true
}

// Run subscribes until ctx ends, reconnecting as needed.
func (c *Client) Run(ctx context.Context) {
	delay := c.opts.MinBackoff
	for i := 0; ctx.Err() == nil; i++ {
		ep := c.opts.Endpoints[i%len(c.opts.Endpoints)]
		start := time.Now()
		err := c.session(ctx, ep)
		if ctx.Err() != nil {
			return
		}
		c.st.setConnected("")
		if time.Since(start) > 30*time.Second {
			delay = c.opts.MinBackoff // it was a healthy session; start over
		}
		wait := delay/2 + rand.N(delay/2+1)
		c.log.Warn("xDS stream ended; keeping the last good configuration", "endpoint", ep.String(), "err", err, "retry_in", wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		delay = min(delay*2, c.opts.MaxBackoff)
	}
}

// session runs one ADS stream until it fails.
func (c *Client) session(ctx context.Context, ep Endpoint) error {
	conn, err := ep.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx, grpc.WaitForReady(false))
	if err != nil {
		return err
	}
	node := &core.Node{Id: c.opts.NodeID, Cluster: c.opts.Cluster, UserAgentName: "meshgate-gateway"}
	req := &discovery.DiscoveryRequest{Node: node, TypeUrl: gwconfig.Type, ResourceNames: []string{c.opts.Resource},
		VersionInfo: c.st.applied()}
	if err := stream.Send(req); err != nil {
		return err
	}
	c.st.setConnected(ep.String())
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			return errors.New("server closed the stream")
		}
		if err != nil {
			if s, ok := grpcstatus.FromError(err); ok && s.Code() == codes.InvalidArgument {
				c.log.Error("the control plane refused this gateway", "resource", c.opts.Resource, "err", s.Message())
			}
			return err
		}
		ack := &discovery.DiscoveryRequest{TypeUrl: gwconfig.Type, ResourceNames: []string{c.opts.Resource},
			ResponseNonce: resp.GetNonce()}
		version, applyErr := c.handle(resp)
		if applyErr != nil {
			ack.VersionInfo = c.st.applied()
			ack.ErrorDetail = &status.Status{Code: int32(codes.InvalidArgument), Message: applyErr.Error()}
			c.st.setRejected(resp.GetVersionInfo(), applyErr)
			c.log.Error("gateway configuration rejected (NACK); serving the last good one", "version", resp.GetVersionInfo(), "err", applyErr)
		} else {
			ack.VersionInfo = resp.GetVersionInfo()
			c.st.setApplied(version)
		}
		if err := stream.Send(ack); err != nil {
			return err
		}
	}
}

// handle applies the resource of a response, or explains why not.
func (c *Client) handle(resp *discovery.DiscoveryResponse) (string, error) {
	if len(resp.GetResources()) != 1 {
		return "", fmt.Errorf("response holds %d gateway configurations, want 1", len(resp.GetResources()))
	}
	cfg, raw, version, err := gwconfig.DecodeJSON(resp.GetResources()[0])
	if err != nil {
		return "", err
	}
	if version == c.st.applied() {
		return version, nil // an equivalent push: nothing to do
	}
	if err := c.apply(cfg, raw, version); err != nil {
		return "", err
	}
	if c.opts.CacheFile != "" {
		if err := writeCache(c.opts.CacheFile, raw, version); err != nil {
			c.log.Warn("could not keep the configuration on disk", "file", c.opts.CacheFile, "err", err)
		}
	}
	return version, nil
}

// Status is what the client knows, for the admin endpoints.
func (c *Client) Status() Status { return c.st.get() }
