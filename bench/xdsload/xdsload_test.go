package main

import (
	"context"
	"testing"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/meshgate/meshgate/internal/xds/gwconfig"
)

// TestLoadToolSmall runs the whole tool small: a real meshgate server, 50
// clients (5 gateways × 10, Envoy-like and gateway-like), 25 gateway routes,
// a few changes of each kind and a short soak with client restarts. It
// asserts correctness only (every change reached its clients within a
// generous bound, nothing reached anyone else, unrelated changes pushed
// nothing, every client ends on the server's versions), never timing.
func TestLoadToolSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a meshgate server process")
	}
	bin, err := buildMeshgate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cfg := config{Bin: bin, Gateways: 5, ClientsPerGateway: 10, Routes: 5, Services: 2, Kind: "mixed", MaxProxies: -1,
		Changes: 5, AllChanges: 2, Gap: 20 * time.Millisecond, Quiet: 500 * time.Millisecond, ConvergeTimeout: 30 * time.Second,
		Soak: 2 * time.Second, SoakEvery: 200 * time.Millisecond, SampleEvery: 500 * time.Millisecond,
		ReconnectEvery: 300 * time.Millisecond, ReconnectFraction: 0.1, Workers: 4, Seed: 1}
	res, err := run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	const clients = 50

	if a := res.RouteChange; len(a.SamplesMs) != cfg.Changes || a.Failed != 0 || a.Late != 0 || a.OtherPush != 0 {
		t.Errorf("(a) %d of %d changes configured, %d failed, %d late, %d responses to other gateways' clients",
			len(a.SamplesMs), cfg.Changes, a.Failed, a.Late, a.OtherPush)
	}
	if a := res.RouteChange; a.Syncs < cfg.Changes || a.SyncMeanMs <= 0 {
		// Each change is configured before the next: one sync each at least.
		t.Errorf("(a) %d full syncs of %.2f ms on average counted by the server for %d changes", a.Syncs, a.SyncMeanMs, cfg.Changes)
	}
	if a := res.RouteChange; a.PerClient < 1 {
		t.Errorf("(a) %.2f responses per affected client per change, want at least 1", a.PerClient)
	}
	if b := res.AllChange; len(b.SamplesMs) != cfg.AllChanges || b.Failed != 0 || b.Late != 0 || b.Affected != clients {
		t.Errorf("(b) %d of %d changes reached all %d clients, %d failed, %d late", len(b.SamplesMs), cfg.AllChanges, b.Affected, b.Failed, b.Late)
	}
	if len(res.Unrelated) != 3 {
		t.Fatalf("(c) %d unrelated changes measured, want 3", len(res.Unrelated))
	}
	for _, q := range res.Unrelated {
		if q.ClientPushes != 0 || q.ServerPushes != 0 {
			t.Errorf("(c) %s: %d responses to clients, %.0f pushes by the server; want none", q.What, q.ClientPushes, q.ServerPushes)
		}
	}
	if v := res.Verify; v.Matching != clients || v.Clients != clients {
		t.Errorf("%d of %d clients hold the server's versions: %v", v.Matching, v.Clients, v.Mismatches)
	}
	if s := res.Server; s.RSSBytes <= 0 || s.HWMBytes < s.RSSBytes || s.Goroutines <= 0 || s.Proxies != clients {
		t.Errorf("(d) server sample %+v", s)
	}

	s := res.Soak
	if s == nil {
		t.Fatal("no soak result")
	}
	if len(s.Changes.SamplesMs) == 0 || s.Changes.Failed != 0 {
		t.Errorf("soak: %d changes configured, %d failed", len(s.Changes.SamplesMs), s.Changes.Failed)
	}
	if s.Reconnects == 0 || res.Clients.Sessions <= clients {
		t.Errorf("soak: %d restarts asked, %d sessions opened for %d clients", s.Reconnects, res.Clients.Sessions, clients)
	}
	if len(s.Samples) < 2 || s.First.Samples == 0 || s.Last.Samples == 0 {
		t.Errorf("soak: %d samples, windows of %d and %d", len(s.Samples), s.First.Samples, s.Last.Samples)
	}
	if s.Verify.Matching != clients {
		t.Errorf("after the soak %d of %d clients hold the server's versions: %v", s.Verify.Matching, clients, s.Verify.Mismatches)
	}
	for _, q := range s.Unrelated {
		if q.ClientPushes != 0 {
			t.Errorf("after the soak, %s: %d responses to clients", q.What, q.ClientPushes)
		}
	}
}

// TestConverged: a change is done only when every client moved off its
// pre-change configuration to one configuration per gateway and kind.
func TestConverged(t *testing.T) {
	notify := make(chan struct{}, 1)
	a := newClient(0, 0, gatewayKind, nodeID(meshName, 0), "", nil, notify)
	b := newClient(1, 0, gatewayKind, nodeID(meshName, 0), "", nil, notify)
	e := newClient(2, 0, envoyKind, nodeID(meshName, 0), "", nil, notify)
	cs := []*client{a, b, e}
	for _, c := range cs {
		c.setNeed(gcType(c), true)
	}
	t0 := time.Now()
	a.record(gcType(a), "v1", t0)
	b.record(gcType(b), "v1", t0)
	e.record(gcType(e), "e1", t0)
	pre := sigs(cs)
	if converged(cs, pre).done {
		t.Fatal("done before any change")
	}
	a.record(gcType(a), "v2", t0.Add(time.Millisecond))
	e.record(gcType(e), "e2", t0.Add(3*time.Millisecond))
	if c := converged(cs, pre); c.done || c.complete != 2 {
		t.Fatalf("one client still on its old version: %+v", c)
	}
	b.record(gcType(b), "v3", t0.Add(2*time.Millisecond))
	if converged(cs, pre).done {
		t.Fatal("done while two clients of one gateway and kind disagree")
	}
	a.record(gcType(a), "v3", t0.Add(4*time.Millisecond))
	c := converged(cs, pre)
	if !c.done || !c.last.Equal(t0.Add(4*time.Millisecond)) {
		t.Fatalf("converged %+v, want done at +4ms", c)
	}
	if n := late(cs, c.last); n != 0 {
		t.Errorf("late %d", n)
	}
}

func gcType(c *client) string {
	if c.kind == gatewayKind {
		return gwconfig.Type
	}
	return resource.RouteType
}

func TestPercentiles(t *testing.T) {
	s := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if p := pct(s, 0.5); p != 5 {
		t.Errorf("p50 %v", p)
	}
	if p := pct(s, 0.99); p != 10 {
		t.Errorf("p99 %v", p)
	}
	if m := median([]float64{3, 1, 2, 10}); m != 2.5 {
		t.Errorf("median %v", m)
	}
	if pct(nil, 0.5) != 0 || median(nil) != 0 {
		t.Error("empty")
	}
}
