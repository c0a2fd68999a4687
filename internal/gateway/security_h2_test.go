package gateway

// Edge-hardening tests over HTTP/2 (S12) and TLS: the HTTP/2 abuse shapes
// the Go toolchain has fixes for (rapid reset CVE-2023-39325/44487,
// CONTINUATION flood CVE-2023-45288) and the per-connection stream limit,
// driven frame by frame with golang.org/x/net/http2's Framer on h2c
// connections, while another client checks the gateway stays responsive;
// and the HTTP/1 framing checks on a TLS listener.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/testutil/certs"
	"github.com/meshgate/meshgate/internal/testutil/wait"
)

// holdBackend holds every request until released (or the request ends),
// counting those in flight.
type holdBackend struct {
	addr     string
	inFlight atomic.Int64
	total    atomic.Int64
	release  chan struct{}
	once     sync.Once
}

func startHold(t testing.TB) *holdBackend {
	t.Helper()
	b := &holdBackend{release: make(chan struct{})}
	b.addr = serveBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.total.Add(1)
		b.inFlight.Add(1)
		defer b.inFlight.Add(-1)
		select {
		case <-b.release:
			w.Write([]byte("released"))
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(b.open)
	return b
}

func (b *holdBackend) open() { b.once.Do(func() { close(b.release) }) }

// h2Gateway is an h2c (HTTP2) gateway: /hold goes to a holding backend,
// everything else to a recording one.
func h2Gateway(t *testing.T) (addr string, hold *holdBackend, rec *recordingBackend) {
	t.Helper()
	hold, rec = startHold(t), startRecorder(t, "fast")
	hc := clusterTo(t, "hold", ir.HTTP2, hold.addr)
	rc := clusterTo(t, "fast", ir.HTTP2, rec.addr)
	noRetry := func(r *ir.Route) { r.Retry, r.Timeout = nil, 0 }
	cfg := &ir.Gateway{Mesh: "m", Name: "gw", UID: "uid",
		Listeners: []ir.Listener{listenerOn(freePort(t), ir.HTTP2,
			ir.GatewayRoute{Name: "hold", Match: ir.Match{Prefix: "/hold"},
				Action: ir.GatewayRouteAction{Service: "hold.local", Port: testSvcPort, HostRewrite: "hold.local"}},
			ir.GatewayRoute{Name: "fast", Match: ir.Match{Prefix: "/"},
				Action: ir.GatewayRouteAction{Service: "fast.local", Port: testSvcPort, HostRewrite: "fast.local"}})},
		Services: []ir.Service{nodeService("hold.local", ir.HTTP2, hc.Name, noRetry),
			nodeService("fast.local", ir.HTTP2, rc.Name, noRetry)},
		Clusters: []ir.Cluster{hc, rc},
	}
	_, addr = startGatewayOpts(t, Options{}, cfg)
	return addr, hold, rec
}

// h2Raw is a raw h2c client connection: a writing and a reading framer
// (each used by one goroutine) and an HPACK encoder.
type h2Raw struct {
	c    net.Conn
	w    *http2.Framer
	r    *http2.Framer
	hbuf bytes.Buffer
	enc  *hpack.Encoder
	// settings is the server's first SETTINGS frame.
	settings map[http2.SettingID]uint32
}

// dialH2 connects with prior knowledge: preface, empty SETTINGS, then
// reads (and acknowledges) the server's SETTINGS.
func dialH2(t *testing.T, addr string) *h2Raw {
	t.Helper()
	c := dialRaw(t, addr, "")
	h := &h2Raw{c: c, w: http2.NewFramer(c, nil), r: http2.NewFramer(nil, bufio.NewReader(c)),
		settings: map[http2.SettingID]uint32{}}
	h.enc = hpack.NewEncoder(&h.hbuf)
	h.r.MaxHeaderListSize = 1 << 20
	h.r.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	if err := h.w.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := h.r.ReadFrame()
		if err != nil {
			t.Fatalf("reading the server's settings: %v", err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			sf.ForeachSetting(func(s http2.Setting) error { h.settings[s.ID] = s.Val; return nil })
			break
		}
	}
	if err := h.w.WriteSettingsAck(); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Time{})
	return h
}

// block encodes a request's header block.
func (h *h2Raw) block(path string, extra ...hpack.HeaderField) []byte {
	h.hbuf.Reset()
	for _, f := range append([]hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: "edge.example"}, {Name: ":path", Value: path}}, extra...) {
		h.enc.WriteField(f)
	}
	return bytes.Clone(h.hbuf.Bytes())
}

func (h *h2Raw) request(id uint32, path string) error {
	return h.w.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: h.block(path), EndStream: true, EndHeaders: true})
}

