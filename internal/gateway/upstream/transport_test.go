package upstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
)

func h2cServer(s *http.Server) {
	s.Protocols = new(http.Protocols)
	s.Protocols.SetUnencryptedHTTP2(true)
}

func TestH2CPriorKnowledge(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2")
	serve(t, lns[0], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Proto, r.Host)
	}), h2cServer)
	for _, p := range []ir.Protocol{ir.HTTP2, ir.GRPC} {
		m, _ := newTestManager(t, newFakeResolver(), nil)
		cfg := httpCluster("c", "127.0.0.2", port)
		cfg.Protocol = p
		m.Update([]ir.Cluster{cfg})
		if got := mustGet(t, mustCluster(t, m, "c")); got != "HTTP/2.0 svc.mesh.local" {
			t.Fatalf("%s: got %q", p, got)
		}
		m.Close()
	}
}

// TestStreamingAndTrailers sends a request body and reads the response
// body in lock step, which only works if neither side is buffered, then
// checks the trailers a gRPC server sends.
func TestStreamingAndTrailers(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2")
	serve(t, lns[0], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "Grpc-Status")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			fmt.Fprintf(w, "echo %s\n", sc.Text())
			w.(http.Flusher).Flush()
		}
		w.Header().Set("Grpc-Status", "0")
	}), h2cServer)
	m, _ := newTestManager(t, newFakeResolver(), nil)
	cfg := httpCluster("c", "127.0.0.2", port)
	cfg.Protocol = ir.GRPC
	m.Update([]ir.Cluster{cfg})
	c := mustCluster(t, m, "c")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://x/stream", pr)
	resp, err := c.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		fmt.Fprintf(pw, "msg%d\n", i)
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("echo msg%d\n", i) {
			t.Fatalf("round %d: %q %v", i, line, err)
		}
	}
	pw.Close()
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Fatalf("unexpected %q", rest)
	}
	if got := resp.Trailer.Get("Grpc-Status"); got != "0" {
		t.Fatalf("trailer Grpc-Status = %q", got)
	}
}

func TestHTTP1ResponseStreamsAndTrailers(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2")
	release := make(chan struct{})
	serve(t, lns[0], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Checksum")
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "second\n")
		w.Header().Set("X-Checksum", "abc")
	}), nil)
	m, _ := newTestManager(t, newFakeResolver(), nil)
	m.Update([]ir.Cluster{httpCluster("c", "127.0.0.2", port)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://x/", nil)
	resp, err := mustCluster(t, m, "c").RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, _ := br.ReadString('\n'); line != "first\n" {
		t.Fatalf("first chunk %q", line)
	}
	close(release)
	if rest, _ := io.ReadAll(br); string(rest) != "second\n" {
		t.Fatalf("rest %q", rest)
	}
	if resp.Trailer.Get("X-Checksum") != "abc" {
		t.Fatalf("trailers %v", resp.Trailer)
	}
}

func TestUpgradeSwitchingProtocols(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2")
	serve(t, lns[0], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "no upgrade", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			brw.WriteString("echo " + line)
			brw.Flush()
		}
	}), nil)
	metrics := &recordingMetrics{}
	m, _ := newTestManager(t, newFakeResolver(), func(o *Options) { o.Metrics = metrics })
	m.Update([]ir.Cluster{httpCluster("c", "127.0.0.2", port)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://x/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	resp, err := mustCluster(t, m, "c").RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	rw, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		t.Fatalf("101 body is %T, not writable", resp.Body)
	}
	br := bufio.NewReader(rw)
	for _, msg := range []string{"ping\n", "pong\n"} {
		io.WriteString(rw, msg)
		if got, _ := br.ReadString('\n'); got != "echo "+msg {
			t.Fatalf("got %q", got)
		}
	}
	rw.Close()
	waitFor(t, "the upgraded connection to be released", func() bool { return metrics.closed.Load() == metrics.opened.Load() })
}

func TestConnectionFailureIsTyped(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2")
	lns[0].Close()
	metrics := &recordingMetrics{}
	m, _ := newTestManager(t, newFakeResolver(), func(o *Options) { o.Metrics = metrics })
	m.Update([]ir.Cluster{httpCluster("c", "127.0.0.2", port)})
	_, _, err := get(t, mustCluster(t, m, "c"), "/")
	ce, ok := asConnectError(err)
	if !ok || ce.TLS || ce.Cluster != "c" || ce.Endpoint.Port() != port || !errors.Is(err, ErrConnectionFailure) {
		t.Fatalf("err = %#v", err)
	}
	if status, body, _ := LocalReply(err); status != 503 || body != BodyConnectionFailure {
		t.Fatalf("LocalReply = %d %q", status, body)
	}
	if metrics.connectFail.Load() != 1 {
		t.Fatalf("connect failures = %d", metrics.connectFail.Load())
	}
}

func TestDeadlinePassesThrough(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2")
	serve(t, lns[0], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}), nil)
	m, _ := newTestManager(t, newFakeResolver(), nil)
	m.Update([]ir.Cluster{httpCluster("c", "127.0.0.2", port)})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://x/", nil)
	_, err := mustCluster(t, m, "c").RoundTrip(req)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrConnectionFailure) {
		t.Fatalf("err = %v, want the context deadline", err)
	}
	if _, _, ok := LocalReply(err); ok {
		t.Fatalf("LocalReply claimed a deadline")
	}
}

func TestKeepAliveReusesConnections(t *testing.T) {
	port, lns := listenSamePort(t, "127.0.0.2")
	serve(t, lns[0], whoAmI(nil), nil)
	metrics := &recordingMetrics{}
	m, _ := newTestManager(t, newFakeResolver(), func(o *Options) { o.Metrics = metrics })
	m.Update([]ir.Cluster{httpCluster("c", "127.0.0.2", port)})
	c := mustCluster(t, m, "c")
	for range 20 {
		mustGet(t, c)
	}
	if n := metrics.opened.Load(); n != 1 {
		t.Fatalf("%d connections for 20 sequential requests", n)
	}
}

func TestLocalReplyOtherErrors(t *testing.T) {
	if status, body, ok := LocalReply(io.ErrUnexpectedEOF); !ok || status != 503 || body != BodyConnectionTermination {
		t.Fatalf("LocalReply = %d %q %v", status, body, ok)
	}
	pe := fmt.Errorf("attempt: %w", &ProtocolError{Err: errors.New(`malformed HTTP response "SSH-2.0"`)})
	if status, body, ok := LocalReply(pe); !ok || status != 502 || body != BodyProtocolError {
		t.Fatalf("LocalReply(protocol error) = %d %q %v", status, body, ok)
	}
	if _, _, ok := LocalReply(nil); ok {
		t.Fatal("LocalReply(nil)")
	}
	if _, _, ok := LocalReply(context.Canceled); ok {
		t.Fatal("LocalReply(Canceled)")
	}
}
