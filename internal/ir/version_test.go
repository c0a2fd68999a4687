package ir

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestJSONRoundTrip: a gateway's JSON form decodes to the same gateway and
// encodes to the same bytes again. A gateway keeps the bytes it received
// rather than the IR (for /config_dump and its cache file), and the
// version is their hash: both rely on it.
func TestJSONRoundTrip(t *testing.T) {
	rewrite, exact := "/", "prod"
	g := &Gateway{Mesh: "m", Name: "gw", UID: "u",
		Listeners: []Listener{{Port: 8080, Protocol: HTTP2, Limits: &ConnectionLimits{MaxConnections: 10},
			VirtualHosts: []VirtualHost{{Name: "vh", Domains: []string{"*"}, Routes: []GatewayRoute{
				{Name: "a", Match: Match{Prefix: "/a/", Method: "GET", Headers: []HeaderMatch{{Name: "x-env", Exact: &exact}},
					Query: []QueryMatch{{Name: "debug"}}},
					Action: GatewayRouteAction{Service: "color.local", Port: 8080, HostRewrite: "color.local", PrefixRewrite: &rewrite}},
				{Name: "b", Match: Match{Path: "/x"}, Action: GatewayRouteAction{Service: "other.local", Port: 8080, PathRewrite: "/y"}},
			}}}}},
		Services: []Service{{Name: "color.local", Port: 8080, Provider: "virtualNode/color", Protocol: HTTP,
			Routes: []Route{{Targets: []WeightedTarget{{Cluster: "c", Weight: 1}},
				Retry:   &RetryPolicy{MaxRetries: 2, HTTPEvents: []string{"stream-error"}, StatusCodes: []uint32{503}},
				Timeout: Duration(15 * time.Second)}}}},
		Clusters: []Cluster{{Name: "c", Node: "color", Port: 8080, Protocol: HTTP, Discovery: Discovery{Hostname: "127.0.0.1", Port: 9090}}},
	}
	b, version := g.Encode()
	var back Gateway
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, g) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", back, *g)
	}
	if again := back.JSON(); !bytes.Equal(again, b) {
		t.Fatalf("encoded again:\n%s\nfirst:\n%s", again, b)
	}
	if version != VersionOf(b) || back.Version() != version {
		t.Fatalf("versions %s, %s, %s", version, VersionOf(b), back.Version())
	}
}
