package gateway

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/testutil/wait"
)

// logLines waits until the file has at least n lines and returns them.
func logLines(t *testing.T, path string, n int) []string {
	t.Helper()
	var lines []string
	wait.For(t, 5*time.Second, "access-log lines", func() bool {
		b, _ := os.ReadFile(path)
		lines = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(b) == 0 {
			lines = nil
		}
		return len(lines) >= n
	})
	return lines
}

func findLine(t *testing.T, lines []string, substr string) string {
	t.Helper()
	for _, l := range lines {
		if strings.Contains(l, substr) {
			return l
		}
	}
	t.Fatalf("no access-log line with %q in:\n%s", substr, strings.Join(lines, "\n"))
	return ""
}

// TestAccessLog: a gateway with an access log writes one line per request
// with method, path, status and response flags, first in Envoy's default
// format, then, after a configuration change to a JSON format on the same
// file, as typed JSON.
func TestAccessLog(t *testing.T) {
	be := startEcho(t, "backend")
	path := filepath.Join(t.TempDir(), "access.log")
	cfg := oneBackend(t, ir.HTTP, be.Addr, nil)
	cfg.Listeners[0].VirtualHosts[0].Routes = []ir.GatewayRoute{
		gatewayRoute("ok", "/ok", testSvc),
		gatewayRoute("orphan", "/orphan", "orphan.local"),
	}
	cfg.Services = append(cfg.Services, ir.Service{Name: "orphan.local", Port: testSvcPort})
	cfg.AccessLog = &ir.AccessLog{Path: path}
	g := startGateway(t, cfg)
	c := h1Client(t)

	do := func(method, p string, want int) {
		t.Helper()
		req, _ := http.NewRequest(method, listenURL(cfg, 0, p), nil)
		req.Header.Set("User-Agent", "access-log-test")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d", method, p, resp.StatusCode, want)
		}
	}
	do("GET", "/ok/a?x=1", http.StatusOK)
	do("POST", "/nope", http.StatusNotFound)
	do("GET", "/orphan", http.StatusServiceUnavailable)

	lines := logLines(t, path, 3)
	if len(lines) != 3 {
		t.Fatalf("%d lines for 3 requests:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	ok := findLine(t, lines, `"GET /ok/a?x=1 HTTP/1.1" 200 - `)
	for _, want := range []string{`"access-log-test"`, `"` + be.Addr + `"`} {
		if !strings.Contains(ok, want) {
			t.Errorf("line %q lacks %s", ok, want)
		}
	}
	findLine(t, lines, `"POST /nope HTTP/1.1" 404 NR `)
	findLine(t, lines, `"GET /orphan HTTP/1.1" 503 UH `)

	// The same file, now in JSON.
	next := *cfg
	next.AccessLog = &ir.AccessLog{Path: path, JSON: []ir.JSONField{
		{Key: "method", Value: "%REQ(:METHOD)%"},
		{Key: "path", Value: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"},
		{Key: "status", Value: "%RESPONSE_CODE%"},
		{Key: "flags", Value: "%RESPONSE_FLAGS%"},
		{Key: "route", Value: "%ROUTE_NAME%"},
		{Key: "cluster", Value: "%UPSTREAM_CLUSTER%"},
	}}
	mustApply(t, g, &next)
	do("PUT", "/ok/json", http.StatusOK)
	do("DELETE", "/missing", http.StatusNotFound)

	lines = logLines(t, path, 5)
	if len(lines) != 5 {
		t.Fatalf("%d lines for 5 requests:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	type entry struct {
		Method, Path, Flags, Route string
		Cluster                    *string
		Status                     int
	}
	var got []entry
	for _, l := range lines[3:] {
		var e entry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("line %q is not JSON: %v", l, err)
		}
		got = append(got, e)
	}
	byMethod := map[string]entry{}
	for _, e := range got {
		byMethod[e.Method] = e
	}
	put, del := byMethod["PUT"], byMethod["DELETE"]
	if put.Path != "/ok/json" || put.Status != 200 || put.Flags != "-" || put.Route != "ok" ||
		put.Cluster == nil || *put.Cluster != cfg.Clusters[0].Name {
		t.Errorf("PUT entry %+v", put)
	}
	if del.Path != "/missing" || del.Status != 404 || del.Flags != "NR" {
		t.Errorf("DELETE entry %+v", del)
	}
}

// TestAccessLogEnvoyParity documents where the gateway's access log
// differs from Envoy's, whose HTTP connection manager and router change
// the downstream request headers in place before the access log reads
// them: Envoy logs the X-Forwarded-For it appended the client address to,
// the x-request-id it generated, the :path and :authority as forwarded
// (after the gateway route's rewrites), the pre-rewrite path as
// X-ENVOY-ORIGINAL-PATH, and it strips a client's own
// x-envoy-original-path at the edge. The gateway would log the request as the
// client sent it unless observe.go applies those overrides.
func TestAccessLogEnvoyParity(t *testing.T) {
	be := startEcho(t, "backend")
	path := filepath.Join(t.TempDir(), "access.log")
	cfg := oneBackend(t, ir.HTTP, be.Addr, nil)
	r := gatewayRoute("rewrite", "/old", testSvc)
	r.Action.PrefixRewrite = new("/new")
	cfg.Listeners[0].VirtualHosts[0].Routes = []ir.GatewayRoute{r}
	cfg.AccessLog = &ir.AccessLog{Path: path, JSON: []ir.JSONField{
		{Key: "xff", Value: "%REQ(X-FORWARDED-FOR)%"},
		{Key: "id", Value: "%REQ(X-REQUEST-ID)%"},
		{Key: "path", Value: "%REQ(:PATH)%"},
		{Key: "original", Value: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"},
		{Key: "authority", Value: "%REQ(:AUTHORITY)%"},
	}}
	startGateway(t, cfg)
	c := h1Client(t)

	req, _ := http.NewRequest("GET", listenURL(cfg, 0, "/old/x?q=1"), nil)
	req.Host = "client.example"
	resp, body := doReq(t, c, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	rep := echoReply(t, body)
	req, _ = http.NewRequest("GET", listenURL(cfg, 0, "/old/y"), nil)
	req.Header.Set("X-Envoy-Original-Path", "/spoofed")
	doReq(t, c, req)

	lines := logLines(t, path, 2)
	var e struct{ XFF, ID, Path, Original, Authority string }
	if err := json.Unmarshal([]byte(findLine(t, lines, "/old/x")), &e); err != nil {
		t.Fatal(err)
	}
	if e.XFF != "127.0.0.1" {
		t.Errorf("logged x-forwarded-for %q, want the appended %q (as sent upstream: %q)", e.XFF, "127.0.0.1",
			rep.Header.Get("X-Forwarded-For"))
	}
	if e.ID == "" || e.ID != rep.Header.Get("X-Request-Id") {
		t.Errorf("logged x-request-id %q, want the one sent upstream %q", e.ID, rep.Header.Get("X-Request-Id"))
	}
	if e.Path != "/new/x?q=1" || e.Original != "/old/x?q=1" || e.Authority != testSvc {
		t.Errorf("logged :path %q, original %q, :authority %q; want %q, %q, %q (Envoy logs the forwarded request)",
			e.Path, e.Original, e.Authority, "/new/x?q=1", "/old/x?q=1", testSvc)
	}
	for _, l := range lines {
		if strings.Contains(l, "/spoofed") {
			t.Errorf("a client's X-Envoy-Original-Path was logged as the request path: %s", l)
		}
	}
}

// TestAccessLogStartsAtFirstByte: a request's start time (%START_TIME%,
// and %DURATION% from it) is when its first byte arrived, as Envoy's is:
// a head sent slowly counts, the idle wait before a connection's next
// request does not.
func TestAccessLogStartsAtFirstByte(t *testing.T) {
	be := startEcho(t, "backend")
	path := filepath.Join(t.TempDir(), "access.log")
	cfg := oneBackend(t, ir.HTTP, be.Addr, nil)
	cfg.AccessLog = &ir.AccessLog{Path: path, Text: "%REQ(:PATH)% %DURATION%\n"}
	startGateway(t, cfg)

	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", cfg.Listeners[0].Port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	const slow = 400 * time.Millisecond
	send := func(p string) {
		t.Helper()
		if _, err := io.WriteString(c, "GET "+p+" HTTP/1.1\r\n"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(slow)
		if _, err := io.WriteString(c, "Host: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", p, resp.StatusCode)
		}
	}
	send("/first")
	time.Sleep(3 * slow) // idle on the kept-alive connection
	send("/second")

	lines := logLines(t, path, 2)
	for _, p := range []string{"/first", "/second"} {
		var ms int
		if _, err := fmt.Sscanf(findLine(t, lines, p+" "), p+" %d", &ms); err != nil {
			t.Fatal(err)
		}
		if d := time.Duration(ms) * time.Millisecond; d < slow || p == "/second" && d >= 3*slow {
			t.Errorf("%s: %%DURATION%% %v, want from its first byte: at least %v (the head's pace), less than %v (its idle wait)",
				p, d, slow, 3*slow)
		}
	}
}

func doReq(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestUpstreamServiceTime: a response from upstream carries
// x-envoy-upstream-service-time, the milliseconds from the request to the
// upstream's answer (replacing one the upstream sent), as Envoy's router
// sets it; the access log's REQUEST_DURATION is 0 for a request without a
// body, RESPONSE_DURATION the time to the upstream's answer, and
// %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% (App Mesh's default format) the
// header. With a body, REQUEST_DURATION runs to the body's end.
func TestUpstreamServiceTime(t *testing.T) {
	const delay = 60 * time.Millisecond
	addr := serveBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // the answer comes delay after the request's end
		time.Sleep(delay)
		w.Header().Set("X-Envoy-Upstream-Service-Time", "9999")
		io.WriteString(w, "ok")
	}))
	path := filepath.Join(t.TempDir(), "access.log")
	cfg := oneBackend(t, ir.HTTP, addr, nil)
	cfg.AccessLog = &ir.AccessLog{Path: path,
		Text: "%REQUEST_DURATION% %RESPONSE_DURATION% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%\n"}
	startGateway(t, cfg)
	start := time.Now()
	resp, body := get(t, h1Client(t), listenURL(cfg, 0, "/slow"))
	took := time.Since(start).Milliseconds()
	st, err := strconv.ParseInt(resp.Header.Get("X-Envoy-Upstream-Service-Time"), 10, 64)
	if resp.StatusCode != http.StatusOK || body != "ok" || err != nil || st < delay.Milliseconds() || st > took {
		t.Fatalf("got %d %q, x-envoy-upstream-service-time %q: want 200 and %d to %d ms",
			resp.StatusCode, body, resp.Header.Get("X-Envoy-Upstream-Service-Time"), delay.Milliseconds(), took)
	}
	var reqD, respD, d, header int64
	line := logLines(t, path, 1)[0]
	if _, err := fmt.Sscanf(line, "%d %d %d %d", &reqD, &respD, &d, &header); err != nil {
		t.Fatalf("access log %q: %v", line, err)
	}
	if reqD != 0 || respD < delay.Milliseconds() || d < respD || header != st {
		t.Errorf("access log %q: want REQUEST_DURATION 0, RESPONSE_DURATION at least %d, DURATION at least that, the header %d",
			line, delay.Milliseconds(), st)
	}

	// A body that takes its time: REQUEST_DURATION runs to its end.
	pr, pw := io.Pipe()
	go func() {
		io.WriteString(pw, "first part, ")
		time.Sleep(delay)
		io.WriteString(pw, "and the rest")
		pw.Close()
	}()
	resp, err = h1Client(t).Post(listenURL(cfg, 0, "/slow"), "text/plain", pr)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	line = logLines(t, path, 2)[1]
	if _, err := fmt.Sscanf(line, "%d %d %d %d", &reqD, &respD, &d, &header); err != nil || reqD < delay.Milliseconds() || d < reqD+delay.Milliseconds()/2 {
		t.Errorf("access log %q (%v): want REQUEST_DURATION at least %d, and DURATION %d more", line, err, delay.Milliseconds(), delay.Milliseconds())
	}
}
