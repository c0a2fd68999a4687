package e2e

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestPropagationBench measures, with N gateway routes already present,
// the time from the API's 200 on a new gateway route to the gateway
// serving it (reference R5). It is a benchmark, not a test: it runs only
// when MESHGATE_BENCH_PROPAGATION is set (bench/propagation.sh sets it) and
// asserts nothing about time.
func TestPropagationBench(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("MESHGATE_BENCH_PROPAGATION"))
	if n <= 0 {
		t.Skip("set MESHGATE_BENCH_PROPAGATION=ROUTES to run the propagation benchmark (bench/propagation.sh)")
	}
	s := s1(t)
	srv := startServer(t, t.TempDir(), "--quota", "gatewayRoutesPerVirtualGateway=100000")
	apply(t, s, srv)
	s.StartBackends(t)
	gw := startGateway(t, s.Key(), srv.xds)
	waitReady(t, gw)
	base := "/v20190125/meshes/m/virtualGateway/colorgateway-vg/gatewayRoutes"
	route := func(name, prefix string) string {
		return fmt.Sprintf(`{"gatewayRouteName":"%s","spec":{"httpRoute":{"match":{"prefix":"%s"},"action":{"target":{"virtualService":{"virtualServiceName":"colorteller-1.local"}}}}}}`, name, prefix)
	}
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				mustCall(t, srv, "PUT", base, route(fmt.Sprintf("bulk%05d", i), fmt.Sprintf("/bulk%05d", i)))
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	t.Logf("created %d gateway routes in %v", n, time.Since(start))
	// Wait until the gateway serves the last bulk route: the baseline.
	eventually(t, "the bulk routes are served", func() error { return served(fmt.Sprintf("/bulk%05d/tell", n-1)) })

	var ds []time.Duration
	for i := range 20 {
		prefix := fmt.Sprintf("/probe%02d", i)
		t0 := time.Now()
		mustCall(t, srv, "PUT", base, route(fmt.Sprintf("probe%02d", i), prefix))
		for served(prefix+"/tell") != nil {
			if time.Since(t0) > 30*time.Second {
				t.Fatalf("route %s not served after 30s", prefix)
			}
			time.Sleep(2 * time.Millisecond)
		}
		ds = append(ds, time.Since(t0))
	}
	slices.Sort(ds)
	t.Logf("RESULT routes=%d samples=%d p50=%v p90=%v p99(max of 20)=%v", n, len(ds), ds[len(ds)/2], ds[len(ds)*9/10], ds[len(ds)-1])
}

// served GETs path from the gateway listener the e2e scenarios use
// (127.0.0.1:18101); anything but 200 is an error.
func served(path string) error {
	resp, err := http.Get("http://127.0.0.1:18101" + path)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
