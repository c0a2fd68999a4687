package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/meshgate/meshgate/internal/gateway/metrics"
	"github.com/meshgate/meshgate/internal/gateway/upstream"
	"github.com/meshgate/meshgate/internal/ir"
)

// TestObserveMetrics: each request served is counted, as the admin
// endpoint shows it, for its listener, its gateway route (one series a
// name, however many virtual hosts have the route) and its cluster; a
// request no route matches only for the listener. After a configuration
// that reorders the routes and adds one, requests still count for their
// own route's series, which keep their counts, and a route that went has
// no series any more.
func TestObserveMetrics(t *testing.T) {
	be := startEcho(t, "backend")
	m, scrape := testMetrics(t)
	port := freePort(t)
	c := clusterTo(t, "backend", ir.HTTP, be.Addr)
	// A cluster whose one endpoint refuses connections.
	down := clusterTo(t, "down", ir.HTTP, fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	route := func(name string) ir.GatewayRoute { return gatewayRoute(name, "/"+name+"/", testSvc) }
	config := func(hosts ...ir.VirtualHost) *ir.Gateway {
		return &ir.Gateway{Mesh: "m", Name: "gw", UID: "uid",
			Listeners: []ir.Listener{{Port: port, Protocol: ir.HTTP, VirtualHosts: hosts}},
			Services: []ir.Service{nodeService(testSvc, ir.HTTP, c.Name, nil),
				nodeService("down.local", ir.HTTP, down.Name, nil)},
			Clusters: []ir.Cluster{c, down}}
	}
	g, addr := startGatewayOpts(t, Options{Metrics: m}, config(
		ir.VirtualHost{Name: "x", Domains: []string{"x.example"}, Routes: []ir.GatewayRoute{route("c"), route("a")}},
		ir.VirtualHost{Name: "any", Domains: []string{"*"},
			Routes: []ir.GatewayRoute{route("a"), route("b"), gatewayRoute("down", "/down/", "down.local")}}))
	admin := g.AdminHandler(nil, scrape)

	client := h1Client(t)
	send := func(host, path string, want int) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		req.Host = host
		if resp, _ := doReq(t, client, req); resp.StatusCode != want {
			t.Fatalf("%s%s: status %d, want %d", host, path, resp.StatusCode, want)
		}
	}
	for _, r := range []struct{ host, path string }{
		{"gw", "/a/1"}, {"gw", "/a/2"}, {"x.example", "/a/3"}, {"gw", "/b/"}, {"gw", "/b/"}, {"x.example:80", "/c/"},
	} {
		send(r.host, r.path, http.StatusOK)
	}
	send("gw", "/c/", http.StatusNotFound) // c is on x.example only
	// Refused: the first attempt and the two retries of App Mesh's
	// default policy fail to connect.
	send("gw", "/down/", http.StatusServiceUnavailable)
	cl, dl, lst := `cluster="`+c.Name+`"`, `cluster="`+down.Name+`"`, `listener="`+strconv.Itoa(int(port))+`"`
	checkSeries(t, admin, map[string]string{
		`route_requests_total{gateway_route="a"}`:                            "3",
		`route_requests_total{gateway_route="b"}`:                            "2",
		`route_requests_total{gateway_route="c"}`:                            "1",
		`route_responses_total{code_class="2xx",gateway_route="a"}`:          "3",
		`route_responses_total{code_class="5xx",gateway_route="down"}`:       "1",
		`listener_requests_total{` + lst + `}`:                               "8",
		`listener_active_requests{` + lst + `}`:                              "0",
		`listener_no_route_total{` + lst + `}`:                               "1",
		`listener_responses_total{code_class="4xx",` + lst + `}`:             "1",
		`cluster_upstream_requests_total{` + cl + `}`:                        "6",
		`cluster_upstream_responses_total{` + cl + `,code_class="2xx"}`:      "6",
		`cluster_upstream_request_duration_seconds_count{` + cl + `}`:        "6",
		`cluster_upstream_active_requests{` + cl + `}`:                       "0",
		`cluster_upstream_requests_total{` + dl + `}`:                        "3",
		`cluster_upstream_errors_total{` + dl + `,reason="connect_failure"}`: "3",
		`cluster_upstream_retries_total{` + dl + `}`:                         "2",
		`cluster_upstream_retry_limit_exceeded_total{` + dl + `}`:            "1",
		`cluster_upstream_active_requests{` + dl + `}`:                       "0",
	})

	// Another order, a new route first, c gone.
	mustApply(t, g, config(ir.VirtualHost{Name: "any", Domains: []string{"*"},
		Routes: []ir.GatewayRoute{route("d"), route("b"), route("a")}}))
	send("gw", "/a/", http.StatusOK)
	send("gw", "/d/", http.StatusOK)
	send("gw", "/d/", http.StatusOK)
	checkSeries(t, admin, map[string]string{
		`route_requests_total{gateway_route="a"}`: "4",
		`route_requests_total{gateway_route="b"}`: "2",
		`route_requests_total{gateway_route="d"}`: "2",
	}, `route_requests_total{gateway_route="c"}`)
}

