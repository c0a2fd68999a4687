package upstream

import (
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
)

func outlier(maxErrors uint32, base time.Duration, percent uint32) *ir.OutlierDetection {
	return &ir.OutlierDetection{
		MaxServerErrors:      maxErrors,
		Interval:             ir.Duration(20 * time.Millisecond),
		BaseEjectionDuration: ir.Duration(base),
		MaxEjectionPercent:   percent,
	}
}

func TestOutlierEjectsAfterConsecutive5xxAndReturns(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2", "127.0.0.3")
	var bad atomic.Int32
	bad.Store(http.StatusInternalServerError)
	serve(t, lns[0], whoAmI(nil), nil)
	serve(t, lns[1], whoAmI(&bad), nil)
	r := newFakeResolver()
	r.set("backend.mesh.local", "127.0.0.2", "127.0.0.3")
	metrics := &recordingMetrics{}
	m, _ := newTestManager(t, r, func(o *Options) { o.Metrics = metrics })
	cfg := httpCluster("c", "backend.mesh.local", port)
	cfg.Discovery.AllEndpoints = true
	const base = 400 * time.Millisecond
	cfg.Outlier = outlier(3, base, 50)
	m.Update([]ir.Cluster{cfg})
	c := mustCluster(t, m, "c")
	waitFor(t, "resolution", func() bool { return len(c.Endpoints()) == 2 })

	errs := 0
	for i := 0; i < 20 && !statusOf(t, c, "127.0.0.3").Ejected; i++ {
		code, _, err := get(t, c, "/")
		if err != nil {
			t.Fatal(err)
		}
		if code == 500 {
			errs++
		}
	}
	ejectedAt := time.Now()
	if !statusOf(t, c, "127.0.0.3").Ejected {
		t.Fatalf("not ejected: %s", endpointState(c))
	}
	if errs != 3 {
		t.Fatalf("ejected after %d errors, want 3", errs)
	}
	for range 6 {
		if ip := mustGet(t, c); ip != "127.0.0.2" {
			t.Fatalf("traffic went to ejected %s", ip)
		}
	}
	// Back after the base ejection time (first ejection: base × 1).
	bad.Store(0)
	waitFor(t, "the ejection to end", func() bool { return !statusOf(t, c, "127.0.0.3").Ejected })
	if d := time.Since(ejectedAt); d < base-50*time.Millisecond {
		t.Fatalf("returned after %v, before the base ejection time %v", d, base)
	}
	seen := map[string]bool{}
	for range 4 {
		seen[mustGet(t, c)] = true
	}
	if !seen["127.0.0.3"] {
		t.Fatalf("returned endpoint got no traffic: %v", seen)
	}
	if s := statusOf(t, c, "127.0.0.3"); s.Ejections != 1 {
		t.Fatalf("ejections = %d", s.Ejections)
	}
	metrics.mu.Lock()
	defer metrics.mu.Unlock()
	if len(metrics.ejections) != 2 {
		t.Fatalf("ejection metrics %v", metrics.ejections)
	}
}

func TestOutlierSuccessResetsTheCount(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2")
	var st atomic.Int32
	serve(t, lns[0], whoAmI(&st), nil)
	m, _ := newTestManager(t, newFakeResolver(), nil)
	cfg := httpCluster("c", "127.0.0.2", port)
	cfg.Outlier = outlier(3, time.Minute, 100)
	m.Update([]ir.Cluster{cfg})
	c := mustCluster(t, m, "c")
	for range 5 {
		st.Store(500)
		get(t, c, "/")
		get(t, c, "/")
		st.Store(0)
		mustGet(t, c)
	}
	if statusOf(t, c, "127.0.0.2").Ejected {
		t.Fatalf("ejected without 3 consecutive errors")
	}
	st.Store(503)
	for range 3 {
		get(t, c, "/")
	}
	if !statusOf(t, c, "127.0.0.2").Ejected {
		t.Fatalf("not ejected after 3 consecutive errors")
	}
}

