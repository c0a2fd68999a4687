package gateway

// Benchmarks of the proxy's hot path, in process. The configuration is the
// one bench/gateway-peer.sh gives the harness (an http2 listener, a
// gateway route on /color/ rewritten to "/" with Host color.local, a node
// provider with App Mesh's default retry policy and a 15 s route timeout,
// an HTTP/1.1 cluster). The upstream is a minimal raw-TCP HTTP/1.1 server
// that answers every request with a canned 1 KiB response, so that
// allocs/op counts the gateway (and the benchmark's client), not an
// upstream net/http server.
//
//	go test ./internal/gateway -run '^$' -bench . -benchmem
//
// BenchmarkServeHTTP drives the listener's handler directly (a recorder
// instead of a downstream connection): the gateway's own cost, upstream
// transport included. BenchmarkGateway goes through real loopback sockets
// with an http.Client over HTTP/1.1 and h2c; BenchmarkDirect is that client
// against the upstream alone, so Gateway minus Direct is what the gateway
// adds.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	rtmetrics "runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/gateway/metrics"
	"github.com/meshgate/meshgate/internal/ir"
)

const benchBodySize = 1024

// rawUpstream is an HTTP/1.1 server that reads request heads (no bodies)
// and answers each with the same 200 response of benchBodySize bytes. It
// checks that the gateway rewrote the path to "/" and the Host to
// color.local, as the harness's upstream does.
type rawUpstream struct {
	ln    net.Listener
	resp  []byte
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
}

func startRawUpstream(tb testing.TB) *rawUpstream {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	body := bytes.Repeat([]byte("x"), benchBodySize)
	u := &rawUpstream{ln: ln, conns: map[net.Conn]bool{}}
	u.resp = append([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "+
		strconv.Itoa(len(body))+"\r\n\r\n"), body...)
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.mu.Lock()
			u.conns[c] = true
			u.mu.Unlock()
			u.wg.Add(1)
			go u.serve(c)
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		u.mu.Lock()
		for c := range u.conns {
			c.Close()
		}
		u.mu.Unlock()
		u.wg.Wait()
	})
	return u
}

var badUpstreamRequest = []byte("HTTP/1.1 421 Misdirected Request\r\nContent-Length: 0\r\n\r\n")

func (u *rawUpstream) serve(c net.Conn) {
	defer u.wg.Done()
	defer c.Close()
	br := bufio.NewReaderSize(c, 4096)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		ok := bytes.HasPrefix(line, []byte("GET / HTTP/1.1"))
		hostOK := false
		for {
			h, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(h) <= 2 {
				break
			}
			if bytes.EqualFold(h, []byte("Host: color.local\r\n")) {
				hostOK = true
			}
		}
		resp := u.resp
		if !ok || !hostOK {
			resp = badUpstreamRequest
		}
		if _, err := c.Write(resp); err != nil {
			return
		}
	}
}

func (u *rawUpstream) addr() string { return u.ln.Addr().String() }

// benchConfig is bench/gateway-peer.sh's configuration with the upstream
// at addr.
func benchConfig(tb testing.TB, port uint32, addr string) *ir.Gateway {
	host, p, _ := net.SplitHostPort(addr)
	upPort, _ := strconv.Atoi(p)
	cluster := fmt.Sprintf("cds_egress_bench_color_http_%d", upPort)
	return &ir.Gateway{
		Mesh: "bench", Name: "gw", UID: "bench",
		Listeners: []ir.Listener{{Port: port, Protocol: ir.HTTP2, VirtualHosts: []ir.VirtualHost{{
			Name: fmt.Sprintf("ingress_%d_*", port), Domains: []string{"*"},
			Routes: []ir.GatewayRoute{{Name: "color", Match: ir.Match{Prefix: "/color/"},
				Action: ir.GatewayRouteAction{Service: "color.local", Port: uint32(upPort), HostRewrite: "color.local",
					PrefixRewrite: new("/")}}},
		}}}},
		Services: []ir.Service{{Name: "color.local", Port: uint32(upPort), Provider: "virtualNode/color", Protocol: ir.HTTP,
			Routes: []ir.Route{{Targets: []ir.WeightedTarget{{Cluster: cluster, Weight: 1}},
				Retry: &ir.RetryPolicy{MaxRetries: 2, HTTPEvents: []string{"stream-error"},
					TCPEvents: []string{"connection-error"}, StatusCodes: []uint32{503}},
				Timeout: ir.Duration(15 * time.Second), IdleTimeout: ir.Duration(5 * time.Minute)}}}},
		Clusters: []ir.Cluster{{Name: cluster, Node: "color", Port: uint32(upPort), Protocol: ir.HTTP,
			Discovery: ir.Discovery{Hostname: host, Port: uint32(upPort)}}},
	}
}