// testMetrics is the gateway's metrics on a registry of their own, and
// the Prometheus handler that scrapes it.
func testMetrics(t *testing.T) (*metrics.Metrics, http.Handler) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	return m, promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// checkSeries scrapes the Prometheus handler h (its path is the admin
// endpoint's) and checks the series in want ("name{labels}" without the
// meshgate_gateway_ prefix → value) and that those in gone are absent. A
// request is observed once its handler returns, which its client may see
// a moment after the response: the scrape is tried again for a while.
func checkSeries(t *testing.T, h http.Handler, want map[string]string, gone ...string) {
	t.Helper()
	var wrong []string
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if wrong = seriesMismatch(t, h, want, gone); len(wrong) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, w := range wrong {
		t.Error(w)
	}
}

func seriesMismatch(t *testing.T, h http.Handler, want map[string]string, gone []string) (wrong []string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/stats/prometheus", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/stats/prometheus: status %d", rec.Code)
	}
	got := map[string]string{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		if line := sc.Text(); !strings.HasPrefix(line, "#") {
			if series, value, ok := strings.Cut(line, " "); ok {
				got[strings.TrimPrefix(series, "meshgate_gateway_")] = value
			}
		}
	}
	for series, value := range want {
		if got[series] != value {
			wrong = append(wrong, fmt.Sprintf("%s = %q, want %s", series, got[series], value))
		}
	}
	for _, series := range gone {
		if v, ok := got[series]; ok {
			wrong = append(wrong, fmt.Sprintf("%s = %s, want no such series", series, v))
		}
	}
	slices.Sort(wrong)
	return wrong
}

// TestAttemptDone: how each outcome of an upstream attempt is counted for
// its cluster. An attempt that found no healthy endpoint never went out
// and is not an upstream request; a failed one is counted with its
// reason, but not a client going away; a response retried ends with its
// status, and the response passed on when the request ends (observe).
func TestAttemptDone(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	refused := &upstream.ConnectError{Cluster: "c", Err: errors.New("connection refused")}
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		resp   *http.Response
		err    error
		last   bool
		counts map[string]string
	}{
		{"no healthy endpoint", context.Background(), nil, errNoHealthyUpstream, true,
			map[string]string{`requests_total`: "0", `active_requests`: "0"}},
		{"connect failure", context.Background(), nil, refused, true,
			map[string]string{`requests_total`: "1", `errors_total{reason="connect_failure"}`: "1"}},
		{"timeout", context.Background(), nil, errPerTryTimeout, false,
			map[string]string{`requests_total`: "1", `errors_total{reason="timeout"}`: "1"}},
		{"client gone", canceled, nil, context.Canceled, true,
			map[string]string{`requests_total`: "1", `errors_total{reason="reset"}`: "0"}},
		{"malformed response", context.Background(), nil, &upstream.ProtocolError{Err: errors.New("malformed HTTP response")}, true,
			map[string]string{`requests_total`: "1", `errors_total{reason="protocol_error"}`: "1"}},
		{"reset", context.Background(), nil, io.ErrUnexpectedEOF, true,
			map[string]string{`requests_total`: "1", `errors_total{reason="reset"}`: "1"}},
		{"response retried", context.Background(), &http.Response{StatusCode: 503}, nil, false,
			map[string]string{`requests_total`: "1", `responses_total{code_class="5xx"}`: "1", `active_requests`: "0"}},
		{"response passed on", context.Background(), &http.Response{StatusCode: 200}, nil, true,
			map[string]string{`requests_total`: "0", `active_requests`: "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, scrape := testMetrics(t)
			ex := &exchange{clusterMetrics: m.Cluster("c")}
			ex.clusterMetrics.RequestStarted()
			ex.attemptDone(tc.ctx, time.Now(), tc.resp, tc.err, tc.last)
			want := map[string]string{}
			for k, v := range tc.counts {
				name, labels, _ := strings.Cut(k, "{")
				if labels != "" {
					labels = "," + strings.TrimSuffix(labels, "}")
				}
				want[`cluster_upstream_`+name+`{cluster="c"`+labels+`}`] = v
			}
			checkSeries(t, scrape, want)
			if stored := !ex.lastAttemptStart.IsZero(); stored != (tc.resp != nil && tc.last) {
				t.Errorf("last attempt kept for the request's end: %v", stored)
			}
		})
	}
}
