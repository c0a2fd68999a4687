package router

import "testing"

// TestIntern: interning keeps every value of every route, repeated and
// empty ones included, in one string, each once but for those equal to
// the previous route's.
func TestIntern(t *testing.T) {
	strs := []routeStrings{
		{"a", "/a/", "", "svc", "", "/"},
		{"b", "/b/", "", "svc", "", "/"},
		{"c", "", "/c", "", "/other", ""},
		{"d", "", "/c", "svc", "", ""},
		{"", "/", "", "", "", ""},
	}
	routes := make([]gatewayRoute, len(strs))
	text := intern(routes, strs)
	h := &vhost{text: text, routes: routes}
	for i, r := range routes {
		got := routeStrings{h.str(r.name), h.str(r.prefix), h.str(r.path), h.str(r.hostRewrite), h.str(r.pathRewrite), h.str(r.prefixRewrite)}
		if got != strs[i] {
			t.Errorf("route %d reads %q after interning, want %q", i, got, strs[i])
		}
	}
	// "svc" twice, as route c has none between the others.
	if want := "a" + "/a/svc/" + "b/b/" + "c/c/other" + "dsvc" + "/"; text != want {
		t.Errorf("the text is %q, want %q", text, want)
	}
}
