package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/http/httpguts"

	"github.com/meshgate/meshgate/internal/gateway/metrics"
	"github.com/meshgate/meshgate/internal/gateway/requestid"
	"github.com/meshgate/meshgate/internal/gateway/router"
	"github.com/meshgate/meshgate/internal/ir"
)

// With -features, the floor also does the per-request work of the
// gateway that a request path moving heads as bytes would still do:
// every field checked as the gateway's HTTP/1.1 server and cluster client
// check them, the hop-by-hop, X-Forwarded-* and x-envoy-* fields dropped,
// routing with the gateway's router (ROUTES gateway routes, as
// bench/gateway-peer.sh), the rewrites, X-Forwarded-For,
// X-Forwarded-Proto, a fresh x-request-id and X-Envoy-Original-Path, the
// listener's limit counted, upstream connections shared through a pool,
// and the gateway's listener, route and cluster metrics observed with
// their clock readings. What it leaves out: route timeouts, retries,
// access logs, bodies and errors answered the gateway's way. It measures
// how close to the floor such a path could stay.

// work is what -features routes and observes with.
type work struct {
	table    *router.Table
	port     uint32
	listener *metrics.ListenerMetrics
	routes   []*metrics.RouteMetrics // by router.Decision.GatewayRouteID
	clusters map[string]*metrics.ClusterMetrics
	active   atomic.Int64 // the listener's requests in flight (its limit)
	pool     pool
}

func newWork(port uint32, upstream string) (*work, error) {
	routes, _ := strconv.Atoi(os.Getenv("ROUTES"))
	g := benchGateway(port, max(routes, 1))
	table, err := router.Compile(g)
	if err != nil {
		return nil, err
	}
	m, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		return nil, err
	}
	w := &work{table: table, port: port, listener: m.Listener(port),
		routes: make([]*metrics.RouteMetrics, table.GatewayRouteCount()), clusters: map[string]*metrics.ClusterMetrics{},
		pool: pool{addr: upstream}}
	for id, name := range table.GatewayRoutes() {
		w.routes[id] = m.Route(name)
	}
	for _, c := range g.Clusters {
		w.clusters[c.Name] = m.Cluster(c.Name)
	}
	return w, nil
}

// benchGateway is bench/gateway-peer.sh's configuration: routes-1 prefix
// routes ahead of /color/, all to color.local with its Host and "/".
func benchGateway(port uint32, routes int) *ir.Gateway {
	route := func(name string) ir.GatewayRoute {
		return ir.GatewayRoute{Name: name, Match: ir.Match{Prefix: "/" + name + "/"},
			Action: ir.GatewayRouteAction{Service: "color.local", Port: 80, HostRewrite: "color.local", PrefixRewrite: new("/")}}
	}
	var rs []ir.GatewayRoute
	for i := 1; i < routes; i++ {
		rs = append(rs, route(fmt.Sprintf("r%05d", i)))
	}
	rs = append(rs, route("color"))
	return &ir.Gateway{
		Listeners: []ir.Listener{{Port: port, Protocol: ir.HTTP, VirtualHosts: []ir.VirtualHost{
			{Name: "ingress", Domains: []string{"*"}, Routes: rs}}}},
		Services: []ir.Service{{Name: "color.local", Port: 80, Provider: "virtualNode/color",
			Routes: []ir.Route{{Targets: []ir.WeightedTarget{{Cluster: "color", Weight: 1}}}}}},
		Clusters: []ir.Cluster{{Name: "color", Node: "color", Port: 80}},
	}
}

// pool shares idle upstream connections among client connections, as
// the gateway's cluster client does.
type pool struct {
	addr string
	mu   sync.Mutex
	idle []*upstreamConn
}

type upstreamConn struct {
	c  net.Conn
	br *bufio.Reader
}

func (p *pool) get() (*upstreamConn, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		u := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return u, nil
	}
	p.mu.Unlock()
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		return nil, err
	}
	return &upstreamConn{c: c, br: bufio.NewReaderSize(c, 4096)}, nil
}

func (p *pool) put(u *upstreamConn) {
	p.mu.Lock()
	p.idle = append(p.idle, u)
	p.mu.Unlock()
}

// dropped reports whether the gateway drops a client's field on the way
// upstream (lower-case name): hop-by-hop, Host (rewritten), and what the
// edge sets itself.
func dropped(name []byte) bool {
	switch string(name) {
	case "host", "forwarded", "x-request-id":
		return true
	}
	return hopByHop(name) || bytes.HasPrefix(name, []byte("x-forwarded-")) || bytes.HasPrefix(name, []byte("x-envoy-"))
}

// hopByHop reports whether a response field is hop-by-hop (lower-case).
func hopByHop(name []byte) bool {
	switch string(name) {
	case "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade":
		return true
	}
	return false
}

// field splits a header line into its lower-cased name (in lower) and
// value, and checks both as the gateway's server and client do.
func field(line, lower []byte) (name, value []byte, ok bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return nil, nil, false
	}
	name = append(lower[:0], line[:i]...)
	for j, c := range name {
		if 'A' <= c && c <= 'Z' {
			name[j] = c + 'a' - 'A'
		}
	}
	value = bytes.TrimSpace(line[i+1:])
	return name, value, httpguts.ValidHeaderFieldName(string(line[:i])) && httpguts.ValidHeaderFieldValue(string(value))
}

func pickWeight(n uint32) uint32 { return rand.Uint32N(n) }

