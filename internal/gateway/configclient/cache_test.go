package configclient

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/meshgate/meshgate/internal/ir"
)

// TestCacheServesAtStart: a configuration kept on disk is applied by
// LoadCache before any control plane answers; a damaged file is ignored.
func TestCacheServesAtStart(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sub", "gateway.json")
	cfg := &ir.Gateway{Mesh: "m", Name: "gw", Listeners: []ir.Listener{{Port: 8080, Protocol: ir.HTTP,
		VirtualHosts: []ir.VirtualHost{{Name: "ingress_8080_*", Domains: []string{"*"}, Routes: []ir.GatewayRoute{}}}}}}
	if err := writeCache(file, cfg.JSON(), "v1"); err != nil {
		t.Fatal(err)
	}
	var got *ir.Gateway
	var gotRaw []byte
	var gotVersion string
	c, err := New(Options{Endpoints: []Endpoint{{Target: "127.0.0.1:1"}}, Resource: "mesh/m/virtualGateway/gw", CacheFile: file},
		func(g *ir.Gateway, raw []byte, v string) error { got, gotRaw, gotVersion = g, raw, v; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !c.LoadCache() {
		t.Fatal("the cached configuration was not applied")
	}
	if gotVersion != "v1" || !reflect.DeepEqual(got, cfg) || !bytes.Equal(gotRaw, cfg.JSON()) {
		t.Fatalf("applied %q %+v (%s), want v1 %+v", gotVersion, got, gotRaw, cfg)
	}
	if c.Status().AppliedVersion != "v1" {
		t.Errorf("status version %q", c.Status().AppliedVersion)
	}

	if err := os.WriteFile(file, []byte(`{"version":"v2","config":`), 0o644); err != nil {
		t.Fatal(err)
	}
	got = nil
	if c.LoadCache() || got != nil {
		t.Fatal("a damaged cache file was applied")
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if c.LoadCache() {
		t.Fatal("a missing cache file was applied")
	}
}

func TestParseEndpoints(t *testing.T) {
	eps, err := ParseEndpoints("127.0.0.1:7071, unix:///run/xds.sock,10.0.0.1:7071", "")
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, e := range eps {
		targets = append(targets, e.Target)
	}
	if !reflect.DeepEqual(targets, []string{"127.0.0.1:7071", "unix:///run/xds.sock", "10.0.0.1:7071"}) {
		t.Errorf("targets %v", targets)
	}
	for _, bad := range []string{"", " , ", "http://x:1"} {
		if _, err := ParseEndpoints(bad, ""); err == nil {
			t.Errorf("ParseEndpoints(%q) accepted", bad)
		}
	}
}