// benchGateway starts a gateway (with metrics, as `meshgate gateway` runs)
// serving benchConfig towards a raw upstream.
func benchGateway(b *testing.B) (*Gateway, *ir.Gateway) {
	b.Helper()
	g, cfg := newBenchGateway(b)
	mustApply(b, g, cfg)
	return g, cfg
}

// newBenchGateway is benchGateway before its configuration is applied.
func newBenchGateway(b *testing.B) (*Gateway, *ir.Gateway) {
	b.Helper()
	up := startRawUpstream(b)
	m, err := metrics.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	g := New(Options{ListenHost: "127.0.0.1", Logger: testLogger(), Metrics: m})
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		g.Shutdown(ctx)
	})
	return g, benchConfig(b, freePort(b), up.addr())
}

// discardWriter is a ResponseWriter that keeps nothing but the status:
// the cheapest downstream, so ServeHTTP's numbers are the proxy's own.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *discardWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	w.n += len(b)
	return len(b), nil
}
func (w *discardWriter) Flush() {}

func BenchmarkServeHTTP(b *testing.B) {
	g, cfg := benchGateway(b)
	port := cfg.Listeners[0].Port
	h := &proxy{g: g, port: port, protocol: ir.HTTP2}
	newReq := func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/color/", nil)
		r.Header.Set("User-Agent", "wrk")
		r.RemoteAddr = "127.0.0.1:40000"
		return r
	}
	check := func(w *discardWriter) {
		if w.status != http.StatusOK || w.n != benchBodySize {
			b.Fatalf("status %d, %d bytes", w.status, w.n)
		}
	}
	b.Run("serial", func(b *testing.B) {
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, newReq())
		check(w)
		b.ReportAllocs()
		for b.Loop() {
			w := &discardWriter{h: http.Header{}}
			h.ServeHTTP(w, newReq())
			if w.status != http.StatusOK {
				b.Fatalf("status %d", w.status)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				w := &discardWriter{h: http.Header{}}
				h.ServeHTTP(w, newReq())
				if w.status != http.StatusOK {
					b.Errorf("status %d", w.status)
					return
				}
			}
		})
	})
}

func benchClients(b *testing.B) map[string]*http.Client {
	h1 := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2 := &http.Transport{Protocols: &p, DisableCompression: true}
	b.Cleanup(h1.CloseIdleConnections)
	b.Cleanup(h2.CloseIdleConnections)
	return map[string]*http.Client{"h1": {Transport: h1}, "h2c": {Transport: h2}}
}

func benchGet(b *testing.B, c *http.Client, url, host string, buf []byte) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.ReadFull(resp.Body, buf)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || n != benchBodySize {
		b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
	}
}

// BenchmarkGateway: requests through the gateway's listener over loopback,
// 8 concurrent clients (allocs/op include the client's).
func BenchmarkGateway(b *testing.B) {
	_, cfg := benchGateway(b)
	url := listenURL(cfg, 0, "/color/")
	clients := benchClients(b)
	for _, proto := range []string{"h1", "h2c"} {
		b.Run(proto, func(b *testing.B) {
			c := clients[proto]
			benchGet(b, c, url, "", make([]byte, benchBodySize+1))
			b.ReportAllocs()
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, benchBodySize+1)
				for pb.Next() {
					benchGet(b, c, url, "", buf)
				}
			})
		})
	}
}

