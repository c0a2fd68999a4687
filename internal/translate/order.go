package translate

import (
	"cmp"
	"slices"

	"github.com/meshgate/meshgate/internal/ir"
)

// unprioritised is the rank of a route without priority: after every
// prioritised one (App Mesh: "think of its priority as 1000 + 1").
const unprioritised = 1001

// ordered is a route with what decides its place.
type ordered[T any] struct {
	priority int64
	name     string
	match    ir.Match
	route    T
}

// sortRoutes puts routes in App Mesh's evaluation order: explicit priority
// first (0 is highest), then, for equal priority, the most specific path:
// an exact path, then prefixes longest first (App Mesh's rule), then
// regular expressions, then catch-alls (prefix "/" or no path criterion),
// so a catch-all never shadows a narrower route. For equal paths the route
// with more header, query, method and scheme conditions goes first, so it
// is not shadowed by a plainer twin; last, by name, so the order is the
// same on every replica.
func sortRoutes[T any](rs []ordered[T]) []T {
	slices.SortStableFunc(rs, func(a, b ordered[T]) int {
		return cmp.Or(
			cmp.Compare(a.priority, b.priority),
			cmp.Compare(pathRank(a.match), pathRank(b.match)),
			cmp.Compare(len(b.match.Prefix), len(a.match.Prefix)),
			cmp.Compare(conditions(b.match), conditions(a.match)),
			cmp.Compare(a.name, b.name),
		)
	})
	out := make([]T, len(rs))
	for i, r := range rs {
		out[i] = r.route
	}
	return out
}

func pathRank(m ir.Match) int {
	switch {
	case m.Path != "":
		return 0
	case len(m.Prefix) > 1:
		return 1
	case m.PathRegex != "":
		return 2
	default:
		return 3
	}
}

func conditions(m ir.Match) int {
	n := len(m.Headers) + len(m.Query)
	if m.Method != "" {
		n++
	}
	if m.Scheme != "" {
		n++
	}
	return n
}
