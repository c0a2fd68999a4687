package upstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
)

func TestUpdateKeepsUnchangedClusters(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2", "127.0.0.3")
	var st3 atomic.Int32
	serve(t, lns[0], healthServer(new(atomic.Int32), nil), nil)
	serve(t, lns[1], healthServer(&st3, nil), nil)
	r := newFakeResolver()
	r.set("backend.mesh.local", "127.0.0.2", "127.0.0.3")
	metrics := &recordingMetrics{}
	m, _ := newTestManager(t, r, func(o *Options) { o.Metrics = metrics })
	a := httpCluster("a", "backend.mesh.local", port)
	a.Discovery.AllEndpoints = true
	a.HealthCheck = fastHealthCheck(ir.HTTP)
	a.Outlier = outlier(5, time.Minute, 50)
	b := httpCluster("b", "127.0.0.2", port)
	m.Update([]ir.Cluster{a, b})
	ca, cb := mustCluster(t, m, "a"), mustCluster(t, m, "b")
	mustGet(t, ca)
	mustGet(t, cb)
	st3.Store(500)
	waitFor(t, "127.0.0.3 unhealthy", func() bool { return !statusOf(t, ca, "127.0.0.3").Healthy })
	endpointsBefore := ca.state.Load().all
	opened := metrics.opened.Load()

	// The same content in fresh values (a new slice, new pointers) and a
	// changed b.
	a2 := a
	a2.HealthCheck = new(*a.HealthCheck)
	a2.Outlier = new(*a.Outlier)
	b2 := b
	b2.Protocol = ir.HTTP2
	m.Update([]ir.Cluster{b2, a2})

	if got := mustCluster(t, m, "a"); got != ca {
		t.Fatalf("unchanged cluster was replaced")
	}
	after := ca.state.Load().all
	if len(after) != len(endpointsBefore) || after[0] != endpointsBefore[0] || after[1] != endpointsBefore[1] {
		t.Fatalf("unchanged cluster's endpoints were rebuilt")
	}
	if statusOf(t, ca, "127.0.0.3").Healthy {
		t.Fatalf("health state lost")
	}
	mustGet(t, ca)
	if metrics.opened.Load() != opened {
		t.Fatalf("the unchanged cluster opened a new connection: its pool was lost")
	}
	if got := mustCluster(t, m, "b"); got == cb {
		t.Fatalf("changed cluster was kept")
	}
	// The old b is idle, so the drainer closes it on its next sweep.
	waitFor(t, "the replaced cluster to close", func() bool {
		_, _, err := get(t, cb, "/")
		return errors.Is(err, ErrNoHealthyUpstream)
	})

	m.Update(nil)
	if _, ok := m.Cluster("a"); ok {
		t.Fatalf("removed cluster still served")
	}
	waitFor(t, "the removed cluster to close", func() bool { return len(ca.Endpoints()) == 0 })
	waitFor(t, "its connections to close", func() bool { return metrics.closed.Load() == metrics.opened.Load() })
}

func TestRemovedClusterFinishesInFlightRequests(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2")
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	serve(t, lns[0], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "head ")
		w.(http.Flusher).Flush()
		entered <- struct{}{}
		<-release
		io.WriteString(w, "tail")
	}), nil)
	m, _ := newTestManager(t, newFakeResolver(), func(o *Options) { o.DrainTimeout = 10 * time.Second })
	m.Update([]ir.Cluster{httpCluster("c", "127.0.0.2", port)})
	c := mustCluster(t, m, "c")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://x/", nil)
	resp, err := c.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	<-entered
	m.Update(nil)
	time.Sleep(300 * time.Millisecond) // several drain sweeps
	close(release)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "head tail" {
		t.Fatalf("in-flight response cut: %q %v", body, err)
	}
	waitFor(t, "the cluster to close once idle", func() bool { return len(c.Endpoints()) == 0 })
}

func TestDrainTimeoutBoundsInFlightRequests(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2")
	serve(t, lns[0], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}), nil)
	m, _ := newTestManager(t, newFakeResolver(), func(o *Options) { o.DrainTimeout = 200 * time.Millisecond })
	m.Update([]ir.Cluster{httpCluster("c", "127.0.0.2", port)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://x/", nil)
	resp, err := mustCluster(t, m, "c").RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m.Update(nil)
	start := time.Now()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatalf("a hung response survived the drain timeout")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("forced close after %v", d)
	}
}

