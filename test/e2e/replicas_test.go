package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/meshgate/meshgate/internal/xds/gwconfig"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// call sends one API request and returns its status, error type and body.
func call(t *testing.T, srv *server, method, path, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.endpoint+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), string(b)
}

func mustCall(t *testing.T, srv *server, method, path, body string) string {
	t.Helper()
	code, typ, b := call(t, srv, method, path, body)
	if code != http.StatusOK {
		t.Fatalf("%s %s: %d %s %s", method, path, code, typ, b)
	}
	return b
}

// replicas starts n servers on one fresh database.
func replicas(t *testing.T, pg *pgCluster, n int) []*server {
	dsn := pg.database(t)
	var out []*server
	for range n {
		out = append(out, startServer(t, t.TempDir(), "--store", dsn))
	}
	return out
}

const gwSpec = `{"listeners":[{"portMapping":{"port":18991,"protocol":"http"}}]}`

// TestReplicasRacingUpdates: two replicas updating one resource at the same
// time never lose an update: each request either succeeds or gets
// ConflictException, and the version counts exactly the successes.
func TestReplicasRacingUpdates(t *testing.T) {
	pg := startPostgres(t)
	rs := replicas(t, pg, 2)
	mustCall(t, rs[0], "PUT", "/v20190125/meshes", `{"meshName":"m"}`)
	mustCall(t, rs[0], "PUT", "/v20190125/meshes/m/virtualGateways", `{"virtualGatewayName":"gw","spec":`+gwSpec+`}`)
	ok, conflicts := 0, 0
	for i := range 30 {
		var wg sync.WaitGroup
		codes := make([]int, 2)
		types := make([]string, 2)
		for r := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := fmt.Sprintf(`{"spec":{"listeners":[{"portMapping":{"port":%d,"protocol":"http"}}]}}`, 19000+i*2+r)
				codes[r], types[r], _ = call(t, rs[r], "PUT", "/v20190125/meshes/m/virtualGateways/gw", body)
			}()
		}
		wg.Wait()
		for r := range 2 {
			switch {
			case codes[r] == http.StatusOK:
				ok++
			case codes[r] == http.StatusConflict && types[r] == "ConflictException":
				conflicts++
			default:
				t.Fatalf("round %d replica %d: %d %s", i, r, codes[r], types[r])
			}
		}
	}
	b := mustCall(t, rs[1], "GET", "/v20190125/meshes/m/virtualGateways/gw", "")
	if want := fmt.Sprintf(`"version":%d`, 1+ok); !strings.Contains(b, want) {
		t.Fatalf("after %d successful updates the gateway has %s, want %s", ok, b, want)
	}
	t.Logf("%d updates succeeded, %d got ConflictException, none lost", ok, conflicts)
}

// TestReplicasRacingDeleteAndReference: a gateway route created on one
// replica while its virtual service is deleted on the other: never both,
// so no gateway route ever targets a missing virtual service.
func TestReplicasRacingDeleteAndReference(t *testing.T) {
	pg := startPostgres(t)
	rs := replicas(t, pg, 2)
	mustCall(t, rs[0], "PUT", "/v20190125/meshes", `{"meshName":"m"}`)
	q := `{"virtualGatewayName":"gw","spec":` + gwSpec + `}`
	mustCall(t, rs[0], "PUT", "/v20190125/meshes/m/virtualGateways", q)
	both := 0
	for i := range 25 {
		vs := fmt.Sprintf("svc%d.local", i)
		mustCall(t, rs[0], "PUT", "/v20190125/meshes/m/virtualServices", `{"virtualServiceName":"`+vs+`","spec":{}}`)
		var wg sync.WaitGroup
		var created, deleted int
		wg.Add(2)
		go func() {
			defer wg.Done()
			created, _, _ = call(t, rs[0], "PUT", "/v20190125/meshes/m/virtualGateway/gw/gatewayRoutes",
				fmt.Sprintf(`{"gatewayRouteName":"r%d","spec":{"httpRoute":{"match":{"prefix":"/r%d"},"action":{"target":{"virtualService":{"virtualServiceName":"%s"}}}}}}`, i, i, vs))
		}()
		go func() {
			defer wg.Done()
			deleted, _, _ = call(t, rs[1], "DELETE", "/v20190125/meshes/m/virtualServices/"+vs, "")
		}()
		wg.Wait()
		if created == http.StatusOK && deleted == http.StatusOK {
			both++
		}
		// Whatever happened, the store is consistent.
		grCode, _, _ := call(t, rs[1], "GET", fmt.Sprintf("/v20190125/meshes/m/virtualGateway/gw/gatewayRoutes/r%d", i), "")
		vsCode, _, _ := call(t, rs[1], "GET", "/v20190125/meshes/m/virtualServices/"+vs, "")
		if grCode == http.StatusOK && vsCode != http.StatusOK {
			t.Fatalf("round %d: gateway route r%d exists but its virtual service %s is gone (%d)", i, i, vs, vsCode)
		}
		if grCode == http.StatusOK {
			mustCall(t, rs[0], "DELETE", fmt.Sprintf("/v20190125/meshes/m/virtualGateway/gw/gatewayRoutes/r%d", i), "")
		}
	}
	if both > 0 {
		t.Fatalf("%d rounds committed both the gateway route and the delete of its target", both)
	}
}

