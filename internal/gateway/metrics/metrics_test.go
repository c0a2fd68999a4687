package metrics

import (
	"errors"
	"net/http"
	"net/netip"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/meshgate/meshgate/internal/ir"
)

func newTest(t *testing.T, lim Limits) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m, err := NewWithLimits(reg, lim)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

// series returns the value of every series of a metric family, keyed by
// its labels ("k=v,k=v"); histograms give their sample count.
func series(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "meshgate_gateway_"+name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(ls)
			out[strings.Join(ls, ",")] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return -1
}

func TestRegister(t *testing.T) {
	m, reg := newTest(t, DefaultLimits)
	m.Listener(8080).RequestStarted()
	m.Route("r").Observe(200, time.Millisecond)
	m.Cluster("c").RequestStarted()
	m.ConfigApplied("v1")
	m.AccessLogDropped()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) < 30 {
		t.Errorf("gathered %d families, want every metric", len(mfs))
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "meshgate_gateway_") {
			t.Errorf("%s lacks the meshgate_gateway_ prefix", mf.GetName())
		}
		if mf.GetHelp() == "" {
			t.Errorf("%s has no HELP", mf.GetName())
		}
	}
	// A second set on the same registry is an error, not a panic, and
	// leaves the first one registered.
	if _, err := New(reg); err == nil {
		t.Error("registering twice: want an error")
	}
	if got := series(t, reg, "listener_requests_total"); got["listener=8080"] != 1 {
		t.Errorf("first set lost after a failed second registration: %v", got)
	}
	// No registry: works, registers nothing.
	if m, err := New(nil); err != nil || m.Route("x") == nil {
		t.Errorf("New(nil) = %v, %v", m, err)
	}
}

func TestObserve(t *testing.T) {
	m, reg := newTest(t, DefaultLimits)
	l := m.Listener(8080)
	if m.Listener(8080) != l {
		t.Error("Listener(8080) is not stable")
	}
	l.ConnOpened()
	l.ConnOpened()
	l.ConnClosed()
	l.RequestStarted()
	l.RequestDone(200, 3*time.Millisecond)
	l.RequestStarted()
	l.RequestDone(503, time.Second)
	l.RequestStarted() // still in flight
	l.RequestStarted()
	l.RequestDone(0, time.Millisecond) // client went away: no class
	l.Overflow()
	l.NoRoute()
	l.NoRoute()

	r := m.Route("color-route")
	r.Observe(404, time.Millisecond)
	r.Observe(201, time.Millisecond)

	c := m.Cluster("cds_egress_mesh_white_http_9080")
	c.RequestStarted()
	c.RequestDone(500, 10*time.Millisecond)
	c.Retry()
	c.RequestStarted()
	c.RequestDone(200, 10*time.Millisecond)
	c.RequestStarted()
	c.RequestNotSent() // no healthy endpoint: not an upstream request
	c.Error(ErrTimeout)
	c.Error(ErrConnectFailure)
	c.Error(UpstreamError(200)) // out of range: ignored
	c.RetryLimitExceeded()
	c.NoHealthyUpstream()

	const lst, rt, cl = "listener=8080", "gateway_route=color-route", "cluster=cds_egress_mesh_white_http_9080"
	checks := []struct {
		metric, labels string
		want           float64
	}{
		{"listener_requests_total", lst, 4},
		{"listener_responses_total", "code_class=2xx," + lst, 1},
		{"listener_responses_total", "code_class=5xx," + lst, 1},
		{"listener_responses_total", "code_class=4xx," + lst, 0},
		{"listener_request_duration_seconds", lst, 3},
		{"listener_active_requests", lst, 1},
		{"listener_active_connections", lst, 1},
		{"listener_connections_total", lst, 2},
		{"listener_overflows_total", lst, 1},
		{"listener_no_route_total", lst, 2},
		{"route_requests_total", rt, 2},
		{"route_responses_total", "code_class=4xx," + rt, 1},
		{"route_responses_total", "code_class=2xx," + rt, 1},
		{"route_request_duration_seconds", rt, 2},
		{"cluster_upstream_requests_total", cl, 2},
		{"cluster_upstream_responses_total", cl + ",code_class=5xx", 1},
		{"cluster_upstream_active_requests", cl, 0},
		{"cluster_upstream_request_duration_seconds", cl, 2},
		{"cluster_upstream_errors_total", cl + ",reason=timeout", 1},
		{"cluster_upstream_errors_total", cl + ",reason=connect_failure", 1},
		{"cluster_upstream_errors_total", cl + ",reason=reset", 0},
		{"cluster_upstream_retries_total", cl, 1},
		{"cluster_upstream_retry_limit_exceeded_total", cl, 1},
		{"cluster_no_healthy_upstream_total", cl, 1},
	}
	for _, ck := range checks {
		got, ok := series(t, reg, ck.metric)[ck.labels]
		if !ok || got != ck.want {
			t.Errorf("%s{%s} = %v (present %v), want %v", ck.metric, ck.labels, got, ok, ck.want)
		}
	}
	// Buckets: 3 ms lands in le=0.005, 1 s in le=1.
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "meshgate_gateway_listener_request_duration_seconds" {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		if len(h.GetBucket()) != len(DurationBuckets) || h.GetBucket()[0].GetUpperBound() != 0.001 ||
			h.GetBucket()[len(DurationBuckets)-1].GetUpperBound() != 30 {
			t.Errorf("buckets %v", h.GetBucket())
		}
	}
}