func TestOutlierMaxEjectionPercent(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2", "127.0.0.3")
	var bad atomic.Int32
	bad.Store(502)
	serve(t, lns[0], whoAmI(&bad), nil)
	serve(t, lns[1], whoAmI(&bad), nil)
	for _, tc := range []struct {
		percent uint32
		want    int
	}{{0, 0}, {49, 0}, {50, 1}, {100, 2}} {
		r := newFakeResolver()
		r.set("backend.mesh.local", "127.0.0.2", "127.0.0.3")
		m, _ := newTestManager(t, r, nil)
		cfg := httpCluster("c", "backend.mesh.local", port)
		cfg.Discovery.AllEndpoints = true
		cfg.Outlier = outlier(2, time.Minute, tc.percent)
		m.Update([]ir.Cluster{cfg})
		c := mustCluster(t, m, "c")
		for range 12 {
			get(t, c, "/")
		}
		ejected := 0
		for _, e := range c.Endpoints() {
			if e.Ejected {
				ejected++
			}
		}
		if ejected != tc.want {
			t.Errorf("maxEjectionPercent %d: %d ejected, want %d", tc.percent, ejected, tc.want)
		}
		if tc.want == 2 && !c.PanicMode() {
			t.Errorf("all ejected but not in panic mode")
		}
		m.Close()
	}
}

func TestOutlierCountsConnectFailures(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2", "127.0.0.3")
	serve(t, lns[0], whoAmI(nil), nil)
	lns[1].Close() // 127.0.0.3 refuses connections
	r := newFakeResolver()
	r.set("backend.mesh.local", "127.0.0.2", "127.0.0.3")
	m, _ := newTestManager(t, r, nil)
	cfg := httpCluster("c", "backend.mesh.local", port)
	cfg.Discovery.AllEndpoints = true
	cfg.Outlier = outlier(2, time.Minute, 50)
	m.Update([]ir.Cluster{cfg})
	c := mustCluster(t, m, "c")
	failures := 0
	for range 8 {
		if _, _, err := get(t, c, "/"); err != nil {
			if !errors.Is(err, ErrConnectionFailure) {
				t.Fatalf("err = %v", err)
			}
			failures++
		}
	}
	if failures != 2 || !statusOf(t, c, "127.0.0.3").Ejected {
		t.Fatalf("failures = %d, state %s", failures, endpointState(c))
	}
}

func TestOutlierBackoffGrowsAndDecays(t *testing.T) {
	m, _ := newTestManager(t, newFakeResolver(), nil)
	cfg := httpCluster("c", "127.0.0.2", 1)
	cfg.Outlier = outlier(1, 100*time.Millisecond, 100)
	cfg.Outlier.Interval = ir.Duration(time.Hour) // sweeps driven by hand
	m.Update([]ir.Cluster{cfg})
	c := mustCluster(t, m, "c")
	ep := c.state.Load().all[0]
	now := time.Now()
	c.consecutiveFailures(ep)
	if c.ejectionTime(ep) != 100*time.Millisecond {
		t.Fatalf("first ejection lasts %v", c.ejectionTime(ep))
	}
	c.outlierSweep(now.Add(50 * time.Millisecond))
	if !ep.ejected.Load() {
		t.Fatalf("returned early")
	}
	c.outlierSweep(now.Add(150 * time.Millisecond))
	if ep.ejected.Load() {
		t.Fatalf("not returned")
	}
	c.consecutiveFailures(ep)
	if c.ejectionTime(ep) != 200*time.Millisecond {
		t.Fatalf("second ejection lasts %v, want base × 2", c.ejectionTime(ep))
	}
	ep.ejectedAt = now
	c.outlierSweep(now.Add(250 * time.Millisecond))
	// In service for an interval since unejection: backoff decays.
	c.mu.Lock()
	ep.unejectedAt = now
	c.mu.Unlock()
	c.outlierSweep(now.Add(2 * time.Hour))
	c.outlierSweep(now.Add(3 * time.Hour))
	if ep.backoff != 0 {
		t.Fatalf("backoff = %d after decay", ep.backoff)
	}
}
