package router

import (
	"testing"
	"unsafe"
)

// TestIntern: interning keeps every value of every route, repeated and
// empty ones included, and leaves the strings in one allocation.
func TestIntern(t *testing.T) {
	routes := []gatewayRoute{
		{name: "a", m: matcher{prefix: "/a/"}, hostRewrite: "svc", prefixRewrite: "/", hasPrefixRewrite: true},
		{name: "b", m: matcher{prefix: "/b/"}, hostRewrite: "svc", prefixRewrite: "/", hasPrefixRewrite: true},
		{name: "c", m: matcher{path: "/c"}, pathRewrite: "/other"},
		{name: "d", m: matcher{path: "/c"}, hostRewrite: "svc"},
		{name: "", m: matcher{prefix: "/"}},
	}
	want := make([]gatewayRoute, len(routes))
	for i, r := range routes {
		// Copies that share nothing with routes' strings.
		want[i] = r
		for _, f := range []*string{&want[i].name, &want[i].m.prefix, &want[i].m.path, &want[i].hostRewrite, &want[i].pathRewrite, &want[i].prefixRewrite} {
			*f = string([]byte(*f))
		}
	}
	intern(routes)
	var lo, hi uintptr
	for i := range routes {
		if routes[i] != want[i] {
			t.Errorf("route %d is %+v after interning, want %+v", i, routes[i], want[i])
		}
		for _, s := range []string{routes[i].name, routes[i].m.prefix, routes[i].m.path, routes[i].hostRewrite, routes[i].pathRewrite, routes[i].prefixRewrite} {
			if s == "" {
				continue
			}
			p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
			if lo == 0 || p < lo {
				lo = p
			}
			hi = max(hi, p+uintptr(len(s)))
		}
	}
	// Each value once, but for those equal to the previous route's: "svc"
	// twice, as route c has none.
	if n := len("a" + "/a/svc/" + "b/b/" + "c/c/other" + "dsvc" + "/"); hi-lo != uintptr(n) {
		t.Errorf("the strings span %d bytes, want the %d of one allocation", hi-lo, n)
	}
}
