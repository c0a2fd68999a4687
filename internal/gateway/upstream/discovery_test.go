package upstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
)

func TestRoundRobinOverAllEndpoints(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2", "127.0.0.3")
	for _, ln := range lns {
		serve(t, ln, whoAmI(nil), nil)
	}
	r := newFakeResolver()
	r.set("backend.mesh.local", "127.0.0.3", "127.0.0.2")
	m, _ := newTestManager(t, r, nil)
	cfg := httpCluster("c", "backend.mesh.local", port)
	cfg.Discovery.AllEndpoints = true
	m.Update([]ir.Cluster{cfg})
	c := mustCluster(t, m, "c")

	counts := map[string]int{}
	var order []string
	for range 10 {
		ip := mustGet(t, c)
		counts[ip]++
		order = append(order, ip)
	}
	if counts["127.0.0.2"] != 5 || counts["127.0.0.3"] != 5 {
		t.Fatalf("uneven round robin: %v", counts)
	}
	for i := 1; i < len(order); i++ {
		if order[i] == order[i-1] {
			t.Fatalf("not alternating: %v", order)
		}
	}
	if got := len(c.Endpoints()); got != 2 {
		t.Fatalf("endpoints = %d, want 2", got)
	}
}

func TestLoadBalancerUsesFirstAddressAndFollowsDNS(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2", "127.0.0.3")
	for _, ln := range lns {
		serve(t, ln, whoAmI(nil), nil)
	}
	r := newFakeResolver()
	r.set("backend.mesh.local", "127.0.0.3", "127.0.0.2")
	m, _ := newTestManager(t, r, nil)
	m.Update([]ir.Cluster{httpCluster("c", "backend.mesh.local", port)})
	c := mustCluster(t, m, "c")
	for range 6 {
		if ip := mustGet(t, c); ip != "127.0.0.3" {
			t.Fatalf("LOADBALANCER answered from %s, want the first address 127.0.0.3", ip)
		}
	}
	if eps := c.Endpoints(); len(eps) != 1 {
		t.Fatalf("endpoints = %v, want one", eps)
	}

	r.set("backend.mesh.local", "127.0.0.2", "127.0.0.3")
	waitFor(t, "the endpoint to follow DNS", func() bool {
		eps := c.Endpoints()
		return len(eps) == 1 && eps[0].Address.Addr() == netip.MustParseAddr("127.0.0.2")
	})
	if ip := mustGet(t, c); ip != "127.0.0.2" {
		t.Fatalf("after the DNS change answered from %s", ip)
	}
}

func TestDNSFailureKeepsLastAddresses(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2", "127.0.0.3")
	for _, ln := range lns {
		serve(t, ln, whoAmI(nil), nil)
	}
	r := newFakeResolver()
	r.set("backend.mesh.local", "127.0.0.2", "127.0.0.3")
	m, logs := newTestManager(t, r, nil)
	cfg := httpCluster("c", "backend.mesh.local", port)
	cfg.Discovery.AllEndpoints = true
	m.Update([]ir.Cluster{cfg})
	c := mustCluster(t, m, "c")
	mustGet(t, c)

	for _, breakDNS := range []func(){
		func() { r.fail(errors.New("SERVFAIL")) },
		func() { r.set("backend.mesh.local") }, // an empty answer
	} {
		breakDNS()
		before := r.calls.Load()
		waitFor(t, "three failed resolutions", func() bool { return r.calls.Load() >= before+3 })
		if got := len(c.Endpoints()); got != 2 {
			t.Fatalf("endpoints after DNS failure = %d, want the last good 2", got)
		}
		seen := map[string]bool{}
		for range 4 {
			seen[mustGet(t, c)] = true
		}
		if len(seen) != 2 {
			t.Fatalf("traffic after DNS failure went to %v", seen)
		}
	}
	// One streak (the failure and the empty answer run together): logged once.
	if n := logs.count("DNS resolution failed"); n != 1 {
		t.Fatalf("failure logged %d times, want once per streak", n)
	}
	r.set("backend.mesh.local", "127.0.0.2")
	waitFor(t, "recovery", func() bool { return len(c.Endpoints()) == 1 })
	if logs.count("DNS resolution recovered") != 1 {
		t.Fatalf("recovery not logged")
	}
}