func TestPrune(t *testing.T) {
	m, reg := newTest(t, DefaultLimits)
	for _, p := range []uint32{80, 443} {
		m.Listener(p).RequestStarted()
	}
	for _, r := range []string{"a", "b", "c"} {
		m.Route(r).Observe(200, time.Millisecond)
	}
	gone := m.Cluster("old")
	gone.RequestStarted()
	m.Cluster("kept").RequestStarted()

	m.Prune(Names{Listeners: []uint32{443}, Routes: []string{"a", "c"}, Clusters: []string{"kept", "new"}})

	for metric, want := range map[string][]string{
		"listener_requests_total":          {"listener=443"},
		"listener_responses_total":         {"code_class=1xx,listener=443", "code_class=2xx,listener=443", "code_class=3xx,listener=443", "code_class=4xx,listener=443", "code_class=5xx,listener=443"},
		"route_requests_total":             {"gateway_route=a", "gateway_route=c"},
		"route_request_duration_seconds":   {"gateway_route=a", "gateway_route=c"},
		"cluster_upstream_requests_total":  {"cluster=kept"},
		"cluster_upstream_errors_total":    {"cluster=kept,reason=connect_failure", "cluster=kept,reason=protocol_error", "cluster=kept,reason=reset", "cluster=kept,reason=timeout"},
		"cluster_upstream_active_requests": {"cluster=kept"},
	} {
		got := keys(series(t, reg, metric))
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s after prune: %v, want %v", metric, got, want)
		}
	}
	// A stale handle keeps working without bringing its series back.
	gone.RequestDone(200, time.Millisecond)
	if _, ok := series(t, reg, "cluster_upstream_requests_total")["cluster=old"]; ok {
		t.Error("stale handle resurrected cluster=old")
	}
	// Resolving again starts a fresh series.
	m.Route("b").Observe(200, time.Millisecond)
	if got := series(t, reg, "route_requests_total")["gateway_route=b"]; got != 1 {
		t.Errorf("route b after re-resolve = %v, want 1", got)
	}
}

func keys(m map[string]float64) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestCardinalityCap(t *testing.T) {
	m, reg := newTest(t, Limits{Listeners: 1, Routes: 2, Clusters: 2})
	a, b := m.Route("a"), m.Route("b")
	c, d := m.Route("c"), m.Route("d")
	if c != d || c == a || a == b {
		t.Fatal("routes past the cap must share one handle, others their own")
	}
	for _, r := range []*RouteMetrics{a, b, c, d} {
		r.Observe(200, time.Millisecond)
	}
	want := map[string]float64{"gateway_route=a": 1, "gateway_route=b": 1, "gateway_route=" + Other: 2}
	if got := series(t, reg, "route_requests_total"); !reflect.DeepEqual(got, want) {
		t.Errorf("capped routes: %v, want %v", got, want)
	}
	if got := series(t, reg, "metric_label_overflows")["kind=gateway_route"]; got != 2 {
		t.Errorf("overflows = %v, want 2", got)
	}
	// Many names never add series beyond the cap.
	for i := 0; i < 500; i++ {
		m.Route(strings.Repeat("x", i+1)).Observe(200, 0)
		m.Listener(uint32(i)).RequestStarted()
	}
	if n := len(series(t, reg, "route_requests_total")); n != 3 {
		t.Errorf("%d route series, want cap 2 + %s", n, Other)
	}
	if n := len(series(t, reg, "listener_requests_total")); n != 2 {
		t.Errorf("%d listener series, want cap 1 + %s", n, Other)
	}
	// Pruning frees slots; a name that overflowed gets its own series
	// once resolved again, and Other goes when nobody is in it.
	m.Prune(Names{Routes: []string{"a", "c"}})
	if got := series(t, reg, "metric_label_overflows")["kind=gateway_route"]; got != 1 {
		t.Errorf("overflows after prune = %v, want 1 (c)", got)
	}
	c = m.Route("c")
	if c == d {
		t.Error("c still folded into Other after a slot was freed")
	}
	c.Observe(200, time.Millisecond)
	got := keys(series(t, reg, "route_requests_total"))
	if strings.Join(got, " ") != "gateway_route=a gateway_route=c" {
		t.Errorf("after prune and re-resolve: %v", got)
	}
	if got := series(t, reg, "metric_label_overflows")["kind=gateway_route"]; got != 0 {
		t.Errorf("overflows = %v, want 0", got)
	}
}