func serveFeatures(c net.Conn, w *work) {
	defer c.Close()
	cr := bufio.NewReaderSize(c, 4096)
	out := make([]byte, 0, 4096)
	var lower [64]byte
	clientIP, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	for {
		head, err := nextHead(cr)
		if err != nil {
			return
		}
		start := time.Now()
		w.listener.RequestStarted()
		status, route := w.forward(c, head, out[:0], lower[:], clientIP)
		d := time.Since(start)
		if route >= 0 {
			w.routes[route].Observe(status, d)
		}
		w.listener.RequestDone(status, d)
		if status == 0 {
			return
		}
	}
}

// forward proxies one request; it returns the status sent (0 when the
// connection must close) and the route's ID (-1: none).
func (w *work) forward(c net.Conn, head, out, lower []byte, clientIP string) (status, route int) {
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	method, rest1, ok1 := bytes.Cut(line, []byte(" "))
	target, proto, ok2 := bytes.Cut(rest1, []byte(" "))
	if !ok1 || !ok2 || string(proto) != "HTTP/1.1" || len(target) == 0 || target[0] != '/' {
		return 0, -1
	}
	var host, xff []byte
	fields := rest
	for len(rest) > 2 {
		var f []byte
		f, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := field(f, lower)
		if !ok {
			return 0, -1
		}
		switch string(name) {
		case "host":
			host = value
		case "x-forwarded-for":
			xff = value
		case "content-length", "transfer-encoding", "expect", "upgrade":
			return 0, -1 // no bodies or upgrades in the floor
		}
	}
	path, query, hasQuery := bytes.Cut(target, []byte("?"))
	req := router.Request{Port: w.port, Method: string(method), Path: router.NormalizePath(string(path)),
		RawQuery: string(query), Host: string(host), Scheme: "http"}
	d := w.table.Route(&req, pickWeight)
	if d.Status != 0 {
		c.Write([]byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
		return http.StatusNotFound, -1
	}
	if w.active.Add(1) > 1024 {
		w.active.Add(-1)
		return 0, d.GatewayRouteID
	}
	defer w.active.Add(-1)

	out = append(out, method...)
	out = append(out, ' ')
	out = append(out, d.Path...)
	if hasQuery {
		out = append(out, '?')
		out = append(out, query...)
	}
	out = append(out, " HTTP/1.1\r\nHost: "...)
	out = append(out, d.Host...)
	out = append(out, "\r\n"...)
	for len(fields) > 2 {
		var f []byte
		f, fields, _ = bytes.Cut(fields, []byte("\r\n"))
		if name, _, _ := field(f, lower); dropped(name) {
			continue
		}
		out = append(out, f...)
		out = append(out, "\r\n"...)
	}
	out = append(out, "X-Forwarded-For: "...)
	if len(xff) > 0 {
		out = append(out, xff...)
		out = append(out, ", "...)
	}
	out = append(out, clientIP...)
	out = append(out, "\r\nX-Forwarded-Proto: http\r\nX-Request-Id: "...)
	out = append(out, requestid.New()...)
	if d.Path != req.Path {
		out = append(out, "\r\nX-Envoy-Original-Path: "...)
		out = append(out, target...)
	}
	out = append(out, "\r\n\r\n"...)

	cm := w.clusters[d.Cluster]
	cm.RequestStarted()
	ustart := time.Now()
	status, out = w.exchange(out, lower)
	cm.RequestDone(status, time.Since(ustart))
	if status == 0 {
		return 0, d.GatewayRouteID
	}
	if _, err := c.Write(out); err != nil {
		return 0, d.GatewayRouteID
	}
	return status, d.GatewayRouteID
}

// exchange sends the request head in out to the cluster and returns the
// response to write back in out (its hop-by-hop fields dropped); status
// is 0 when it failed.
func (w *work) exchange(out, lower []byte) (status int, _ []byte) {
	u, err := w.pool.get()
	if err != nil {
		return 0, out
	}
	status, out, keep := u.roundTrip(out, lower)
	if status != 0 && keep {
		w.pool.put(u)
	} else {
		u.c.Close()
	}
	return status, out
}

// roundTrip writes the request head in out and reads the response into
// out; keep is false when the connection cannot carry another request.
func (u *upstreamConn) roundTrip(out, lower []byte) (status int, _ []byte, keep bool) {
	if _, err := u.c.Write(out); err != nil {
		return 0, out, false
	}
	if yield {
		runtime.Gosched()
	}
	rh, err := readHead(u.br)
	if err != nil {
		return 0, out, false
	}
	line, rest, _ := bytes.Cut(rh, []byte("\r\n"))
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, out, false
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, out, false
	}
	out = append(out[:0], line...)
	out = append(out, "\r\n"...)
	n, keep := -1, true
	for len(rest) > 2 {
		var f []byte
		f, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := field(f, lower)
		if !ok {
			return 0, out, false
		}
		switch string(name) {
		case "content-length":
			if n, err = strconv.Atoi(string(value)); err != nil {
				return 0, out, false
			}
		case "connection":
			keep = !strings.EqualFold(string(value), "close")
		}
		if hopByHop(name) {
			continue
		}
		out = append(out, f...)
		out = append(out, "\r\n"...)
	}
	out = append(out, "\r\n"...)
	if n < 0 {
		return 0, out, false // the floor reads bodies of known length only
	}
	h := len(out)
	out = slices.Grow(out, n)[:h+n]
	if _, err := io.ReadFull(u.br, out[h:]); err != nil {
		return 0, out, false
	}
	return status, out, keep
}
