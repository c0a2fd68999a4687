package gateway

import (
	"errors"
	"net"
	"net/http"

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

var errNoHealthyUpstream = errors.New("no healthy upstream")

// isConnectFailure reports whether an attempt failed to connect (as
// opposed to failing after the request was sent).
func isConnectFailure(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