// TestRouteSeriesAtFirstRequest: a route's series appear at its first
// request, not when it is resolved; a handle pruned before that never
// makes them.
func TestRouteSeriesAtFirstRequest(t *testing.T) {
	m, reg := newTest(t, DefaultLimits)
	idle, used, stale := m.Route("idle"), m.Route("used"), m.Route("stale")
	if n := len(series(t, reg, "route_requests_total")); n != 0 {
		t.Fatalf("%d route series before any request, want 0", n)
	}
	used.Observe(503, 2*time.Millisecond)
	used.Observe(200, time.Millisecond)
	if got := series(t, reg, "route_requests_total"); !reflect.DeepEqual(got, map[string]float64{"gateway_route=used": 2}) {
		t.Errorf("route_requests_total = %v, want used only, 2", got)
	}
	if got := series(t, reg, "route_responses_total"); got["code_class=5xx,gateway_route=used"] != 1 || got["code_class=2xx,gateway_route=used"] != 1 {
		t.Errorf("route_responses_total = %v", got)
	}
	m.Prune(Names{Routes: []string{"idle", "used"}})
	stale.Observe(200, time.Millisecond)
	if _, ok := series(t, reg, "route_requests_total")["gateway_route=stale"]; ok {
		t.Error("a pruned handle made its series at its first request")
	}
	idle.Observe(200, time.Millisecond)
	if got := series(t, reg, "route_request_duration_seconds")["gateway_route=idle"]; got != 1 {
		t.Errorf("idle route's histogram count after its first request = %v, want 1", got)
	}
}

// TestLabelsNeverFromRequests pins the API shape: what runs per request
// takes no string (nor anything carrying request data), so a label value
// can only come from the configuration, through Listener, Route and
// Cluster.
func TestLabelsNeverFromRequests(t *testing.T) {
	forbidden := map[reflect.Type]bool{
		reflect.TypeFor[string]():         true,
		reflect.TypeFor[[]byte]():         true,
		reflect.TypeFor[http.Header]():    true,
		reflect.TypeFor[*http.Request]():  true,
		reflect.TypeFor[*http.Response](): true,
		reflect.TypeFor[[]string]():       true,
		reflect.TypeFor[any]():            true,
	}
	for _, typ := range []reflect.Type{
		reflect.TypeFor[*ListenerMetrics](), reflect.TypeFor[*RouteMetrics](), reflect.TypeFor[*ClusterMetrics](),
	} {
		if typ.NumMethod() == 0 {
			t.Errorf("%v has no methods", typ)
		}
		for i := 0; i < typ.NumMethod(); i++ {
			meth := typ.Method(i)
			for j := 1; j < meth.Type.NumIn(); j++ {
				if in := meth.Type.In(j); forbidden[in] || in.Kind() == reflect.String {
					t.Errorf("%v.%s takes %v: request data could become a label", typ, meth.Name, in)
				}
			}
		}
	}
	// The listener label is the port, a number.
	m, reg := newTest(t, DefaultLimits)
	m.Listener(15001).RequestStarted()
	if _, ok := series(t, reg, "listener_requests_total")["listener=15001"]; !ok {
		t.Error("listener label is not the port")
	}
}

// upstreamMetrics mirrors upstream.Metrics (internal/gateway/upstream),
// which UpstreamEvents must satisfy; a copy keeps this package's tests
// independent of that package's build.
type upstreamMetrics interface {
	DNSResolution(cluster string, addrs int, err error)
	ConnectionOpened(cluster string, endpoint netip.AddrPort)
	ConnectionClosed(cluster string, endpoint netip.AddrPort)
	ConnectFailure(cluster string, endpoint netip.AddrPort, err error)
	HealthChanged(cluster string, endpoint netip.AddrPort, healthy bool)
	OutlierEjection(cluster string, endpoint netip.AddrPort, ejected bool)
}

var _ upstreamMetrics = (*UpstreamEvents)(nil)

