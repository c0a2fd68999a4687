package gateway

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/http/httputil"
	"net/textproto"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/meshgate/meshgate/internal/ir"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// reverseProxyHeader is the header the gateway forwarded before it had
// its own forwarding engine: httputil.ReverseProxy with the gateway's
// former Rewrite (x-request-id fixed to "ID").
func reverseProxyHeader(r *http.Request, upstreamPath string) http.Header {
	var got http.Header
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			for k := range pr.Out.Header {
				if len(k) > 8 && strings.EqualFold(k[:8], "X-Envoy-") {
					delete(pr.Out.Header, k)
				}
			}
			if orig, _, _ := requestPath(pr.In); orig != upstreamPath {
				pr.Out.Header.Set("X-Envoy-Original-Path", pr.In.RequestURI)
			}
			if prior := pr.In.Header["X-Forwarded-For"]; len(prior) > 0 {
				pr.Out.Header["X-Forwarded-For"] = prior
			}
			pr.SetXForwarded()
			pr.Out.Header.Del("X-Forwarded-Host")
			pr.Out.Header.Set("X-Request-Id", "ID")
		},
		Transport: roundTripFunc(func(out *http.Request) (*http.Response, error) {
			got = out.Header.Clone()
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody}, nil
		}),
	}
	rp.ServeHTTP(httptest.NewRecorder(), r)
	return got
}

// TestForwardHeaderMatchesReverseProxy builds requests from random
// combinations of hop-by-hop, forwarding, x-envoy, upgrade and ordinary
// headers (some named in Connection, some repeated, some non-canonical),
// client addresses and schemes, and checks that the forwarded header is
// exactly what httputil.ReverseProxy with the former Rewrite produced.
func TestForwardHeaderMatchesReverseProxy(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	type hv struct{ k, v string }
	pool := []hv{
		{"Connection", "keep-alive"}, {"Connection", "keep-alive, X-Hop"}, {"Connection", "Upgrade"},
		{"Connection", "close, te"}, {"Connection", "x-forwarded-for"}, {"Connection", "User-Agent, x-request-id"},
		{"Connection", " upgrade ,X-Keep"}, {"Upgrade", "websocket"}, {"Upgrade", "h2c"},
		{"Te", "trailers"}, {"Te", "gzip"}, {"Te", "deflate, Trailers"}, {"Keep-Alive", "timeout=5"},
		{"Proxy-Connection", "keep-alive"}, {"Proxy-Authorization", "Basic x"}, {"Proxy-Authenticate", "x"},
		{"Trailer", "X-T"}, {"Transfer-Encoding", "chunked"}, {"X-Hop", "secret"},
		{"X-Forwarded-For", "10.0.0.1"}, {"X-Forwarded-For", "10.0.0.2, 10.0.0.3"}, {"X-Forwarded-Proto", "https"},
		{"X-Forwarded-Host", "spoof"}, {"Forwarded", "for=1.2.3.4"}, {"X-Envoy-Upstream-Rq-Timeout-Ms", "1"},
		{"x-envoy-lower", "1"}, {"X-Envoy-Original-Path", "/spoofed"}, {"X-Envoy", "short"}, {"X-Request-Id", "client"},
		{"User-Agent", "ua"}, {"User-Agent", ""}, {"X-Keep", "a"}, {"X-Keep", "b"}, {"Content-Type", "text/plain"},
		{"Cookie", "a=1"}, {"Accept", "*/*"},
	}
	targets := []string{"/color/", "/color/x?y=1", "/", "/a%2Fb", "/color/../x"}
	for i := range 3000 {
		target := targets[rnd.IntN(len(targets))]
		r := httptest.NewRequest(http.MethodGet, "http://gw.example"+target, nil)
		r.RequestURI = target
		r.Header = http.Header{}
		for range rnd.IntN(8) {
			h := pool[rnd.IntN(len(pool))]
			r.Header[h.k] = append(r.Header[h.k], h.v)
		}
		if rnd.IntN(10) == 0 {
			r.Header["X-Empty"] = nil
		}
		switch rnd.IntN(4) {
		case 0:
			r.RemoteAddr = "pipe" // no port: no X-Forwarded-For
		case 1:
			r.RemoteAddr = "[2001:db8::1]:4000"
		default:
			r.RemoteAddr = "192.0.2.7:4000"
		}
		if rnd.IntN(3) == 0 {
			r.TLS = &tls.ConnectionState{}
		}
		upstreamPath := []string{"/", "/color/", "/a%2Fb"}[rnd.IntN(3)]
		upType := upgradeType(r.Header)
		if !isPrint(upType) {
			continue
		}
		want := reverseProxyHeader(r, upstreamPath)
		sent := r.Header.Clone()
		got := forwardHeader(r, upstreamPath, upType, make([]string, 0, 4))
		if _, err := uuid.Parse(got.Get("X-Request-Id")); err != nil {
			t.Fatalf("x-request-id %q: %v", got.Get("X-Request-Id"), err)
		}
		got["X-Request-Id"] = []string{"ID"}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d: request %s from %s (TLS %v) with header %v, upstream path %s:\nforwarded       %v\nReverseProxy's %v",
				i, target, r.RemoteAddr, r.TLS != nil, sent, upstreamPath, got, want)
		}
	}
}

