package ir

import "slices"

// Compact makes g cheaper to keep, for a process that holds it for long
// (the gateway): the gateway routes' equal strings share one copy (a
// service's name, a host or prefix rewrite, a method repeat from route to
// route), and each virtual host's routes are a slice of their own length.
// Decoding JSON allocates every string on its own and grows a slice to up
// to twice its length: with 10,000 routes that was most of a gateway's
// live heap, which the collector marks on every cycle. What g says does
// not change.
func (g *Gateway) Compact() {
	in := interner{strs: map[string]string{}, ptrs: map[string]*string{}}
	for i := range g.Listeners {
		for j := range g.Listeners[i].VirtualHosts {
			vh := &g.Listeners[i].VirtualHosts[j]
			vh.Routes = slices.Clone(vh.Routes)
			for k := range vh.Routes {
				in.route(&vh.Routes[k])
			}
		}
	}
}

type interner struct {
	strs map[string]string
	ptrs map[string]*string
}

func (in *interner) str(s *string) {
	if *s == "" {
		return
	}
	if v, ok := in.strs[*s]; ok {
		*s = v
		return
	}
	in.strs[*s] = *s
}

func (in *interner) ptr(p **string) {
	if *p == nil {
		return
	}
	if v, ok := in.ptrs[**p]; ok {
		*p = v
		return
	}
	in.str(*p)
	in.ptrs[**p] = *p
}

func (in *interner) route(r *GatewayRoute) {
	m, a := &r.Match, &r.Action
	for _, s := range []*string{&m.Prefix, &m.Path, &m.PathRegex, &m.Method, &m.Scheme,
		&a.Service, &a.HostRewrite, &a.PathRewrite} {
		in.str(s)
	}
	in.ptr(&a.PrefixRewrite)
	for i := range m.Headers {
		h := &m.Headers[i]
		in.str(&h.Name)
		for _, p := range []**string{&h.Exact, &h.Prefix, &h.Suffix, &h.Regex} {
			in.ptr(p)
		}
	}
	for i := range m.Query {
		in.str(&m.Query[i].Name)
		in.ptr(&m.Query[i].Exact)
	}
}