func TestUpstreamEvents(t *testing.T) {
	m, reg := newTest(t, DefaultLimits)
	u := m.Upstream()
	ep := netip.MustParseAddrPort("10.0.0.1:9080")
	u.DNSResolution("c1", 3, nil)
	u.DNSResolution("c1", 0, errors.New("timeout"))
	u.ConnectionOpened("c1", ep)
	u.ConnectionOpened("c1", ep)
	u.ConnectionClosed("c1", ep)
	u.ConnectFailure("c1", ep, errors.New("refused"))
	u.HealthChanged("c1", ep, false)
	u.HealthChanged("c1", ep, true)
	u.OutlierEjection("c1", ep, true)
	u.OutlierEjection("c1", ep, true)
	u.OutlierEjection("c1", ep, false)
	for metric, want := range map[string]map[string]float64{
		"cluster_endpoints":                       {"cluster=c1": 3},
		"cluster_updates_total":                   {"cluster=c1,result=success": 1, "cluster=c1,result=failure": 1},
		"cluster_upstream_active_connections":     {"cluster=c1": 1},
		"cluster_upstream_connect_failures_total": {"cluster=c1": 1},
		"cluster_health_transitions_total":        {"cluster=c1,to=healthy": 1, "cluster=c1,to=unhealthy": 1},
		"cluster_outlier_ejections_total":         {"cluster=c1": 2},
		"cluster_outlier_ejections_active":        {"cluster=c1": 1},
	} {
		if got := series(t, reg, metric); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", metric, got, want)
		}
	}
	// Once a configuration is known, a late event for a cluster it no
	// longer has creates nothing.
	m.Prune(Names{Clusters: []string{"c2"}})
	u.ConnectionClosed("c1", ep)
	u.DNSResolution("c2", 1, nil)
	if got := keys(series(t, reg, "cluster_endpoints")); strings.Join(got, " ") != "cluster=c2" {
		t.Errorf("after prune: %v, want only c2", got)
	}
}

func TestConfigMetrics(t *testing.T) {
	m, reg := newTest(t, DefaultLimits)
	m.ConfigApplied("v1")
	m.ConfigApplied("v2")
	m.ConfigRejected()
	m.AccessLogDropped()
	m.AccessLogDropped()
	for metric, want := range map[string]map[string]float64{
		"config_info":              {"version=v2": 1},
		"config_applies_total":     {"": 2},
		"config_rejections_total":  {"": 1},
		"access_log_dropped_total": {"": 2},
	} {
		if got := series(t, reg, metric); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", metric, got, want)
		}
	}
}

func TestNilAndOddInput(t *testing.T) {
	var m *Metrics
	m.Listener(1).RequestStarted()
	m.Listener(1).RequestDone(200, 0)
	m.Listener(1).ConnOpened()
	m.Route("x").Observe(200, 0)
	m.Cluster("x").Error(ErrReset)
	m.Cluster("x").RequestDone(200, 0)
	m.Prune(Names{})
	m.ConfigApplied("v")
	m.ConfigRejected()
	m.AccessLogDropped()
	m.Upstream().DNSResolution("x", 1, nil)
	(*UpstreamEvents)(nil).ConnectionOpened("x", netip.AddrPort{})

	real, reg := newTest(t, DefaultLimits)
	real.Route("bad\xff\xfename").Observe(700, -time.Second) // invalid UTF-8, odd status, negative duration
	real.ConfigApplied("\xff")
	if got := series(t, reg, "route_requests_total"); got["gateway_route=bad\uFFFDname"] != 1 {
		t.Errorf("invalid UTF-8 name: %v", got)
	}
	if ErrProtocol.String() != "protocol_error" || UpstreamError(99).String() != "unknown" {
		t.Error("UpstreamError names")
	}
}

func TestNamesOf(t *testing.T) {
	g := &ir.Gateway{
		Listeners: []ir.Listener{
			{Port: 8080, VirtualHosts: []ir.VirtualHost{
				{Routes: []ir.GatewayRoute{{Name: "r1"}, {Name: "r2"}}},
				{Routes: []ir.GatewayRoute{{Name: "r1"}}},
			}},
			{Port: 9090, VirtualHosts: []ir.VirtualHost{{Routes: []ir.GatewayRoute{{Name: "r3"}}}}},
		},
		Clusters: []ir.Cluster{{Name: "c1"}, {Name: "c2"}},
	}
	got := NamesOf(g)
	want := Names{Listeners: []uint32{8080, 9090}, Routes: []string{"r1", "r2", "r3"}, Clusters: []string{"c1", "c2"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NamesOf = %+v, want %+v", got, want)
	}
	if !reflect.DeepEqual(NamesOf(nil), Names{}) {
		t.Error("NamesOf(nil)")
	}
}
