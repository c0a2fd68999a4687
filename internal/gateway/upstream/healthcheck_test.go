package upstream

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/meshgate/meshgate/internal/ir"
)

func fastHealthCheck(p ir.Protocol) *ir.HealthCheck {
	return &ir.HealthCheck{
		Protocol:           p,
		Path:               "/health",
		Interval:           ir.Duration(30 * time.Millisecond),
		Timeout:            ir.Duration(500 * time.Millisecond),
		HealthyThreshold:   2,
		UnhealthyThreshold: 2,
	}
}

// healthServer answers /health with a settable status and / with whoAmI.
func healthServer(status *atomic.Int32, seen *atomic.Value) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if seen != nil {
			seen.Store(r.Host + " " + r.UserAgent())
		}
		if s := status.Load(); s != 0 {
			w.WriteHeader(int(s))
		}
	})
	mux.Handle("/", whoAmI(nil))
	return mux
}

func TestHTTPHealthCheckUnhealthyThenHealthy(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2", "127.0.0.3")
	var st2, st3 atomic.Int32
	var seen atomic.Value
	serve(t, lns[0], healthServer(&st2, nil), nil)
	serve(t, lns[1], healthServer(&st3, &seen), nil)
	r := newFakeResolver()
	r.set("backend.mesh.local", "127.0.0.2", "127.0.0.3")
	metrics := &recordingMetrics{}
	m, _ := newTestManager(t, r, func(o *Options) { o.Metrics = metrics })
	cfg := httpCluster("c", "backend.mesh.local", port)
	cfg.Discovery.AllEndpoints = true
	cfg.HealthCheck = fastHealthCheck(ir.HTTP)
	m.Update([]ir.Cluster{cfg})
	c := mustCluster(t, m, "c")

	mustGet(t, c) // waits for warming: both checked, both healthy
	if !statusOf(t, c, "127.0.0.2").Healthy || !statusOf(t, c, "127.0.0.3").Healthy {
		t.Fatalf("after the first checks: %s", endpointState(c))
	}
	if got, want := seen.Load(), "backend.mesh.local:"+strconv.Itoa(int(port))+" Envoy/HC"; got != want {
		t.Fatalf("health check sent %q, want %q", got, want)
	}

	// A non-200 answer is an active failure: unhealthy at once.
	st3.Store(http.StatusServiceUnavailable)
	waitFor(t, "127.0.0.3 unhealthy", func() bool { return !statusOf(t, c, "127.0.0.3").Healthy })
	for range 6 {
		if ip := mustGet(t, c); ip != "127.0.0.2" {
			t.Fatalf("traffic went to unhealthy %s (%s)", ip, endpointState(c))
		}
	}
	if c.PanicMode() {
		t.Fatalf("one healthy of two is 50%%: not panic")
	}

	st3.Store(http.StatusOK)
	waitFor(t, "127.0.0.3 healthy again", func() bool { return statusOf(t, c, "127.0.0.3").Healthy })
	seenIPs := map[string]bool{}
	for range 4 {
		seenIPs[mustGet(t, c)] = true
	}
	if len(seenIPs) != 2 {
		t.Fatalf("after recovery traffic went to %v", seenIPs)
	}
	metrics.mu.Lock()
	defer metrics.mu.Unlock()
	if len(metrics.health) < 2 {
		t.Fatalf("health metrics %v", metrics.health)
	}
}

func TestFirstHealthCheckDecides(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2", "127.0.0.3")
	var st2, st3 atomic.Int32
	st3.Store(http.StatusInternalServerError)
	serve(t, lns[0], healthServer(&st2, nil), nil)
	serve(t, lns[1], healthServer(&st3, nil), nil)
	r := newFakeResolver()
	r.set("backend.mesh.local", "127.0.0.2", "127.0.0.3")
	m, _ := newTestManager(t, r, nil)
	cfg := httpCluster("c", "backend.mesh.local", port)
	cfg.Discovery.AllEndpoints = true
	cfg.HealthCheck = fastHealthCheck(ir.HTTP)
	cfg.HealthCheck.Interval = ir.Duration(time.Hour) // only the first check runs
	m.Update([]ir.Cluster{cfg})
	c := mustCluster(t, m, "c")
	// The very first request already knows: it waited for warming.
	for range 4 {
		if ip := mustGet(t, c); ip != "127.0.0.2" {
			t.Fatalf("traffic to %s before its first check passed (%s)", ip, endpointState(c))
		}
	}
	if statusOf(t, c, "127.0.0.3").Healthy {
		t.Fatalf("a host whose first check failed is healthy")
	}
}

