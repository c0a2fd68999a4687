package upstream

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/meshgate/meshgate/internal/ir"
)

// BenchmarkClusterRoundTrip is a cluster (HTTP/1.1: h1Client) against two
// endpoints; BenchmarkTransportRoundTrip is http.Transport configured as
// it was for HTTP/1.1 clusters, alone: compare them for what the cluster
// and its client cost per request against the transport.

func benchServer(b *testing.B) uint16 {
	port, lns := listenSamePort(b, "127.0.0.2", "127.0.0.3")
	for _, ln := range lns {
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
		go srv.Serve(ln)
		b.Cleanup(func() { srv.Close() })
	}
	return port
}

func benchRoundTrips(b *testing.B, rt func(*http.Request) (*http.Response, error)) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://127.0.0.2/", nil)
			resp, err := rt(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

func BenchmarkClusterRoundTrip(b *testing.B) {
	port := benchServer(b)
	r := newFakeResolver()
	r.set("backend.mesh.local", "127.0.0.2", "127.0.0.3")
	m := NewManager(Options{Resolver: r, Logger: discardLogger()})
	b.Cleanup(m.Close)
	cfg := httpCluster("c", "backend.mesh.local", port)
	cfg.Discovery.AllEndpoints = true
	cfg.Outlier = &ir.OutlierDetection{MaxServerErrors: 5, Interval: ir.Duration(1e10), BaseEjectionDuration: ir.Duration(3e10), MaxEjectionPercent: 50}
	m.Update([]ir.Cluster{cfg})
	c, _ := m.Cluster("c")
	benchRoundTrips(b, c.RoundTrip)
}

func BenchmarkTransportRoundTrip(b *testing.B) {
	port := benchServer(b)
	t := &http.Transport{MaxIdleConnsPerHost: maxIdleConnsPerHost, DisableCompression: true}
	b.Cleanup(t.CloseIdleConnections)
	host := "127.0.0.2:" + itoa(port)
	benchRoundTrips(b, func(req *http.Request) (*http.Response, error) {
		req.URL.Host = host
		return t.RoundTrip(req)
	})
}

// TestPickDoesNotAllocate guards the request path's own work: snapshot
// load, round-robin pick, URL rewrite and the outlier bookkeeping.
func TestPickDoesNotAllocate(t *testing.T) {
	m, _ := newTestManager(t, newFakeResolver(), nil)
	cfg := httpCluster("c", "127.0.0.2", 1)
	cfg.Outlier = outlier(5, 1e10, 50)
	m.Update([]ir.Cluster{cfg})
	c := mustCluster(t, m, "c")
	req, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	resp := &http.Response{StatusCode: 200}
	allocs := testing.AllocsPerRun(1000, func() {
		s := c.state.Load()
		ep := s.pick[(c.rr.Add(1)-1)%uint64(len(s.pick))]
		req.URL.Scheme = c.scheme
		req.URL.Host = ep.hostport
		c.recordOutcome(ep, req, resp, nil)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per pick", allocs)
	}
}