// streamingGateway is a gateway (http2 listener: HTTP/1.1 and h2c) in
// front of h, through the default retry policy and route timeout.
func streamingGateway(t *testing.T, h http.Handler) string {
	addr := serveBackend(t, h)
	cfg := oneBackend(t, ir.HTTP2, addr, nil)
	cfg.Clusters[0].Protocol = ir.HTTP
	startGateway(t, cfg)
	return listenURL(cfg, 0, "/")
}

// TestStreamingIsNotHeldBack: a response the upstream is still producing
// reaches the client as it comes: headers and the first part while the
// upstream waits for the client to have seen them, over HTTP/1.1 and h2c,
// for bodies of unknown length, server-sent events and a known length
// that has not all arrived.
func TestStreamingIsNotHeldBack(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	url := streamingGateway(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
		case "/sse":
			w.Header().Set("Content-Type", "Text/Event-Stream; charset=utf-8")
		case "/known":
			w.Header().Set("Content-Length", "10")
		case "/headers-only":
			w.Header().Set("X-Early", "1")
			w.WriteHeader(http.StatusOK)
			http.NewResponseController(w).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		io.WriteString(w, "first")
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "-rest")
	}))
	clients := map[string]*http.Client{"h1": h1Client(t), "h2c": h2cClient(t)}
	for _, proto := range []string{"h1", "h2c"} {
		for _, path := range []string{"chunked", "sse", "known", "headers-only"} {
			t.Run(proto+"/"+path, func(t *testing.T) {
				c := clients[proto]
				c.Timeout = 0
				type result struct {
					resp *http.Response
					part string
					err  error
				}
				done := make(chan result, 1)
				go func() {
					resp, err := c.Get(url + path)
					if err != nil {
						done <- result{err: err}
						return
					}
					if path == "headers-only" {
						done <- result{resp: resp}
						return
					}
					b := make([]byte, 5)
					_, err = io.ReadFull(resp.Body, b)
					done <- result{resp: resp, part: string(b), err: err}
				}()
				select {
				case res := <-done:
					if res.err != nil {
						t.Fatal(res.err)
					}
					defer res.resp.Body.Close()
					if path != "headers-only" && res.part != "first" {
						t.Fatalf("first part %q", res.part)
					}
				case <-time.After(3 * time.Second):
					t.Fatal("the first part of the response was held back")
				}
			})
		}
	}
}

// TestEarlyHintsPassed: an upstream's 103 Early Hints reaches the client
// before the final response, with its headers, and the final response
// does not carry them: from HTTP/1.1 and HTTP/2 clusters (the gateway's
// own client and http.Transport) to HTTP/1.1 and h2c clients.
func TestEarlyHintsPassed(t *testing.T) {
	backend := serveBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Set("X-Final", "1")
		io.WriteString(w, "done")
	}))
	for _, tc := range []struct {
		name    string
		cluster ir.Protocol
		client  func(testing.TB) *http.Client
	}{
		{"http cluster, h1 client", ir.HTTP, h1Client},
		{"http cluster, h2c client", ir.HTTP, h2cClient},
		{"http2 cluster, h1 client", ir.HTTP2, h1Client},
		{"http2 cluster, h2c client", ir.HTTP2, h2cClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := oneBackend(t, ir.HTTP2, backend, nil)
			cfg.Clusters[0].Protocol = tc.cluster
			startGateway(t, cfg)
			var codes []int
			var hinted []string
			req, _ := http.NewRequest(http.MethodGet, listenURL(cfg, 0, "/hints"), nil)
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
				Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
					codes = append(codes, code)
					hinted = append(hinted, h.Get("Link"))
					return nil
				},
			}))
			resp, body := doReq(t, tc.client(t), req)
			if resp.StatusCode != http.StatusOK || body != "done" || resp.Header.Get("X-Final") != "1" {
				t.Fatalf("final response %d %q %v", resp.StatusCode, body, resp.Header)
			}
			if fmt.Sprint(codes) != "[103]" || hinted[0] != "</style.css>; rel=preload" {
				t.Fatalf("1xx responses %v with Link %q", codes, hinted)
			}
			if resp.Header.Get("Link") != "" {
				t.Errorf("the final response has the hint's Link %q", resp.Header.Get("Link"))
			}
		})
	}
}