func TestChangedClusterStartsFromPreviousAddresses(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2")
	serve(t, lns[0], healthServer(new(atomic.Int32), nil), nil)
	r := newFakeResolver()
	r.set("backend.mesh.local", "127.0.0.2")
	m, _ := newTestManager(t, r, func(o *Options) { o.ReResolve = time.Hour })
	cfg := httpCluster("c", "backend.mesh.local", port)
	m.Update([]ir.Cluster{cfg})
	mustGet(t, mustCluster(t, m, "c"))

	r.fail(errors.New("DNS down"))
	cfg.HealthCheck = fastHealthCheck(ir.HTTP)
	m.Update([]ir.Cluster{cfg})
	if got := mustGet(t, mustCluster(t, m, "c")); got != "127.0.0.2" {
		t.Fatalf("got %q", got)
	}
}

func TestMalformedConfigurationsNeverPanic(t *testing.T) {
	m, _ := newTestManager(t, newFakeResolver(), nil)
	weird := []ir.Cluster{
		{Name: "no-port", Discovery: ir.Discovery{Hostname: "x"}},
		{Name: "big-port", Discovery: ir.Discovery{Hostname: "x", Port: 70000}},
		{Name: "no-host", Discovery: ir.Discovery{Port: 80}},
		{Name: "bracketed", Discovery: ir.Discovery{Hostname: "[::1]", Port: 80}},
		{Name: "tcp", Protocol: ir.TCP, Discovery: ir.Discovery{Hostname: "127.0.0.2", Port: 1},
			HealthCheck: &ir.HealthCheck{Protocol: "carrier-pigeon", Port: 99999},
			Outlier:     &ir.OutlierDetection{MaxEjectionPercent: 1000}},
		{Name: "zero", Discovery: ir.Discovery{Hostname: "127.0.0.2", Port: 1},
			HealthCheck: &ir.HealthCheck{Protocol: ir.GRPC}, Outlier: &ir.OutlierDetection{}},
		{Name: "zero"}, // duplicate
		{Name: "tls-empty", Discovery: ir.Discovery{Hostname: "127.0.0.2", Port: 1}, TLS: &ir.UpstreamTLS{Validation: &ir.Validation{}}},
	}
	m.Update(weird)
	for _, name := range []string{"no-port", "big-port", "no-host"} {
		c := mustCluster(t, m, name)
		if c.Err() == nil {
			t.Errorf("%s: no Err", name)
		}
		if _, _, err := get(t, c, "/"); !errors.Is(err, ErrNoHealthyUpstream) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if got := len(mustCluster(t, m, "bracketed").Endpoints()); got != 1 {
		t.Errorf("bracketed literal: %d endpoints", got)
	}
	for _, name := range []string{"tcp", "zero", "tls-empty"} {
		c := mustCluster(t, m, name)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://x/", nil)
		c.RoundTrip(req)
		req.URL = nil
		c.RoundTrip(req)
		cancel()
	}
	m.Update(weird) // the same again: nothing replaced
	m.Update(nil)
}

// ourGoroutines lists goroutines running this package's code (not the
// tests) or net/http connection loops.
func ourGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "upstream.(*") || strings.Contains(g, "upstream.newCluster") ||
			strings.Contains(g, "net/http.(*persistConn)") || strings.Contains(g, "http2ClientConn") {
			out = append(out, g)
		}
	}
	return out
}

func TestCloseStopsEverything(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2", "127.0.0.3")
	for _, ln := range lns {
		serve(t, ln, healthServer(new(atomic.Int32), nil), nil)
	}
	r := newFakeResolver()
	r.set("backend.mesh.local", "127.0.0.2", "127.0.0.3")
	m, _ := newTestManager(t, r, nil)
	a := httpCluster("a", "backend.mesh.local", port)
	a.Discovery.AllEndpoints = true
	a.HealthCheck = fastHealthCheck(ir.HTTP)
	a.Outlier = outlier(5, time.Minute, 50)
	b := a
	b.Name = "b"
	b.Protocol = ir.HTTP2
	b.HealthCheck = fastHealthCheck(ir.TCP)
	m.Update([]ir.Cluster{a, b})
	mustGet(t, mustCluster(t, m, "a"))
	c := mustCluster(t, m, "b")
	req, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	c.RoundTrip(req)
	m.Update([]ir.Cluster{a}) // b goes to the drainer
	m.Close()
	waitFor(t, "every goroutine to stop", func() bool { return len(ourGoroutines()) == 0 })
	if _, _, err := get(t, c, "/"); !errors.Is(err, ErrNoHealthyUpstream) {
		t.Fatalf("closed cluster answered %v", err)
	}
	m.Update([]ir.Cluster{a}) // after Close: ignored
	if _, ok := m.Cluster("a"); ok {
		t.Fatalf("Update after Close added a cluster")
	}
}
