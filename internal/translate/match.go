package translate

import (
	"strings"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/ir"
)

// headerMatch converts a header or metadata match. The API has three
// identical shapes for it (gateway-route headers, route headers, and the
// two gRPC metadata ones); they all convert to HeaderMatchMethod.
func headerMatch(name *string, invert *bool, m *appmesh.HeaderMatchMethod) ir.HeaderMatch {
	h := ir.HeaderMatch{Name: strings.ToLower(deref(name)), Invert: deref(invert)}
	if m == nil {
		return h // presence
	}
	h.Exact, h.Prefix, h.Suffix, h.Regex = m.Exact, m.Prefix, m.Suffix, m.Regex
	if m.Range != nil {
		h.Range = &ir.Range{Start: deref(m.Range.Start), End: deref(m.Range.End)}
	}
	return h
}

func queryMatches(qs []appmesh.HttpQueryParameter) []ir.QueryMatch {
	var out []ir.QueryMatch
	for _, q := range qs {
		m := ir.QueryMatch{Name: deref(q.Name)}
		if q.Match != nil {
			m.Exact = q.Match.Exact
		}
		out = append(out, m)
	}
	return out
}

// pathMatch fills the path criteria of an HTTP match.
func pathMatch(m *ir.Match, prefix *string, path *appmesh.HttpPathMatch) {
	m.Prefix = deref(prefix)
	if path != nil {
		m.Path, m.PathRegex = deref(path.Exact), deref(path.Regex)
	}
}

// grpcPath matches a gRPC service (and method): their requests have the
// path /<service>/<method>.
func grpcPath(m *ir.Match, service, method *string) {
	switch {
	case service != nil && method != nil:
		m.Path = "/" + *service + "/" + *method
	case service != nil:
		m.Prefix = "/" + *service + "/"
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
