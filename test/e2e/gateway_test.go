package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/scenario"
)

// waitReady polls a gateway's admin /ready until it says LIVE.
func waitReady(t *testing.T, gw *server) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(gw.endpoint + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("gateway not ready within 20s:\n%s", gw.log)
}

// eventually retries check until it passes or 10 s pass.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err = check(); err == nil {
			return
		}
	}
	t.Fatalf("%s: %v", what, err)
}

func apply(t *testing.T, s scenario.Scenario, srv *server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Apply(ctx, http.DefaultClient, srv.endpoint); err != nil {
		t.Fatal(err)
	}
}

// TestScenariosWithProcesses runs the reference scenarios (§11 S1–S9 and
// the feature scenarios) with real processes: a meshgate server, a meshgate
// gateway configured over xDS, and echo backends on the 127.0.x.y
// addresses, the configuration created through the API. Every other
// scenario's gateway is meshgate-gateway, the gateway alone, so both
// binaries run the whole path (flags, xDS, serving).
func TestScenariosWithProcesses(t *testing.T) {
	all, err := scenario.All()
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range all {
		if len(s.Cases) == 0 {
			continue
		}
		command := []string{binary, "gateway"}
		if i%2 == 1 {
			command = []string{dataPlane}
		}
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, t.TempDir())
			apply(t, s, srv)
			s.StartBackends(t)
			gw := startGatewayOf(t, command, s.Key(), srv.xds)
			waitReady(t, gw)
			for _, c := range s.Cases {
				t.Run(c.Name, func(t *testing.T) { c.Run(t, "127.0.0.1") })
			}
		})
	}
}

// load sends requests through a gateway from a few goroutines until stop
// and counts the answers that are not want.
type load struct {
	ok, bad atomic.Int64
	mu      sync.Mutex
	samples []string
	stop    chan struct{}
	wg      sync.WaitGroup
}

func startLoad(url, host string, want func(status int, body string) bool) *load {
	l := &load{stop: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	for range 4 {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				req.Host = host
				resp, err := client.Do(req)
				if err != nil {
					l.fail(err.Error())
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if want(resp.StatusCode, string(b)) {
					l.ok.Add(1)
				} else {
					l.fail(fmt.Sprintf("%d %s", resp.StatusCode, b))
				}
			}
		}()
	}
	return l
}

func (l *load) fail(s string) {
	l.bad.Add(1)
	l.mu.Lock()
	if len(l.samples) < 5 {
		l.samples = append(l.samples, s)
	}
	l.mu.Unlock()
}

func (l *load) finish(t *testing.T, what string) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	if l.ok.Load() == 0 {
		t.Fatalf("%s: no request succeeded", what)
	}
	if n := l.bad.Load(); n > 0 {
		t.Fatalf("%s: %d of %d requests failed, e.g. %v", what, n, n+l.ok.Load(), l.samples)
	}
	t.Logf("%s: %d requests, none failed", what, l.ok.Load())
}

// s1 is the basic-ingress scenario, used by the resilience tests.
func s1(t *testing.T) scenario.Scenario {
	all, err := scenario.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Name == "s1-basic-ingress" {
			return s
		}
	}
	t.Fatal("scenario s1-basic-ingress missing")
	return scenario.Scenario{}
}

func isEcho(status int, body string) bool {
	return status == http.StatusOK && strings.Contains(body, `"path":"/tell"`)
}

// freePort returns a loopback port nothing listens on right now.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServerKilledUnderLoad: kill -9 of the control plane while traffic
// flows fails no request (the gateway keeps its configuration); a server
// restarted on the same data answers the reconnecting gateway, and a change
// made after the restart reaches it.
func TestServerKilledUnderLoad(t *testing.T) {
	s := s1(t)
	dir := t.TempDir()
	xdsAddr := freePort(t)
	srv := startServer(t, dir, "--xds-listen", xdsAddr)
	apply(t, s, srv)
	s.StartBackends(t)
	gw := startGateway(t, s.Key(), xdsAddr)
	waitReady(t, gw)

	l := startLoad("http://127.0.0.1:18101/color1/tell", "gw.example", isEcho)
	time.Sleep(500 * time.Millisecond)
	srv.kill(t)
	time.Sleep(1500 * time.Millisecond) // traffic with no control plane
	srv = startServer(t, dir, "--xds-listen", xdsAddr)
	time.Sleep(500 * time.Millisecond)
	l.finish(t, "across kill -9 and restart of the server")

	// Re-sync: a route added through the restarted server is served.
	req, _ := http.NewRequest(http.MethodPut, srv.endpoint+"/v20190125/meshes/m/virtualGateway/colorgateway-vg/gatewayRoutes",
		strings.NewReader(`{"gatewayRouteName":"after-restart","spec":{"httpRoute":{"match":{"prefix":"/again"},"action":{"target":{"virtualService":{"virtualServiceName":"colorteller-1.local"}}}}}}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create after restart: %d", resp.StatusCode)
	}
	eventually(t, "the new route reaches the gateway", func() error {
		resp, err := http.Get("http://127.0.0.1:18101/again/tell")
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !isEcho(resp.StatusCode, string(b)) {
			return fmt.Errorf("%d %s", resp.StatusCode, b)
		}
		return nil
	})
}

// TestRouteChangesUnderLoad: 20 changes of the gateway's routes while
// traffic flows on a route that stays give no unexpected status.
func TestRouteChangesUnderLoad(t *testing.T) {
	s := s1(t)
	srv := startServer(t, t.TempDir())
	apply(t, s, srv)
	s.StartBackends(t)
	gw := startGateway(t, s.Key(), srv.xds)
	waitReady(t, gw)

	l := startLoad("http://127.0.0.1:18101/color1/tell", "gw.example", isEcho)
	base := srv.endpoint + "/v20190125/meshes/m/virtualGateway/colorgateway-vg/gatewayRoutes"
	for i := range 20 {
		// Alternately add a route and retarget it, each a real change.
		body := fmt.Sprintf(`{"spec":{"httpRoute":{"match":{"prefix":"/other%d"},"action":{"target":{"virtualService":{"virtualServiceName":"colorteller-1.local"}}}}}}`, i)
		method, url := http.MethodPut, base+"/churn"
		if i == 0 {
			body = strings.Replace(body, `{"spec"`, `{"gatewayRouteName":"churn","spec"`, 1)
			url = base
		}
		req, _ := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("change %d: %d %s", i, resp.StatusCode, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
	eventually(t, "the last change reaches the gateway", func() error {
		return served("/other19/tell")
	})
	l.finish(t, "during 20 route changes")
}