// probe is another client, checking the gateway stays responsive: it
// gets /probe at once, then every 20 ms until stop is closed, and reports
// failures and the slowest answer.
func probe(t *testing.T, addr string, stop <-chan struct{}) (result func() (n int, failures []string, slowest time.Duration)) {
	t.Helper()
	c := h2cClient(t)
	var mu sync.Mutex
	var n int
	var failures []string
	var slowest time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		for first := true; ; first = false {
			if !first {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
			start := time.Now()
			resp, err := c.Get("http://" + addr + "/probe")
			d := time.Since(start)
			mu.Lock()
			n++
			switch {
			case err != nil:
				failures = append(failures, err.Error())
			case resp.StatusCode != http.StatusOK:
				failures = append(failures, resp.Status)
			}
			if d > slowest {
				slowest = d
			}
			mu.Unlock()
			if resp != nil {
				resp.Body.Close()
			}
		}
	}()
	return func() (int, []string, time.Duration) {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return n, failures, slowest
	}
}

func checkProbe(t *testing.T, result func() (int, []string, time.Duration)) {
	t.Helper()
	n, failures, slowest := result()
	if n == 0 || len(failures) > 0 || slowest > 2*time.Second {
		t.Errorf("other client: %d requests, failures %q, slowest %v", n, failures, slowest)
	}
}

// TestSecurityHTTP2MaxConcurrentStreams (S12): the gateway advertises
// SETTINGS_MAX_CONCURRENT_STREAMS 100 (Envoy's default) and enforces it:
// of 130 streams opened at once, 100 reach the backend and the others are
// reset; once they are answered the connection goes on.
func TestSecurityHTTP2MaxConcurrentStreams(t *testing.T) {
	addr, hold, _ := h2Gateway(t)
	h := dialH2(t, addr)
	if got := h.settings[http2.SettingMaxConcurrentStreams]; got != 100 {
		t.Fatalf("SETTINGS_MAX_CONCURRENT_STREAMS %d, want 100", got)
	}
	stop := make(chan struct{})
	result := probe(t, addr, stop)
	const streams = 130
	for i := range streams {
		if err := h.request(uint32(2*i+1), "/hold"); err != nil {
			t.Fatal(err)
		}
	}
	h.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resets := 0
	for resets < streams-100 {
		f, err := h.r.ReadFrame()
		if err != nil {
			t.Fatalf("after %d resets: %v", resets, err)
		}
		if rf, ok := f.(*http2.RSTStreamFrame); ok {
			if rf.StreamID <= 2*100 {
				t.Errorf("stream %d within the limit was reset (%v)", rf.StreamID, rf.ErrCode)
			}
			resets++
		}
	}
	wait.For(t, 5*time.Second, "100 requests held", func() bool { return hold.inFlight.Load() == 100 })
	time.Sleep(100 * time.Millisecond)
	if n := hold.inFlight.Load(); n != 100 {
		t.Errorf("%d requests reached the backend, want 100", n)
	}
	hold.open()
	answered := 0
	for answered < 100 {
		f, err := h.r.ReadFrame()
		if err != nil {
			t.Fatalf("after %d answers: %v", answered, err)
		}
		if hf, ok := f.(*http2.MetaHeadersFrame); ok && hf.PseudoValue("status") == "200" {
			answered++
		}
	}
	// The connection still takes new streams.
	if err := h.request(2*streams+1, "/again"); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := h.r.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if hf, ok := f.(*http2.MetaHeadersFrame); ok && hf.StreamID == 2*streams+1 {
			if s := hf.PseudoValue("status"); s != "200" {
				t.Errorf("new stream: %s", s)
			}
			break
		}
	}
	close(stop)
	checkProbe(t, result)
}