// TestCrossReplicaPropagation: a write on replica A reaches a gateway
// connected to replica B; the delay is logged (and recorded under bench/).
func TestCrossReplicaPropagation(t *testing.T) {
	pg := startPostgres(t)
	rs := replicas(t, pg, 2)
	s := s1(t)
	apply(t, s, rs[0])
	s.StartBackends(t)
	gw := startGateway(t, s.Key(), rs[1].xds)
	waitReady(t, gw)
	var worst time.Duration
	for i := range 5 {
		prefix := fmt.Sprintf("/prop%d", i)
		start := time.Now()
		mustCall(t, rs[0], "PUT", "/v20190125/meshes/m/virtualGateway/colorgateway-vg/gatewayRoutes",
			fmt.Sprintf(`{"gatewayRouteName":"p%d","spec":{"httpRoute":{"match":{"prefix":"%s"},"action":{"target":{"virtualService":{"virtualServiceName":"colorteller-1.local"}}}}}}`, i, prefix))
		eventually(t, "the route written on replica A served through replica B", func() error {
			return served(prefix + "/tell")
		})
		d := time.Since(start)
		worst = max(worst, d)
		t.Logf("write on A → served via B: %v", d)
		mustCall(t, rs[0], "DELETE", fmt.Sprintf("/v20190125/meshes/m/virtualGateway/colorgateway-vg/gatewayRoutes/p%d", i), "")
	}
	t.Logf("worst of 5: %v", worst)
}

