package metrics

import "github.com/meshgate/meshgate/internal/ir"

// NamesOf lists a gateway configuration's label values, for Prune.
func NamesOf(g *ir.Gateway) Names {
	var n Names
	if g == nil {
		return n
	}
	seen := map[string]bool{}
	for _, l := range g.Listeners {
		n.Listeners = append(n.Listeners, l.Port)
		for _, vh := range l.VirtualHosts {
			for _, r := range vh.Routes {
				if !seen[r.Name] { // a route can serve several hosts
					seen[r.Name] = true
					n.Routes = append(n.Routes, r.Name)
				}
			}
		}
	}
	for _, c := range g.Clusters {
		n.Clusters = append(n.Clusters, c.Name)
	}
	return n
}