// TestSecurityHTTP2RapidReset (S12, CVE-2023-39325/44487): a client that
// opens streams and resets them at once, as fast as it can, gets no more
// than the stream limit of requests running (Go ≥ 1.21.3 queues the
// handlers of reset streams and closes a connection that keeps doing it),
// and other clients are served meanwhile.
func TestSecurityHTTP2RapidReset(t *testing.T) {
	addr, hold, _ := h2Gateway(t)
	h := dialH2(t, addr)
	stop := make(chan struct{})
	result := probe(t, addr, stop)
	var maxInFlight atomic.Int64
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			if n := hold.inFlight.Load(); n > maxInFlight.Load() {
				maxInFlight.Store(n)
			}
		}
	}()
	// Drain what the server sends so it never blocks on us.
	goaway := make(chan http2.ErrCode, 1)
	go func() {
		for {
			f, err := h.r.ReadFrame()
			if err != nil {
				return
			}
			if ga, ok := f.(*http2.GoAwayFrame); ok {
				select {
				case goaway <- ga.ErrCode:
				default:
				}
			}
		}
	}()
	h.c.SetWriteDeadline(time.Now().Add(20 * time.Second))
	start := time.Now()
	sent := 0
	for id := uint32(1); id < 2*20000 && time.Since(start) < 3*time.Second; id += 2 {
		if err := h.request(id, "/hold"); err != nil {
			break // the gateway closed the connection
		}
		if err := h.w.WriteRSTStream(id, http2.ErrCodeCancel); err != nil {
			break
		}
		sent++
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	<-watchDone
	checkProbe(t, result)
	if m := maxInFlight.Load(); m > 100 {
		t.Errorf("%d requests of the flood ran at once, want at most the stream limit (100)", m)
	}
	select {
	case code := <-goaway:
		t.Logf("%d streams opened and reset; the gateway sent GOAWAY %v; %d reached the backend", sent, code, hold.total.Load())
	default:
		t.Logf("%d streams opened and reset; %d reached the backend", sent, hold.total.Load())
	}
	wait.For(t, 5*time.Second, "the reset requests to end", func() bool { return hold.inFlight.Load() == 0 })
}

// TestSecurityHTTP2ContinuationFlood (S12, CVE-2023-45288): a HEADERS
// frame followed by an endless run of CONTINUATION frames makes the
// gateway close the connection once the header block is far beyond
// MaxHeaderBytes, instead of reading (and decoding) forever; other clients
// are served meanwhile and nothing is forwarded.
func TestSecurityHTTP2ContinuationFlood(t *testing.T) {
	addr, hold, rec := h2Gateway(t)
	h := dialH2(t, addr)
	stop := make(chan struct{})
	result := probe(t, addr, stop)
	closed := make(chan string, 1)
	go func() {
		for {
			f, err := h.r.ReadFrame()
			if err != nil {
				closed <- "connection closed: " + err.Error()
				return
			}
			if ga, ok := f.(*http2.GoAwayFrame); ok {
				closed <- "GOAWAY " + ga.ErrCode.String()
				return
			}
		}
	}()
	if err := h.w.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: h.block("/hold/flood")}); err != nil {
		t.Fatal(err)
	}
	// Each CONTINUATION carries ~16 KiB of literal headers (valid HPACK,
	// not indexed, so the decoder's table does not help).
	var frag bytes.Buffer
	enc := hpack.NewEncoder(&frag)
	for frag.Len() < 16000 {
		enc.WriteField(hpack.HeaderField{Name: "x-flood", Value: strings.Repeat("a", 1000), Sensitive: true})
	}
	const limit = 64 << 20
	h.c.SetWriteDeadline(time.Now().Add(15 * time.Second))
	sent := 0
	var why string
	for sent < limit {
		if err := h.w.WriteContinuation(1, false, frag.Bytes()); err != nil {
			why = "write failed: " + err.Error()
			break
		}
		sent += frag.Len()
		select {
		case why = <-closed:
		default:
			continue
		}
		break
	}
	if why == "" {
		t.Fatalf("the gateway read %d MiB of CONTINUATION frames without closing the connection", sent>>20)
	}
	if !strings.HasPrefix(why, "write failed") {
		t.Logf("after %d KiB of header block: %s", sent>>10, why)
	} else {
		select {
		case why = <-closed:
			t.Logf("after %d KiB of header block: %s", sent>>10, why)
		case <-time.After(5 * time.Second):
			t.Errorf("writes failed (%s) but the connection is still open", why)
		}
	}
	// The gateway refuses the block once it passes MaxHeaderBytes (60 KiB);
	// what was sent beyond that sat in socket buffers.
	if sent > 16<<20 {
		t.Errorf("the gateway took %d KiB of header block before closing, want it near MaxHeaderBytes", sent>>10)
	}
	close(stop)
	checkProbe(t, result)
	if hold.total.Load() != 0 {
		t.Errorf("the flooded request was forwarded")
	}
	for _, r := range rec.requests() {
		if r.URI != "/probe" {
			t.Errorf("forwarded %s", r.URI)
		}
	}
}

