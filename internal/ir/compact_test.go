package ir

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"unsafe"
)

// TestCompact: a compacted gateway says what it said (the same JSON, the
// same version), its routes' equal strings share their bytes, and each
// virtual host's routes are a slice of their own length.
func TestCompact(t *testing.T) {
	routes := ""
	for i := range 100 {
		routes += fmt.Sprintf(`{"name":"r%d","match":{"prefix":"/r%d/","method":"GET","headers":[{"name":"x-env","exact":"prod"}],
			"query":[{"name":"debug","exact":"1"}]},"action":{"service":"color.local","port":8080,"hostRewrite":"color.local","prefixRewrite":"/"}},`, i, i)
	}
	src := `{"mesh":"m","name":"gw","uid":"u","listeners":[{"port":8080,"protocol":"http","virtualHosts":[
		{"name":"vh","domains":["*"],"routes":[` + routes + `{"name":"last","match":{"path":"/x"},"action":{"service":"other.local","port":8080,"pathRewrite":"/y"}}]}]}]}`
	var g Gateway
	if err := json.Unmarshal([]byte(src), &g); err != nil {
		t.Fatal(err)
	}
	before, _ := json.Marshal(&g)
	version := g.Version()
	g.Compact()
	after, _ := json.Marshal(&g)
	if string(before) != string(after) || g.Version() != version {
		t.Fatalf("content changed:\n%s\n%s", before, after)
	}
	rs := g.Listeners[0].VirtualHosts[0].Routes
	if len(rs) != 101 || cap(rs) > 101+101/8 {
		t.Errorf("routes: len %d cap %d", len(rs), cap(rs))
	}
	same := func(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }
	a, b := rs[3], rs[70]
	for _, pair := range [][2]string{
		{a.Action.Service, b.Action.Service}, {a.Action.HostRewrite, b.Action.HostRewrite},
		{a.Action.Service, b.Action.HostRewrite}, {a.Match.Method, b.Match.Method},
		{a.Match.Headers[0].Name, b.Match.Headers[0].Name}, {a.Match.Query[0].Name, b.Match.Query[0].Name},
	} {
		if !same(pair[0], pair[1]) {
			t.Errorf("%q not shared", pair[0])
		}
	}
	for _, pair := range [][2]*string{
		{a.Action.PrefixRewrite, b.Action.PrefixRewrite},
		{a.Match.Headers[0].Exact, b.Match.Headers[0].Exact}, {a.Match.Query[0].Exact, b.Match.Query[0].Exact},
	} {
		if pair[0] != pair[1] {
			t.Errorf("*%q not shared", *pair[0])
		}
	}
	if same(a.Match.Prefix, b.Match.Prefix) || a.Name == b.Name {
		t.Error("different strings shared")
	}
	var empty Gateway
	empty.Compact()
	if !reflect.DeepEqual(empty, Gateway{}) {
		t.Errorf("an empty gateway became %+v", empty)
	}
}
