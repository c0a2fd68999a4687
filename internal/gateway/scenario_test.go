package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/scenario"
	"github.com/meshgate/meshgate/internal/testutil/echo"
	"github.com/meshgate/meshgate/internal/translate"
)

// TestScenariosLive serves every scenario from a live gateway on loopback,
// with echo backends on the 127.0.x.y addresses its nodes resolve to, and
// checks each case of its table end to end.
func TestScenariosLive(t *testing.T) {
	all, err := scenario.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if len(s.Cases) == 0 {
			continue
		}
		t.Run(s.Name, func(t *testing.T) {
			g := scenarioGateway(t, s)
			for _, c := range s.Cases {
				t.Run(c.Name, func(t *testing.T) { liveCase(t, g, c) })
			}
		})
	}
}

// scenarioGateway creates the scenario, starts echo backends for its nodes
// and a gateway serving it on 127.0.0.1.
func scenarioGateway(t *testing.T, s scenario.Scenario) *ir.Gateway {
	t.Helper()
	m := s.Model(t)
	cfg, err := translate.Gateway(m)
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range m.Nodes {
		if n.Spec.ServiceDiscovery == nil || n.Spec.ServiceDiscovery.Dns == nil {
			continue
		}
		for _, l := range n.Spec.Listeners {
			addr := net.JoinHostPort(*n.Spec.ServiceDiscovery.Dns.Hostname, strconv.Itoa(int(*l.PortMapping.Port)))
			echo.Start(t, name, addr, nil)
		}
	}
	g := New(Options{ListenHost: "127.0.0.1"})
	if err := g.Apply(cfg, cfg.Version()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		g.Shutdown(ctx)
	})
	return cfg
}

var h2c = func() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}, Timeout: 10 * time.Second}
}()

var h1 = &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}

func liveCase(t *testing.T, g *ir.Gateway, c scenario.Case) {
	url := fmt.Sprintf("http://127.0.0.1:%d%s", c.Request.Port, c.Request.Path)
	var body io.Reader
	client := h1
	if c.Request.GRPC {
		body = bytes.NewReader(echo.Frame([]byte("ping")))
		client = h2c
	}
	req, err := http.NewRequest(c.Request.Method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if c.Request.GRPC {
		req.Method = http.MethodPost
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("TE", "trailers")
	}
	req.Host = c.Request.Host
	for k, v := range c.Request.Headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var rep echo.Reply
	if c.Request.GRPC {
		grpcStatus := resp.Header.Get("Grpc-Status")
		if grpcStatus == "" {
			grpcStatus = resp.Trailer.Get("Grpc-Status")
		}
		if c.Expect.Status != http.StatusOK {
			if want := strconv.Itoa(c.Expect.GRPCStatus); grpcStatus != want {
				t.Fatalf("grpc-status %q, want %s", grpcStatus, want)
			}
			return
		}
		if grpcStatus != "0" {
			t.Fatalf("grpc-status %q (%s), want 0", grpcStatus, resp.Header.Get("Grpc-Message"))
		}
		msg, err := echo.ReadFrame(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("reading the gRPC reply: %v", err)
		}
		if rep, _, err = echo.ParseReply(msg); err != nil {
			t.Fatal(err)
		}
	} else {
		if resp.StatusCode != c.Expect.Status {
			t.Fatalf("status %d (%s), want %d", resp.StatusCode, raw, c.Expect.Status)
		}
		if c.Expect.Status != http.StatusOK {
			return
		}
		if err := json.Unmarshal(raw, &rep); err != nil {
			t.Fatalf("not an echo reply: %s", raw)
		}
	}
	if !slices.Contains(c.Expect.Nodes, rep.Node) {
		t.Errorf("reached node %s, want one of %v", rep.Node, c.Expect.Nodes)
	}
	if _, port, _ := net.SplitHostPort(rep.Addr); port != strconv.Itoa(int(c.Expect.NodePort)) {
		t.Errorf("reached port %s, want %d", port, c.Expect.NodePort)
	}
	if rep.Path != c.Expect.Path {
		t.Errorf("upstream path %q, want %q", rep.Path, c.Expect.Path)
	}
	if rep.Host != c.Expect.Host {
		t.Errorf("upstream Host %q, want %q", rep.Host, c.Expect.Host)
	}
	if rep.Header.Get("X-Request-Id") == "" || !strings.Contains(rep.Header.Get("X-Forwarded-For"), "127.0.0.1") {
		t.Errorf("edge headers missing: x-request-id %q, x-forwarded-for %q", rep.Header.Get("X-Request-Id"), rep.Header.Get("X-Forwarded-For"))
	}
}