func TestTCPHealthCheckWithPortOverride(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2", "127.0.0.3")
	serve(t, lns[0], whoAmI(nil), nil)
	serve(t, lns[1], whoAmI(nil), nil)
	// The checks go to another port: listeners we can close and reopen.
	hcPort, hcLns := listenSamePort(t, "127.0.0.2", "127.0.0.3")
	r := newFakeResolver()
	r.set("backend.mesh.local", "127.0.0.2", "127.0.0.3")
	m, _ := newTestManager(t, r, nil)
	cfg := httpCluster("c", "backend.mesh.local", port)
	cfg.Discovery.AllEndpoints = true
	cfg.HealthCheck = fastHealthCheck(ir.TCP)
	cfg.HealthCheck.Port = uint32(hcPort)
	m.Update([]ir.Cluster{cfg})
	c := mustCluster(t, m, "c")
	mustGet(t, c)
	if !statusOf(t, c, "127.0.0.3").Healthy {
		t.Fatalf("%s", endpointState(c))
	}

	hcLns[1].Close() // connection refused: network failures, threshold 2
	waitFor(t, "127.0.0.3 unhealthy", func() bool { return !statusOf(t, c, "127.0.0.3").Healthy })
	for range 4 {
		if ip := mustGet(t, c); ip != "127.0.0.2" {
			t.Fatalf("traffic to unhealthy %s", ip)
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.3", strconv.Itoa(int(hcPort))))
	if err != nil {
		t.Skipf("cannot listen again on the health-check port: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	waitFor(t, "127.0.0.3 healthy", func() bool { return statusOf(t, c, "127.0.0.3").Healthy })
	if !statusOf(t, c, "127.0.0.2").Healthy {
		t.Fatalf("%s", endpointState(c))
	}
}

func TestNetworkFailuresNeedTheUnhealthyThreshold(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2")
	serve(t, lns[0], whoAmI(nil), nil)
	hcPort, hcLns := listenSamePort(t, "127.0.0.2")
	hcLns[0].Close()
	m, _ := newTestManager(t, newFakeResolver(), nil)
	cfg := httpCluster("c", "127.0.0.2", port)
	cfg.HealthCheck = fastHealthCheck(ir.TCP)
	cfg.HealthCheck.Port = uint32(hcPort)
	cfg.HealthCheck.Interval = ir.Duration(time.Hour)
	m.Update([]ir.Cluster{cfg})
	c := mustCluster(t, m, "c")
	mustGet(t, c) // panic mode: the only endpoint is unhealthy but takes traffic

	ep := c.state.Load().all[0]
	for range 3 {
		c.applyHealth(ep, hcPass, nil)
	}
	c.applyHealth(ep, hcNetworkFail, errors.New("refused"))
	if !ep.healthy.Load() {
		t.Fatalf("one network failure below a threshold of 2 made the host unhealthy")
	}
	c.applyHealth(ep, hcNetworkFail, errors.New("refused"))
	if ep.healthy.Load() {
		t.Fatalf("two network failures did not make the host unhealthy")
	}
	c.applyHealth(ep, hcPass, nil)
	if ep.healthy.Load() {
		t.Fatalf("one pass healed a host with a healthy threshold of 2")
	}
	c.applyHealth(ep, hcPass, nil)
	if !ep.healthy.Load() {
		t.Fatalf("two passes did not heal the host")
	}
	c.applyHealth(ep, hcActiveFail, errors.New("503"))
	if ep.healthy.Load() {
		t.Fatalf("an active failure did not make the host unhealthy at once")
	}
}

func TestPanicMode(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2")
	var st atomic.Int32
	st.Store(http.StatusServiceUnavailable)
	serve(t, lns[0], healthServer(&st, nil), nil)
	for _, tc := range []struct {
		name      string
		threshold *float64
		wantErr   error
	}{
		{"default 50%: all unhealthy means all take traffic", nil, nil},
		{"panic off", new(0.0), ErrNoHealthyUpstream},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newTestManager(t, newFakeResolver(), func(o *Options) { o.PanicThreshold = tc.threshold })
			cfg := httpCluster("c", "127.0.0.2", port)
			cfg.HealthCheck = fastHealthCheck(ir.HTTP)
			m.Update([]ir.Cluster{cfg})
			c := mustCluster(t, m, "c")
			_, _, err := get(t, c, "/")
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v (%s)", err, tc.wantErr, endpointState(c))
			}
			if statusOf(t, c, "127.0.0.2").Healthy {
				t.Fatalf("endpoint reported healthy")
			}
			if got := c.PanicMode(); got != (tc.wantErr == nil) {
				t.Fatalf("PanicMode = %v", got)
			}
		})
	}
}

func TestGRPCHealthCheck(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2")
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go srv.Serve(lns[0])
	t.Cleanup(srv.Stop)

	m, _ := newTestManager(t, newFakeResolver(), func(o *Options) { o.PanicThreshold = new(0.0) })
	cfg := httpCluster("c", "127.0.0.2", port)
	cfg.Protocol = ir.GRPC
	cfg.HealthCheck = fastHealthCheck(ir.GRPC)
	m.Update([]ir.Cluster{cfg})
	c := mustCluster(t, m, "c")
	waitFor(t, "healthy", func() bool { return statusOf(t, c, "127.0.0.2").Healthy })

	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	waitFor(t, "unhealthy on NOT_SERVING", func() bool { return !statusOf(t, c, "127.0.0.2").Healthy })
	if _, _, err := get(t, c, "/"); !errors.Is(err, ErrNoHealthyUpstream) {
		t.Fatalf("err = %v", err)
	}
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	waitFor(t, "healthy on SERVING", func() bool { return statusOf(t, c, "127.0.0.2").Healthy })
}

func TestGRPCHealthCheckUnimplemented(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2")
	srv := grpc.NewServer() // no health service: grpc-status 12
	go srv.Serve(lns[0])
	t.Cleanup(srv.Stop)
	m, _ := newTestManager(t, newFakeResolver(), nil)
	cfg := httpCluster("c", "127.0.0.2", port)
	cfg.Protocol = ir.GRPC
	cfg.HealthCheck = fastHealthCheck(ir.GRPC)
	m.Update([]ir.Cluster{cfg})
	c := mustCluster(t, m, "c")
	ep := c.state.Load().all[0]
	p := c.newProber(ep)
	defer p.close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, err := p.check(ctx)
	if res != hcActiveFail || err == nil {
		t.Fatalf("check = %v, %v; want an active failure", res, err)
	}
}

func TestParseHealthResponse(t *testing.T) {
	frame := func(msg ...byte) []byte {
		b := make([]byte, 5, 5+len(msg))
		binary.BigEndian.PutUint32(b[1:], uint32(len(msg)))
		return append(b, msg...)
	}
	for _, tc := range []struct {
		name    string
		body    []byte
		want    uint64
		wantErr bool
	}{
		{"serving", frame(0x08, 0x01), 1, false},
		{"not serving", frame(0x08, 0x02), 2, false},
		{"empty message is UNKNOWN", frame(), 0, false},
		{"unknown fields skipped", frame(0x12, 0x02, 'h', 'i', 0x19, 1, 2, 3, 4, 5, 6, 7, 8, 0x25, 1, 2, 3, 4, 0x08, 0x01), 1, false},
		{"no frame", nil, 0, true},
		{"compressed", append([]byte{1}, frame(0x08, 0x01)[1:]...), 0, true},
		{"truncated", frame(0x08, 0x01)[:6], 0, true},
		{"bad varint", frame(0x08, 0xff), 0, true},
		{"bad length", frame(0x12, 0x7f), 0, true},
		{"bad wire type", frame(0x0b), 0, true},
		{"short fixed64", frame(0x19, 1), 0, true},
		{"short fixed32", frame(0x1d, 1), 0, true},
	} {
		got, err := parseHealthResponse(tc.body)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%s: got %d, %v", tc.name, got, err)
		}
	}
}

func FuzzParseHealthResponse(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 2, 8, 1})
	f.Fuzz(func(t *testing.T, b []byte) { parseHealthResponse(b) })
}