// BenchmarkDirect is BenchmarkGateway's client against the upstream alone.
func BenchmarkDirect(b *testing.B) {
	up := startRawUpstream(b)
	c := benchClients(b)["h1"]
	url := "http://" + up.addr() + "/"
	benchGet(b, c, url, "color.local", make([]byte, benchBodySize+1))
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, benchBodySize+1)
		for pb.Next() {
			benchGet(b, c, url, "color.local", buf)
		}
	})
}

// BenchmarkApply applies benchConfig with 1,000 and 10,000 gateway routes
// (N-1 prefixes ahead of /color/, as bench/gateway-peer.sh's ROUTES=N),
// decoded from JSON as the gateway receives it, again and again: the first
// opens the listener, the others change a route. Besides the time an
// Apply takes, it reports what the gateway then holds, per route:
// scan-B/route is what the collector marks at every cycle, live-B/route
// all that stays live (the RSS counts it about twice), and
// kept-after-1-route-B/route what stays once a one-route configuration
// replaces it.
func BenchmarkApply(b *testing.B) {
	heap := func() (scan, live uint64) {
		// Until the finalizers and cleanups of what a collection found
		// unreachable (closed sockets, the sub-benchmark before) have run
		// and the next collection took what they let go.
		for range 4 {
			runtime.GC()
			time.Sleep(time.Millisecond)
		}
		s := []rtmetrics.Sample{{Name: "/gc/scan/heap:bytes"}, {Name: "/gc/heap/live:bytes"}}
		rtmetrics.Read(s)
		return s[0].Value.Uint64(), s[1].Value.Uint64()
	}
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			g, base := newBenchGateway(b)
			one := base.JSON() // its one route
			scan0, live0 := heap()
			vh := &base.Listeners[0].VirtualHosts[0]
			color := vh.Routes[0]
			vh.Routes = nil
			for i := 1; i < n; i++ {
				r := color
				r.Name = fmt.Sprintf("r%05d", i)
				r.Match.Prefix = "/" + r.Name + "/"
				vh.Routes = append(vh.Routes, r)
			}
			vh.Routes = append(vh.Routes, color)
			wire := base.JSON()
			base = nil
			next := 0
			decode := func() (*ir.Gateway, []byte) {
				// The gateway's own bytes, as the config client's would be,
				// with a route changed.
				next++
				raw := bytes.Replace(wire, []byte(`"/r00001/"`), fmt.Appendf(nil, `"/x%05d/"`, next%100000), 1)
				var cfg ir.Gateway
				if err := json.Unmarshal(raw, &cfg); err != nil {
					b.Fatal(err)
				}
				return &cfg, raw
			}
			if cfg, raw := decode(); g.ApplyEncoded(cfg, raw, "first") != nil {
				b.Fatal("the first configuration was refused")
			}
			for b.Loop() {
				b.StopTimer()
				cfg, raw := decode()
				b.StartTimer()
				if err := g.ApplyEncoded(cfg, raw, "v"); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			scan1, live1 := heap()
			b.ReportMetric(float64(int64(scan1)-int64(scan0))/float64(n), "scan-B/route")
			// The benchmark's own wire form is not the gateway's.
			b.ReportMetric((float64(int64(live1)-int64(live0))-float64(len(wire)))/float64(n), "live-B/route")
			// Scaled down to one route, the gateway keeps nothing of the
			// table (the listener stays).
			var small ir.Gateway
			if err := json.Unmarshal(one, &small); err != nil {
				b.Fatal(err)
			}
			mustApply(b, g, &small)
			_, live2 := heap()
			b.ReportMetric((float64(int64(live2)-int64(live0))-float64(len(wire)))/float64(n), "kept-after-1-route-B/route")
			runtime.KeepAlive(wire) // counted out above
		})
	}
}