func TestNeverResolvedIsNoHealthyUpstream(t *testing.T) {
	r := newFakeResolver()
	r.fail(errors.New("NXDOMAIN"))
	m, _ := newTestManager(t, r, nil)
	m.Update([]ir.Cluster{httpCluster("c", "missing.mesh.local", 8080)})
	c := mustCluster(t, m, "c")
	start := time.Now()
	_, _, err := get(t, c, "/")
	if !errors.Is(err, ErrNoHealthyUpstream) {
		t.Fatalf("err = %v, want ErrNoHealthyUpstream", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("took %v", time.Since(start))
	}
	if status, body, ok := LocalReply(err); !ok || status != 503 || body != "no healthy upstream" {
		t.Fatalf("LocalReply = %d %q %v", status, body, ok)
	}
}

func TestIPLiteralResolvesToItself(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2")
	serve(t, lns[0], whoAmI(nil), nil)
	r := newFakeResolver()
	m, _ := newTestManager(t, r, nil)
	m.Update([]ir.Cluster{httpCluster("c", "127.0.0.2", port)})
	if ip := mustGet(t, mustCluster(t, m, "c")); ip != "127.0.0.2" {
		t.Fatalf("answered from %s", ip)
	}
	if r.calls.Load() != 0 {
		t.Fatalf("an IP literal was looked up")
	}
}

func TestSelectAddrs(t *testing.T) {
	v4a, v4b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	v6a, v6b := netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2")
	mapped := netip.MustParseAddr("::ffff:10.0.0.1")
	mixed := []netip.Addr{v4a, v6a, v4b, v6b, mapped, {}}
	for _, tc := range []struct {
		pref string
		in   []netip.Addr
		want []netip.Addr
	}{
		{IPv4Only, mixed, []netip.Addr{v4a, v4b}},
		{IPv6Only, mixed, []netip.Addr{v6a, v6b}},
		{IPv4Preferred, mixed, []netip.Addr{v4a, v4b}},
		{IPv4Preferred, []netip.Addr{v6b, v6a}, []netip.Addr{v6b, v6a}},
		{IPv6Preferred, mixed, []netip.Addr{v6a, v6b}},
		{IPv6Preferred, []netip.Addr{v4b, v4a}, []netip.Addr{v4b, v4a}},
		{"", mixed, []netip.Addr{v6a, v6b}},
		{"", []netip.Addr{v4a}, []netip.Addr{v4a}},
		{IPv6Only, []netip.Addr{v4a}, nil},
		{"bogus", []netip.Addr{v4a, v6a}, []netip.Addr{v6a}},
	} {
		if got := selectAddrs(tc.in, tc.pref); !slices.Equal(got, tc.want) {
			t.Errorf("selectAddrs(%v, %q) = %v, want %v", tc.in, tc.pref, got, tc.want)
		}
	}
}

func TestIPPreferenceFiltersEndpoints(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2")
	serve(t, lns[0], whoAmI(nil), nil)
	for _, tc := range []struct {
		pref    string
		network string
		want    []string
	}{
		{IPv4Only, "ip4", []string{"127.0.0.2"}},
		{IPv6Only, "ip6", []string{"::1"}},
		{IPv4Preferred, "ip", []string{"127.0.0.2"}},
		{IPv6Preferred, "ip", []string{"::1"}},
		{"", "ip", []string{"::1"}},
	} {
		t.Run(tc.pref, func(t *testing.T) {
			r := newFakeResolver()
			r.set("backend.mesh.local", "::1", "127.0.0.2")
			m, _ := newTestManager(t, r, nil)
			cfg := httpCluster("c", "backend.mesh.local", port)
			cfg.Discovery.AllEndpoints = true
			cfg.Discovery.IPPreference = tc.pref
			m.Update([]ir.Cluster{cfg})
			c := mustCluster(t, m, "c")
			waitFor(t, "resolution", func() bool { return len(c.Endpoints()) > 0 })
			var got []string
			for _, e := range c.Endpoints() {
				got = append(got, e.Address.Addr().String())
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("endpoints = %v, want %v", got, tc.want)
			}
			r.mu.Lock()
			network := r.networks[0]
			r.mu.Unlock()
			if network != tc.network {
				t.Fatalf("looked up %q, want %q", network, tc.network)
			}
			if tc.want[0] == "127.0.0.2" {
				mustGet(t, c)
			}
		})
	}
}

func TestEndpointDroppedByDNSDrains(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2", "127.0.0.3")
	release := make(chan struct{})
	serve(t, lns[0], whoAmI(nil), nil)
	serve(t, lns[1], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			w.(http.Flusher).Flush()
			<-release
		}
		io.WriteString(w, "127.0.0.3")
	}), nil)
	r := newFakeResolver()
	r.set("backend.mesh.local", "127.0.0.2", "127.0.0.3")
	m, _ := newTestManager(t, r, nil)
	cfg := httpCluster("c", "backend.mesh.local", port)
	cfg.Discovery.AllEndpoints = true
	m.Update([]ir.Cluster{cfg})
	c := mustCluster(t, m, "c")
	waitFor(t, "resolution", func() bool { return len(c.Endpoints()) == 2 })
	var dropped *endpoint
	for _, ep := range c.state.Load().all {
		if ep.addr.Addr().String() == "127.0.0.3" {
			dropped = ep
		}
	}
	// Round robin: one of two requests lands on 127.0.0.3.
	var slow *http.Response
	for slow == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://x/slow", nil)
		resp, err := c.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if req.URL.Host == dropped.hostport {
			slow = resp
		} else {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	r.set("backend.mesh.local", "127.0.0.2")
	waitFor(t, "127.0.0.3 to leave", func() bool { return len(c.Endpoints()) == 1 })
	for range 4 {
		if ip := mustGet(t, c); ip != "127.0.0.2" {
			t.Fatalf("traffic to a dropped endpoint")
		}
	}
	time.Sleep(100 * time.Millisecond)
	if dropped.idle() {
		t.Fatalf("the in-flight request's connection is gone")
	}
	close(release)
	body, err := io.ReadAll(slow.Body)
	slow.Body.Close()
	if err != nil || string(body) != "127.0.0.3" {
		t.Fatalf("in-flight response: %q %v", body, err)
	}
	waitFor(t, "the dropped endpoint to close", func() bool {
		dropped.connMu.Lock()
		defer dropped.connMu.Unlock()
		return dropped.closed && len(dropped.conns) == 0
	})
}
