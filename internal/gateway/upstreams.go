package gateway

import (
	"errors"
	"net/http"

	"github.com/meshgate/meshgate/internal/gateway/upstream"
	"github.com/meshgate/meshgate/internal/ir"
)

// Upstreams is the cluster manager the gateway forwards through.
type Upstreams interface {
	// Update replaces the set of clusters; unchanged clusters keep their
	// state. An error refuses the whole configuration.
	Update(clusters []ir.Cluster) error
	// Cluster returns the named cluster; one RoundTrip is one attempt.
	Cluster(name string) (http.RoundTripper, bool)
	Close()
}

type upstreamCluster = http.RoundTripper

// NewUpstreams returns the gateway's cluster manager (package upstream).
func NewUpstreams(opts upstream.Options) Upstreams { return managed{upstream.NewManager(opts)} }

type managed struct{ m *upstream.Manager }

func (u managed) Update(cs []ir.Cluster) error { u.m.Update(cs); return nil }
func (u managed) Close()                       { u.m.Close() }
func (u managed) Cluster(name string) (http.RoundTripper, bool) {
	c, ok := u.m.Cluster(name)
	if !ok {
		return nil, false
	}
	return c, true
}

var errNoHealthyUpstream = upstream.ErrNoHealthyUpstream

// isConnectFailure reports whether an attempt failed to connect (or to
// complete TLS) as opposed to failing after the request was sent.
func isConnectFailure(err error) bool { return errors.Is(err, upstream.ErrConnectionFailure) }
