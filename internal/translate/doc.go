// Package translate turns a model snapshot of one virtual gateway into the
// IR, deciding App Mesh semantics once for every data plane: which
// listener and virtual host a gateway route belongs to, the order routes are
// tried in, the default rewrites, the router stage of each target virtual
// service, and the clusters with their discovery, health checks, outlier
// detection and TLS origination. Subpackages map the IR onto Envoy and onto
// the Go gateway.
package translate
