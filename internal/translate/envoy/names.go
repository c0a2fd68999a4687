package envoy

import (
	"fmt"
	"strconv"
	"strings"

	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/meshgate/meshgate/internal/ir"
)

// The names below follow what App Mesh's Envoy showed (reference §6.2), so
// stats such as cluster.cds_ingress_..._self_redirect_http_15001.* and
// http.ingress.* keep their names.

// hostHeader carries, across the loop back into the egress listener, the
// Host the upstream must finally see; the hop itself uses the internal
// authority "<service>:<port>" to pick the router stage. Clients cannot set
// it: the ingress route replaces it, the egress router strips it.
const hostHeader = "x-meshgate-host"

type names struct {
	mesh, gateway string
	egressPort    uint32
	several       bool // the gateway has more than one listener
}

func newNames(g *ir.Gateway, o Options) names {
	return names{mesh: g.Mesh, gateway: g.Name, egressPort: o.EgressPort, several: len(g.Listeners) > 1}
}

func (n names) ingressListener(port uint32) string {
	return fmt.Sprintf("lds_ingress_0.0.0.0_port_%d", port)
}

func (n names) ingressRoutes(l ir.Listener) string {
	return fmt.Sprintf("rds_ingress_%s_%d", l.Protocol, l.Port)
}

// ingressStatPrefix is "ingress" for a single listener and
// "ingress.<protocol>.<port>" for several, as App Mesh did.
func (n names) ingressStatPrefix(l ir.Listener) string {
	if n.several {
		return fmt.Sprintf("ingress.%s.%d", l.Protocol, l.Port)
	}
	return "ingress"
}

func (n names) selfRedirect(l ir.Listener) string {
	if n.several {
		return fmt.Sprintf("cds_ingress_%s_%s_self_redirect_%d_%s_%d", n.mesh, n.gateway, l.Port, l.Protocol, n.egressPort)
	}
	return fmt.Sprintf("cds_ingress_%s_%s_self_redirect_%s_%d", n.mesh, n.gateway, l.Protocol, n.egressPort)
}

func (n names) egressListener() string {
	return fmt.Sprintf("lds_egress_127.0.0.1_%d", n.egressPort)
}

func (n names) egressRoutes() string { return fmt.Sprintf("rds_egress_%d", n.egressPort) }

// internalAuthority is the authority of the hop into the egress listener:
// it names the (virtual service, port) whose router stage runs there.
// Names may hold any character but "/", while an authority takes few and
// Envoy matches domains case-insensitively; so every byte other than a
// lower-case letter, a digit, "-", ".", "_" or "~" is percent-encoded
// (lower-case hex). Usual names ("colorteller.default.svc.cluster.local")
// stay as they are, and distinct pairs keep distinct authorities.
func internalAuthority(service string, port uint32) string {
	p := ":" + strconv.FormatUint(uint64(port), 10)
	if strings.IndexFunc(service, func(r rune) bool { return !authoritySafe(r) }) < 0 {
		return service + p
	}
	var b strings.Builder
	for i := 0; i < len(service); i++ {
		if c := service[i]; authoritySafe(rune(c)) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	return b.String() + p
}

func authoritySafe(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// ResourceName is the xDS name of a resource: its name, or the cluster
// name of an endpoint assignment.
func ResourceName(r types.Resource) string {
	switch v := r.(type) {
	case *endpoint.ClusterLoadAssignment:
		return v.GetClusterName()
	case types.ResourceWithName:
		return v.GetName()
	}
	return ""
}
