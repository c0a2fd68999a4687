package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
)

// cloneIR deep-copies a configuration through JSON.
func cloneIR(t *testing.T, g *ir.Gateway) *ir.Gateway {
	t.Helper()
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	var out ir.Gateway
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// servingGoroutines counts the process's goroutines: a serving prepared
// for a refused configuration must leave none behind.
func servingGoroutines() int { return runtime.NumGoroutine() }

// TestApplyNACK: configurations that cannot be applied are refused with
// an error and the previous configuration keeps serving, unchanged.
func TestApplyNACK(t *testing.T) {
	be := startEcho(t, "backend")
	good := oneBackend(t, ir.HTTP, be.Addr, nil)
	g := startGateway(t, good)
	c := h1Client(t)
	stillServing := func(t *testing.T) {
		t.Helper()
		if v := g.Version(); v != good.Version() {
			t.Fatalf("version %q after a refused Apply, want %q", v, good.Version())
		}
		if !bytes.Equal(g.Config(), good.JSON()) {
			t.Fatal("the applied configuration changed after a refused Apply")
		}
		if !g.Ready() {
			t.Fatal("not ready after a refused Apply")
		}
		resp, body := get(t, c, listenURL(good, 0, "/still"))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("after a refused Apply: %d %s", resp.StatusCode, body)
		}
		if rep := echoReply(t, body); rep.Node != "backend" || rep.Path != "/still" || rep.Host != testSvc {
			t.Fatalf("after a refused Apply the request went to %s %s (host %s)", rep.Node, rep.Path, rep.Host)
		}
	}

	// Another process holds a port.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := uint32(taken.Addr().(*net.TCPAddr).Port)

	t.Run("listener port taken", func(t *testing.T) {
		bad := cloneIR(t, good)
		bad.Listeners = append(bad.Listeners, listenerOn(takenPort, ir.HTTP, gatewayRoute("all", "/", testSvc)))
		err := g.Apply(bad, bad.Version())
		if err == nil || !strings.Contains(err.Error(), fmt.Sprint(takenPort)) {
			t.Fatalf("Apply with a taken port: %v, want an error naming port %d", err, takenPort)
		}
		stillServing(t)
	})

	t.Run("listener change refused with the taken port", func(t *testing.T) {
		// The existing listener would move to http2 (a new server is
		// prepared for it) while the new one cannot bind: nothing of the
		// change may stay, the prepared server included.
		before := servingGoroutines()
		for range 20 {
			bad := cloneIR(t, good)
			bad.Listeners[0].Protocol = ir.HTTP2
			bad.Listeners = append(bad.Listeners, listenerOn(takenPort, ir.HTTP, gatewayRoute("all", "/", testSvc)))
			if err := g.Apply(bad, bad.Version()); err == nil {
				t.Fatal("Apply with a taken port succeeded")
			}
		}
		stillServing(t)
		if _, err := h2cClient(t).Get(listenURL(good, 0, "/h2c")); err == nil {
			t.Error("the listener speaks h2c: the refused protocol change took effect")
		}
		var after int
		deadline := time.Now().Add(2 * time.Second)
		for after = servingGoroutines(); after > before && time.Now().Before(deadline); after = servingGoroutines() {
			time.Sleep(20 * time.Millisecond)
		}
		if after > before {
			t.Errorf("%d listener-server goroutines before 20 refused Applies, %d after: servers prepared for "+
				"a refused configuration are left running", before, after)
		}
	})

	t.Run("certificate files missing", func(t *testing.T) {
		bad := cloneIR(t, good)
		dir := t.TempDir()
		bad.Listeners[0].TLS = &ir.ListenerTLS{Mode: ir.TLSStrict, Certificate: ir.Certificate{
			CertificateChain: filepath.Join(dir, "missing.crt"), PrivateKey: filepath.Join(dir, "missing.key")}}
		if err := g.Apply(bad, bad.Version()); err == nil {
			t.Fatal("Apply with missing certificate files succeeded")
		}
		stillServing(t)
	})

	regexCases := []struct {
		name   string
		mutate func(*ir.Gateway)
	}{
		{"gateway route path regex", func(g *ir.Gateway) {
			g.Listeners[0].VirtualHosts[0].Routes[0].Match = ir.Match{PathRegex: "/a/(unclosed"}
		}},
		{"gateway route header regex", func(g *ir.Gateway) {
			g.Listeners[0].VirtualHosts[0].Routes[0].Match.Headers = []ir.HeaderMatch{{Name: "x-v", Regex: new("[z-a]")}}
		}},
		{"path regex valid only inside ^(?:...)$", func(g *ir.Gateway) {
			g.Listeners[0].VirtualHosts[0].Routes[0].Match = ir.Match{PathRegex: "x)|.*|(y"}
		}},
		{"router route path regex", func(g *ir.Gateway) {
			g.Services[0].Routes[0].Match = ir.Match{PathRegex: "*"}
		}},
		{"access log format", func(g *ir.Gateway) {
			g.AccessLog = &ir.AccessLog{Path: "/dev/stdout", Text: "%NO_SUCH_OPERATOR%"}
		}},
	}
	for _, tc := range regexCases {
		t.Run(tc.name, func(t *testing.T) {
			bad := cloneIR(t, good)
			tc.mutate(bad)
			if err := g.Apply(bad, bad.Version()); err == nil {
				t.Fatal("Apply succeeded")
			}
			stillServing(t)
		})
	}

	// And a good change still applies afterwards.
	next := cloneIR(t, good)
	next.Listeners[0].VirtualHosts[0].Routes[0].Match.Prefix = "/only"
	mustApply(t, g, next)
	if resp, _ := get(t, c, listenURL(next, 0, "/still")); resp.StatusCode != http.StatusNotFound {
		t.Errorf("after a good Apply: /still answered %d, want 404", resp.StatusCode)
	}
}