// TestSecurityHTTP2HeaderLimits (S14 over HTTP/2): more than 100 header
// fields get 431, underscore aliases of the gateway's headers are dropped,
// as over HTTP/1.
func TestSecurityHTTP2HeaderLimits(t *testing.T) {
	addr, _, rec := h2Gateway(t)
	c := h2cClient(t)
	req, _ := http.NewRequest("GET", "http://"+addr+"/many", nil)
	for i := range 150 {
		req.Header.Set(fmt.Sprintf("X-H%d", i), "v")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || rec.count() != 0 {
		t.Errorf("150 headers: %d (backend hits %d), want 431", resp.StatusCode, rec.count())
	}
	req, _ = http.NewRequest("GET", "http://"+addr+"/ok", nil)
	req.Header["x_forwarded_for"] = []string{"6.6.6.6"}
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := rec.last(t)
	if got.Proto != "HTTP/2.0" || got.Header.Get("X_forwarded_for") != "" || !strings.HasPrefix(got.Header.Get("X-Forwarded-For"), "127.0.0.1") {
		t.Errorf("backend got %s %v", got.Proto, got.Header)
	}
}

// TestSecurityHTTP2HostAuthority (S10 over HTTP/2): a Host header that
// disagrees with :authority is refused with 400; one that agrees passes,
// and the backend gets the route's Host.
func TestSecurityHTTP2HostAuthority(t *testing.T) {
	addr, _, rec := h2Gateway(t)
	h := dialH2(t, addr)
	status := func(id uint32, host string) string {
		t.Helper()
		blk := h.block("/authority", hpack.HeaderField{Name: "host", Value: host})
		if err := h.w.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: blk, EndStream: true, EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
		h.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			f, err := h.r.ReadFrame()
			if err != nil {
				t.Fatal(err)
			}
			switch f := f.(type) {
			case *http2.MetaHeadersFrame:
				if f.StreamID == id {
					return f.PseudoValue("status")
				}
			case *http2.RSTStreamFrame:
				if f.StreamID == id {
					return "RST " + f.ErrCode.String()
				}
			}
		}
	}
	if got := status(1, "evil.example"); got != "400" || rec.count() != 0 {
		t.Errorf("host evil.example beside :authority edge.example: %s (backend hits %d), want 400", got, rec.count())
	}
	if got := status(3, "Edge.Example"); got != "200" || rec.last(t).Host != "fast.local" {
		t.Errorf("agreeing host: %s", got)
	}
}

// TestSecurityTLSListener: the HTTP/1 framing checks apply on a TLS
// listener too (the gateway terminates TLS before the HTTP server), while
// h2 by ALPN, Request.TLS and X-Forwarded-Proto work as before.
func TestSecurityTLSListener(t *testing.T) {
	f := newTLSFixture(t)
	be := startRecorder(t, "backend")
	cfg := secGateway(t, ir.HTTP2, secRoute{name: "all", m: ir.Match{Prefix: "/"}, backend: be})
	cfg.Listeners[0].TLS = f.listenerTLS(ir.TLSStrict)
	_, addr := startGatewayOpts(t, Options{}, cfg)
	dial := func(t *testing.T, proto string) (*tls.Conn, *bufio.Reader) {
		tc := certs.ClientConfig(f.ca, gwName, nil)
		tc.NextProtos = []string{proto}
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, tc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if got := c.ConnectionState().NegotiatedProtocol; got != proto {
			t.Fatalf("ALPN %q, want %q", got, proto)
		}
		return c, bufio.NewReader(c)
	}
	t.Run("http1-smuggling", func(t *testing.T) {
		be.reset()
		c, br := dial(t, "http/1.1")
		res := rawOn(t, c, br, "POST / HTTP/1.1\r\nHost: gw.example\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true)
		if res.status != http.StatusBadRequest || !res.closed || be.count() != 0 {
			t.Errorf("got %v (backend hits %d), want 400 and closed", res, be.count())
		}
	})
	t.Run("http1-ok", func(t *testing.T) {
		be.reset()
		c, br := dial(t, "http/1.1")
		res := rawOn(t, c, br, "GET /tls HTTP/1.1\r\nHost: gw.example\r\nX-Forwarded-Proto: http\r\n\r\n", false)
		if res.status != http.StatusOK {
			t.Fatalf("got %v", res)
		}
		if got := be.last(t); got.Header.Get("X-Forwarded-Proto") != "https" {
			t.Errorf("x-forwarded-proto %q, want https", got.Header.Get("X-Forwarded-Proto"))
		}
	})
	t.Run("h2-alpn", func(t *testing.T) {
		be.reset()
		c := tlsClient(t, f.ca, nil, true)
		resp, err := c.Get(fmt.Sprintf("https://%s/h2", addr))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Proto != "HTTP/2.0" {
			t.Fatalf("got %d %s", resp.StatusCode, resp.Proto)
		}
		if got := be.last(t); got.Header.Get("X-Forwarded-Proto") != "https" {
			t.Errorf("x-forwarded-proto %q, want https", got.Header.Get("X-Forwarded-Proto"))
		}
	})
	t.Run("plaintext-to-tls-port", func(t *testing.T) {
		res := rawRoundTrip(t, addr, "GET / HTTP/1.1\r\nHost: gw.example\r\n\r\n")
		if res.status != http.StatusBadRequest {
			t.Errorf("got %v, want Go's 400 for plaintext on a TLS port", res)
		}
	})
}
