package scenario

import (
	"bytes"
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

	"github.com/meshgate/meshgate/internal/testutil/echo"
)

// StartBackends starts an echo backend for every listener of every virtual
// node of the scenario, on the address its DNS hostname names (the
// scenarios use 127.0.x.y literals), until the test ends.
func (s Scenario) StartBackends(t testing.TB) {
	t.Helper()
	for _, r := range s.Resources {
		if r.Kind != "virtualNode" {
			continue
		}
		var spec struct {
			Listeners []struct {
				PortMapping struct{ Port int } `json:"portMapping"`
			} `json:"listeners"`
			ServiceDiscovery struct {
				DNS *struct{ Hostname string } `json:"dns"`
			} `json:"serviceDiscovery"`
		}
		if err := json.Unmarshal(r.Spec, &spec); err != nil {
			t.Fatalf("scenario %s node %s: %v", s.Name, r.Name, err)
		}
		if spec.ServiceDiscovery.DNS == nil || net.ParseIP(spec.ServiceDiscovery.DNS.Hostname) == nil {
			continue // only literal addresses can be served locally
		}
		for _, l := range spec.Listeners {
			echo.Start(t, r.Name, net.JoinHostPort(spec.ServiceDiscovery.DNS.Hostname, strconv.Itoa(l.PortMapping.Port)), nil)
		}
	}
}

var (
	h1Client  = &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	h2cClient = func() *http.Client {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		return &http.Client{Transport: &http.Transport{Protocols: &p}, Timeout: 10 * time.Second}
	}()
)

// Run sends the case's request to a gateway listening on host (its port
// is the case's) and checks what happened against the echo backends.
func (c Case) Run(t testing.TB, host string) {
	t.Helper()
	if err := c.Check(host); err != nil {
		t.Error(err)
	}
}

// Check is Run returning the first discrepancy as an error, for callers
// that poll until a configuration has arrived.
func (c Case) Check(host string) error {
	url := fmt.Sprintf("http://%s%s", net.JoinHostPort(host, strconv.Itoa(int(c.Request.Port))), c.Request.Path)
	var body io.Reader
	client := h1Client
	if c.Request.GRPC {
		body = bytes.NewReader(echo.Frame([]byte("ping")))
		client = h2cClient
	}
	req, err := http.NewRequest(c.Request.Method, url, body)
	if err != nil {
		return err
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
		return err
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
				return fmt.Errorf("%s: grpc-status %q, want %s", c.Name, grpcStatus, want)
			}
			return nil
		}
		if grpcStatus != "0" {
			return fmt.Errorf("%s: grpc-status %q (%s), want 0", c.Name, grpcStatus, resp.Header.Get("Grpc-Message"))
		}
		msg, err := echo.ReadFrame(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("%s: reading the gRPC reply: %v", c.Name, err)
		}
		if rep, _, err = echo.ParseReply(msg); err != nil {
			return err
		}
	} else {
		if resp.StatusCode != c.Expect.Status {
			return fmt.Errorf("%s: status %d (%s), want %d", c.Name, resp.StatusCode, raw, c.Expect.Status)
		}
		if c.Expect.Status != http.StatusOK {
			return nil
		}
		if err := json.Unmarshal(raw, &rep); err != nil {
			return fmt.Errorf("%s: not an echo reply: %s", c.Name, raw)
		}
	}
	var problems []string
	if !slices.Contains(c.Expect.Nodes, rep.Node) {
		problems = append(problems, fmt.Sprintf("reached node %s, want one of %v", rep.Node, c.Expect.Nodes))
	}
	if _, port, _ := net.SplitHostPort(rep.Addr); port != strconv.Itoa(int(c.Expect.NodePort)) {
		problems = append(problems, fmt.Sprintf("reached port %s, want %d", port, c.Expect.NodePort))
	}
	if rep.Path != c.Expect.Path {
		problems = append(problems, fmt.Sprintf("upstream path %q, want %q", rep.Path, c.Expect.Path))
	}
	if rep.Host != c.Expect.Host {
		problems = append(problems, fmt.Sprintf("upstream Host %q, want %q", rep.Host, c.Expect.Host))
	}
	if rep.Header.Get("X-Request-Id") == "" || !strings.Contains(rep.Header.Get("X-Forwarded-For"), "127.0.0.1") {
		problems = append(problems, fmt.Sprintf("edge headers missing: x-request-id %q, x-forwarded-for %q",
			rep.Header.Get("X-Request-Id"), rep.Header.Get("X-Forwarded-For")))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s", c.Name, strings.Join(problems, "; "))
	}
	return nil
}