// TestReplicaKilledUnderGatewayLoad: the gateway lists two replicas; kill -9
// of the one it uses fails no request, and it moves to the other, which
// then delivers changes.
func TestReplicaKilledUnderGatewayLoad(t *testing.T) {
	pg := startPostgres(t)
	rs := replicas(t, pg, 2)
	s := s1(t)
	apply(t, s, rs[0])
	s.StartBackends(t)
	gw := startGateway(t, s.Key(), rs[0].xds+","+rs[1].xds)
	waitReady(t, gw)
	l := startLoad("http://127.0.0.1:18101/color1/tell", "gw.example", isEcho)
	time.Sleep(500 * time.Millisecond)
	rs[0].kill(t)
	time.Sleep(1500 * time.Millisecond)
	l.finish(t, "across kill -9 of the gateway's replica")
	mustCall(t, rs[1], "PUT", "/v20190125/meshes/m/virtualGateway/colorgateway-vg/gatewayRoutes",
		`{"gatewayRouteName":"failover","spec":{"httpRoute":{"match":{"prefix":"/failover"},"action":{"target":{"virtualService":{"virtualServiceName":"colorteller-1.local"}}}}}}`)
	eventually(t, "a change on the surviving replica reaches the gateway", func() error {
		resp, err := http.Get("http://127.0.0.1:18101/failover/tell")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
}

// TestDatabaseOutage: with PostgreSQL stopped, the gateway keeps serving
// (the servers serve xDS from memory) and API writes fail with
// ServiceUnavailableException; when it returns, writes work again without a
// restart and nothing acknowledged before was lost.
func TestDatabaseOutage(t *testing.T) {
	pg := startPostgres(t)
	rs := replicas(t, pg, 2)
	s := s1(t)
	apply(t, s, rs[0])
	s.StartBackends(t)
	gw := startGateway(t, s.Key(), rs[1].xds)
	waitReady(t, gw)
	l := startLoad("http://127.0.0.1:18101/color1/tell", "gw.example", isEcho)
	pg.stop(t)
	time.Sleep(time.Second)
	code, typ, body := call(t, rs[0], "PUT", "/v20190125/meshes/m/virtualServices", `{"virtualServiceName":"during.local","spec":{}}`)
	if code != http.StatusServiceUnavailable || typ != "ServiceUnavailableException" {
		t.Errorf("write during the outage: %d %s %s, want 503 ServiceUnavailableException", code, typ, body)
	}
	pg.start(t)
	l.finish(t, "while PostgreSQL was down and back")
	eventually(t, "writes work again", func() error {
		code, typ, body := call(t, rs[0], "PUT", "/v20190125/meshes/m/virtualServices", `{"virtualServiceName":"after.local","spec":{}}`)
		if code != http.StatusOK {
			return fmt.Errorf("%d %s %s", code, typ, body)
		}
		return nil
	})
	for _, name := range []string{"colorteller-1.local", "after.local"} {
		mustCall(t, rs[1], "GET", "/v20190125/meshes/m/virtualServices/"+name, "")
	}
}

// TestReplicasShareTokensAndVersions: a create retried with the same
// clientToken on another replica gets the original answer; and every
// replica computes the same configuration version for the same state, so a
// proxy that reconnects to another replica is at most re-sent the version
// it already has, which it treats as a no-op.
func TestReplicasShareTokensAndVersions(t *testing.T) {
	pg := startPostgres(t)
	rs := replicas(t, pg, 2)
	mustCall(t, rs[0], "PUT", "/v20190125/meshes", `{"meshName":"m"}`)
	body := `{"virtualGatewayName":"gw","clientToken":"tok-1","spec":` + gwSpec + `}`
	first := mustCall(t, rs[0], "PUT", "/v20190125/meshes/m/virtualGateways", body)
	again := mustCall(t, rs[1], "PUT", "/v20190125/meshes/m/virtualGateways", body)
	if first != again {
		t.Errorf("the same clientToken on another replica answered\n%s\nwant\n%s", again, first)
	}
	code, typ, _ := call(t, rs[1], "PUT", "/v20190125/meshes/m/virtualGateways",
		`{"virtualGatewayName":"gw2","clientToken":"tok-1","spec":`+gwSpec+`}`)
	if code != http.StatusConflict || typ != "ConflictException" {
		t.Errorf("the token reused with another input on another replica: %d %s, want 409 ConflictException", code, typ)
	}

	const node = "mesh/m/virtualGateway/gw"
	v := gatewayConfigVersion(t, rs[0].xds, node, "")
	if v == "" {
		t.Fatal("replica A sent no version")
	}
	if vb := gatewayConfigVersion(t, rs[1].xds, node, ""); vb != v {
		t.Fatalf("replica B's version %q differs from replica A's %q for the same state", vb, v)
	}
	// go-control-plane answers the first request of a new stream even when
	// the proxy names the current version; what matters is that it is the
	// same version, so nothing is applied again.
	if got := gatewayConfigVersion(t, rs[1].xds, node, v); got != "" && got != v {
		t.Fatalf("reconnecting to replica B with version %s was pushed another version %s", v, got)
	}
}

// gatewayConfigVersion opens an ADS stream as the gateway's proxy, asks for
// its configuration saying it has version have, and returns the version
// pushed within a bounded wait ("" when nothing comes).
func gatewayConfigVersion(t *testing.T, addr, node, have string) string {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = stream.Send(&discovery.DiscoveryRequest{Node: &core.Node{Id: node}, TypeUrl: gwconfig.Type,
		ResourceNames: []string{node}, VersionInfo: have})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		resp, err := stream.Recv()
		if err != nil {
			got <- ""
			return
		}
		got <- resp.GetVersionInfo()
	}()
	wait := 5 * time.Second
	if have != "" {
		wait = 1500 * time.Millisecond // long enough for a push that should not come
	}
	select {
	case v := <-got:
		return v
	case <-time.After(wait):
		return ""
	}
}