// TestEarlyHintsWithoutRequestContext: behind a server other than the
// gateway's own (net/http's here), a request has no reqctx.Ctx to carry
// the 1xx receiver, and the proxy hands it to the cluster's client as an
// httptrace hook: the hints still reach the client, from both kinds of
// cluster.
func TestEarlyHintsWithoutRequestContext(t *testing.T) {
	backend := serveBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		io.WriteString(w, "done")
	}))
	for _, cluster := range []ir.Protocol{ir.HTTP, ir.HTTP2} {
		t.Run(string(cluster), func(t *testing.T) {
			cfg := oneBackend(t, ir.HTTP2, backend, nil)
			cfg.Clusters[0].Protocol = cluster
			g := startGateway(t, cfg)
			front := httptest.NewServer(&proxy{g: g, port: cfg.Listeners[0].Port, protocol: ir.HTTP2})
			t.Cleanup(front.Close)
			var hints []string
			req, _ := http.NewRequest(http.MethodGet, front.URL+"/hints", nil)
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
				Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
					hints = append(hints, fmt.Sprint(code, " ", h.Get("Link")))
					return nil
				},
			}))
			resp, body := doReq(t, h1Client(t), req)
			if resp.StatusCode != http.StatusOK || body != "done" {
				t.Fatalf("final response %d %q", resp.StatusCode, body)
			}
			if fmt.Sprint(hints) != "[103 </a.css>; rel=preload]" {
				t.Fatalf("1xx responses %q", hints)
			}
		})
	}
}

// TestResponseTrailersOverHTTP1: trailers the upstream announced, and
// ones it did not (sent with http.TrailerPrefix), reach an HTTP/1.1
// client in the chunked response's trailer.
func TestResponseTrailersOverHTTP1(t *testing.T) {
	url := streamingGateway(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Announced")
		io.WriteString(w, "body")
		w.Header().Set("X-Announced", "a")
		w.Header().Set(http.TrailerPrefix+"X-Late", "l")
	}))
	c := h1Client(t)
	resp, err := c.Get(url + "trailers")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(bufio.NewReader(resp.Body))
	if string(b) != "body" {
		t.Fatalf("body %q", b)
	}
	if resp.Trailer.Get("X-Announced") != "a" || resp.Trailer.Get("X-Late") != "l" {
		t.Fatalf("trailers %v", resp.Trailer)
	}
}

// TestRemoveHopByHopHeaders: a response loses the hop-by-hop fields and
// those its Connection names, and keeps the rest, as ReverseProxy's.
func TestRemoveHopByHopHeaders(t *testing.T) {
	for _, tc := range []struct{ in, want http.Header }{
		{http.Header{}, http.Header{}},
		{http.Header{"Content-Type": {"a"}, "Content-Length": {"2"}}, http.Header{"Content-Type": {"a"}, "Content-Length": {"2"}}},
		{http.Header{"Connection": {"keep-alive, X-Hop"}, "X-Hop": {"1"}, "Keep-Alive": {"timeout=5"}, "X-Keep": {"k"}},
			http.Header{"X-Keep": {"k"}}},
		{http.Header{"Transfer-Encoding": {"chunked"}, "Trailer": {"X-T"}, "Te": {"trailers"}, "Upgrade": {"h2c"},
			"Proxy-Connection": {"x"}, "Proxy-Authenticate": {"x"}, "Proxy-Authorization": {"x"}, "Date": {"d"}},
			http.Header{"Date": {"d"}}},
		{http.Header{"Connection": {" x-a ,, x-b"}, "X-A": {"1"}, "X-B": {"2"}, "X-C": {"3"}}, http.Header{"X-C": {"3"}}},
	} {
		in := tc.in.Clone()
		removeHopByHopHeaders(in)
		if !reflect.DeepEqual(in, tc.want) {
			t.Errorf("%v: %v, want %v", tc.in, in, tc.want)
		}
	}
}

// TestServerFieldPassedOn: the upstream's Server field reaches the
// client unchanged, over HTTP/1.1 and h2c, and the gateway adds none
// (docs/routing.md: unlike Envoy's "server: envoy").
func TestServerFieldPassedOn(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.URL.Query().Get("server"); v != "" {
			w.Header().Set("Server", v)
		}
	}))
	t.Cleanup(backend.Close)
	cfg := oneBackend(t, ir.HTTP, backend.Listener.Addr().String(), nil)
	cfg.Listeners[0].Protocol = ir.HTTP2 // HTTP/1.1 and h2c
	startGateway(t, cfg)
	for name, c := range map[string]*http.Client{"HTTP/1.1": h1Client(t), "h2c": h2cClient(t)} {
		for _, want := range []string{"backend/1.0", ""} {
			resp, _ := get(t, c, listenURL(cfg, 0, "/x?server="+want))
			if got := resp.Header.Values("Server"); want == "" && len(got) != 0 || want != "" && (len(got) != 1 || got[0] != want) {
				t.Errorf("%s: Server %q, want %q", name, got, want)
			}
		}
	}
}
