package upstream

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The HTTP/1.1 client against raw TCP servers that write exactly the bytes
// a case needs.

// rawServer accepts connections and runs handle on each (n counts them
// from 1).
type rawServer struct {
	t        testing.TB
	ln       net.Listener
	accepted atomic.Int32
	handle   func(n int, c net.Conn, br *bufio.Reader)
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    []net.Conn
}

func startRawServer(t testing.TB, handle func(n int, c net.Conn, br *bufio.Reader)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{t: t, ln: ln, handle: handle}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := int(s.accepted.Add(1))
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				s.handle(n, c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *rawServer) addr() string { return s.ln.Addr().String() }

// dial is an endpoint dial to the server that counts what it opened.
func (s *rawServer) client(idleTimeout time.Duration) *h1Client {
	var d net.Dialer
	c := newH1Client(func(ctx context.Context) (net.Conn, error) {
		return d.DialContext(ctx, "tcp", s.addr())
	}, idleTimeout, maxIdleConnsPerHost)
	s.t.Cleanup(c.close)
	return c
}

// readRequest reads one request and its whole body.
func readRequest(br *bufio.Reader) (*http.Request, []byte, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(req.Body)
	return req, body, err
}

// keepAlive answers every request on the connection with respond's bytes
// until it reads an error or respond returns "".
func keepAlive(respond func(req *http.Request, body []byte) string) func(int, net.Conn, *bufio.Reader) {
	return func(_ int, c net.Conn, br *bufio.Reader) {
		for {
			req, body, err := readRequest(br)
			if err != nil {
				return
			}
			out := respond(req, body)
			if out == "" {
				return
			}
			if _, err := io.WriteString(c, out); err != nil {
				return
			}
		}
	}
}

func okResponse(body string) string {
	return "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newReq(t testing.TB, ctx context.Context, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// do makes a request and reads the whole response.
func do(t testing.TB, rt http.RoundTripper, req *http.Request) (*http.Response, string, error) {
	t.Helper()
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), err
}

func mustDo(t testing.TB, rt http.RoundTripper, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, body, err := do(t, rt, req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return resp, body
}

// waitEOF reports whether the peer closed c within d.
func waitEOF(c net.Conn, br *bufio.Reader, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	_, err := br.ReadByte()
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

func TestH1KeepAliveOneConnection(t *testing.T) {
	s := startRawServer(t, keepAlive(func(req *http.Request, _ []byte) string {
		return okResponse(req.URL.Path)
	}))
	c := s.client(0)
	ctx := testCtx(t)
	for i := range 50 {
		path := fmt.Sprintf("/r%d", i)
		resp, body := mustDo(t, c, newReq(t, ctx, http.MethodGet, "http://"+s.addr()+path, nil))
		if resp.StatusCode != 200 || body != path {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	if n := s.accepted.Load(); n != 1 {
		t.Fatalf("%d connections for 50 sequential requests", n)
	}
}

// TestH1IdleConnClosedByServer: the server closes a keep-alive connection
// between requests. The transport's rules: a replayable request is sent
// again on a new connection; a POST whose body was sent on a connection
// that then died is not.
func TestH1IdleConnClosedByServer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
		body   string
		getBody,
		idemKey bool
		// What the server does with the second request on the first
		// connection: close before reading it, or read it and close
		// without answering.
		readFirst bool
		reset     bool // close with RST
		wantErr   bool
		wantSeen  int // requests the server read in all
	}{
		{name: "GET, closed before the request", method: "GET", wantSeen: 2},
		{name: "GET, reset before the request", method: "GET", reset: true, wantSeen: 2},
		{name: "GET, read then closed", method: "GET", readFirst: true, wantSeen: 3},
		{name: "HEAD, read then reset", method: "HEAD", readFirst: true, reset: true, wantSeen: 3},
		{name: "DELETE without body, read then closed", method: "DELETE", readFirst: true, wantErr: true, wantSeen: 2},
		{name: "POST with body, read then closed", method: "POST", body: "payload", readFirst: true, wantErr: true, wantSeen: 2},
		{name: "POST with body and GetBody, read then closed", method: "POST", body: "payload", getBody: true, readFirst: true, wantErr: true, wantSeen: 2},
		{name: "POST with body, GetBody and Idempotency-Key, read then closed", method: "POST", body: "payload", getBody: true, idemKey: true, readFirst: true, wantSeen: 3},
		// Closed while idle: the client sees it before using the connection
		// for a request it could not replay.
		{name: "POST with body, closed while idle", method: "POST", body: "payload", wantSeen: 2},
		{name: "PUT with body, reset while idle", method: "PUT", body: "payload", reset: true, wantSeen: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seen atomic.Int32
			idleClosed := make(chan struct{})
			s := startRawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
				hangUp := func() {
					if tc.reset {
						c.(*net.TCPConn).SetLinger(0)
					}
					c.Close()
				}
				for i := 0; ; i++ {
					if n == 1 && i == 1 && !tc.readFirst {
						hangUp()
						close(idleClosed)
						return
					}
					_, body, err := readRequest(br)
					if err != nil {
						return
					}
					seen.Add(1)
					if n == 1 && i == 1 {
						hangUp()
						return
					}
					if _, err := io.WriteString(c, okResponse("ok:"+string(body))); err != nil {
						return
					}
				}
			})
			c := s.client(0)
			ctx := testCtx(t)
			mustDo(t, c, newReq(t, ctx, http.MethodGet, "http://"+s.addr()+"/first", nil))
			if !tc.readFirst {
				<-idleClosed
				time.Sleep(20 * time.Millisecond) // the FIN or RST arrives
			}
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req := newReq(t, ctx, tc.method, "http://"+s.addr()+"/second", body)
			if !tc.getBody {
				req.GetBody = nil
			}
			if tc.idemKey {
				req.Header.Set("Idempotency-Key", "k1")
			}
			resp, got, err := do(t, c, req)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error; status %d %q", resp.StatusCode, got)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if resp.StatusCode != 200 || tc.method != "HEAD" && got != "ok:"+tc.body {
				t.Fatalf("%d %q", resp.StatusCode, got)
			}
			if n := seen.Load(); int(n) != tc.wantSeen {
				t.Fatalf("server read %d requests, want %d", n, tc.wantSeen)
			}
		})
	}
}

// TestH1DeadConnectionsAllRetried: every pooled connection died (a
// restarted upstream); a GET goes through after retrying past all of them.
func TestH1DeadConnectionsAllRetried(t *testing.T) {
	var kill atomic.Bool
	s := startRawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
		for {
			if _, _, err := readRequest(br); err != nil {
				return
			}
			if kill.Load() {
				return
			}
			if _, err := io.WriteString(c, okResponse("ok")); err != nil {
				return
			}
		}
	})
	c := s.client(0)
	ctx := testCtx(t)
	// Four pooled connections.
	var resps []*http.Response
	for range 4 {
		resp, err := c.RoundTrip(newReq(t, ctx, http.MethodGet, "http://"+s.addr()+"/", nil))
		if err != nil {
			t.Fatal(err)
		}
		resps = append(resps, resp)
	}
	for _, r := range resps {
		io.ReadAll(r.Body)
		r.Body.Close()
	}
	if n := len(c.idle); n != 4 {
		t.Fatalf("%d idle connections", n)
	}
	kill.Store(true)
	resp, err := c.RoundTrip(newReq(t, ctx, http.MethodGet, "http://"+s.addr()+"/", nil))
	if err == nil || resp != nil {
		t.Fatalf("err %v: the fresh connection's failure must be returned", err)
	}
	if n := s.accepted.Load(); n != 5 {
		t.Fatalf("%d connections, want the 4 dead ones retried and a fifth", n)
	}
}

// TestH1StaleConnectionProbedAfterIdle: a connection idle for a second or
// more is checked before use, so a 408 (or anything) the server sent on it
// while idle is never taken for the answer.
func TestH1StaleConnectionProbedAfterIdle(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the probe threshold")
	}
	s := startRawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
		if _, _, err := readRequest(br); err != nil {
			return
		}
		io.WriteString(c, okResponse("fresh"))
		if n == 1 {
			time.Sleep(50 * time.Millisecond)
			io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
			return
		}
	})
	c := s.client(0)
	ctx := testCtx(t)
	mustDo(t, c, newReq(t, ctx, http.MethodGet, "http://"+s.addr()+"/", nil))
	time.Sleep(probeIdleAfter + 100*time.Millisecond)
	resp, body := mustDo(t, c, newReq(t, ctx, http.MethodGet, "http://"+s.addr()+"/", nil))
	if resp.StatusCode != 200 || body != "fresh" || s.accepted.Load() != 2 {
		t.Fatalf("%d %q after %d connections", resp.StatusCode, body, s.accepted.Load())
	}
}

func TestH1ChunkedResponseWithTrailers(t *testing.T) {
	s := startRawServer(t, keepAlive(func(req *http.Request, _ []byte) string {
		return "HTTP/1.1 200 OK\r\nTrailer: X-Sum, X-Count\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"5\r\nhello\r\n1; ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-Sum: abc\r\nX-Count: 3\r\n\r\n"
	}))
	c := s.client(0)
	ctx := testCtx(t)
	for range 3 {
		resp, err := c.RoundTrip(newReq(t, ctx, http.MethodGet, "http://"+s.addr()+"/", nil))
		if err != nil {
			t.Fatal(err)
		}
		if resp.ContentLength != -1 || !reflect.DeepEqual(resp.TransferEncoding, []string{"chunked"}) {
			t.Fatalf("length %d, TE %v", resp.ContentLength, resp.TransferEncoding)
		}
		if _, ok := resp.Trailer["X-Sum"]; !ok || resp.Trailer.Get("X-Sum") != "" {
			t.Fatalf("announced trailers before the body: %v", resp.Trailer)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil || string(b) != "hello world" {
			t.Fatalf("%q %v", b, err)
		}
		if resp.Trailer.Get("X-Sum") != "abc" || resp.Trailer.Get("X-Count") != "3" {
			t.Fatalf("trailers %v", resp.Trailer)
		}
		resp.Body.Close()
	}
	if n := s.accepted.Load(); n != 1 {
		t.Fatalf("%d connections", n)
	}
}

// TestH1InformationalResponses: 100 Continue and 103 Early Hints reach the
// caller through httptrace, in order, and are not the answer.
func TestH1InformationalResponses(t *testing.T) {
	s := startRawServer(t, keepAlive(func(req *http.Request, body []byte) string {
		return "HTTP/1.1 100 Continue\r\n\r\n" +
			"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nLink: </b.js>; rel=preload\r\n\r\n" +
			"HTTP/1.1 102 Processing\r\n\r\n" +
			okResponse("got "+string(body))
	}))
	c := s.client(0)
	ctx := testCtx(t)
	for _, withBody := range []bool{false, true} {
		var got []string
		var got100 int
		trace := &httptrace.ClientTrace{
			Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
				got = append(got, fmt.Sprintf("%d %v", code, h["Link"]))
				return nil
			},
			Got100Continue: func() { got100++ },
		}
		var body io.Reader
		if withBody {
			body = strings.NewReader("data")
		}
		req := newReq(t, httptrace.WithClientTrace(ctx, trace), http.MethodPost, "http://"+s.addr()+"/", body)
		req.Header.Set("Expect", "100-continue")
		resp, b := mustDo(t, c, req)
		want := []string{"100 []", "103 [</a.css>; rel=preload </b.js>; rel=preload]", "102 []"}
		if resp.StatusCode != 200 || !reflect.DeepEqual(got, want) || got100 != 1 {
			t.Fatalf("%d %q, 1xx %q, 100s %d", resp.StatusCode, b, got, got100)
		}
	}
	// A Got1xxResponse error ends the exchange with it.
	boom := errors.New("boom")
	trace := &httptrace.ClientTrace{Got1xxResponse: func(int, textproto.MIMEHeader) error { return boom }}
	_, err := c.RoundTrip(newReq(t, httptrace.WithClientTrace(ctx, trace), http.MethodGet, "http://"+s.addr()+"/", nil))
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
}

func TestH1ResponsesWithoutBody(t *testing.T) {
	s := startRawServer(t, keepAlive(func(req *http.Request, _ []byte) string {
		switch req.URL.Path {
		case "/head":
			return "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
		case "/head-chunked":
			return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		case "/204":
			return "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"
		case "/304":
			return "HTTP/1.1 304 Not Modified\r\nContent-Length: 42\r\nEtag: \"x\"\r\n\r\n"
		case "/empty":
			return "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
		}
		return okResponse("body")
	}))
	c := s.client(0)
	ctx := testCtx(t)
	for _, tc := range []struct {
		method, path string
		status       int
		length       int64
	}{
		{"HEAD", "/head", 200, 1000},
		{"HEAD", "/head-chunked", 200, -1},
		{"GET", "/204", 204, 0},
		{"GET", "/304", 304, 0}, // its Content-Length describes another response
		{"GET", "/empty", 200, 0},
		{"GET", "/", 200, 4},
	} {
		resp, body := mustDo(t, c, newReq(t, ctx, tc.method, "http://"+s.addr()+tc.path, nil))
		wantBody := ""
		if tc.path == "/" {
			wantBody = "body"
		}
		if resp.StatusCode != tc.status || resp.ContentLength != tc.length || body != wantBody {
			t.Fatalf("%s %s: %d length %d %q", tc.method, tc.path, resp.StatusCode, resp.ContentLength, body)
		}
		if tc.path != "/" && resp.Body != http.NoBody {
			t.Fatalf("%s %s: body %T", tc.method, tc.path, resp.Body)
		}
	}
	if n := s.accepted.Load(); n != 1 {
		t.Fatalf("%d connections", n)
	}
}

// TestH1BrokenBodies: a response body shorter than its Content-Length, a
// broken chunk and a response followed by unsolicited bytes: errors (or
// the response) for the caller, and the connection is not reused.
func TestH1BrokenBodies(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		wantErr   error
		wantBody  string
	}{
		{"short Content-Length body", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this", io.ErrUnexpectedEOF, ""},
		{"truncated chunked body", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", io.ErrUnexpectedEOF, ""},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", nil, ""},
		{"longer than Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA BYTES", nil, "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eof := make(chan bool, 1)
			s := startRawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
				if _, _, err := readRequest(br); err != nil {
					return
				}
				if n == 1 {
					io.WriteString(c, tc.raw)
					if tc.wantErr == io.ErrUnexpectedEOF {
						c.(*net.TCPConn).CloseWrite()
					}
					eof <- waitEOF(c, br, 5*time.Second)
					return
				}
				io.WriteString(c, okResponse("second"))
			})
			c := s.client(0)
			ctx := testCtx(t)
			_, body, err := do(t, c, newReq(t, ctx, http.MethodGet, "http://"+s.addr()+"/", nil))
			switch {
			case tc.wantBody != "":
				if err != nil || body != tc.wantBody {
					t.Fatalf("%q %v", body, err)
				}
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
			default:
				if err == nil {
					t.Fatalf("no error, body %q", body)
				}
			}
			if !<-eof {
				t.Fatal("the connection was not closed")
			}
			if _, body := mustDo(t, c, newReq(t, ctx, http.MethodGet, "http://"+s.addr()+"/", nil)); body != "second" || s.accepted.Load() != 2 {
				t.Fatalf("second request %q on %d connections", body, s.accepted.Load())
			}
		})
	}
}

// TestH1ConnectionClose: responses that end their connection.
func TestH1ConnectionClose(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		reqClose  bool
		body      string
		reuse     bool
	}{
		{"Connection: close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", false, "ok", false},
		{"request Close", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true, "ok", false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false, "ok", false},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", false, "ok", true},
		{"HTTP/1.0 until EOF", "HTTP/1.0 200 OK\r\n\r\nall of this", false, "all of this", false},
		{"HTTP/1.1 until EOF", "HTTP/1.1 200 OK\r\n\r\nall of this", false, "all of this", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var closedByClient atomic.Int32
			s := startRawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
				for {
					req, _, err := readRequest(br)
					if err != nil {
						return
					}
					io.WriteString(c, tc.raw)
					if strings.Contains(tc.raw, "Content-Length") && (req.Close || strings.Contains(tc.raw, "close") || strings.HasPrefix(tc.raw, "HTTP/1.0") && !tc.reuse) {
						if waitEOF(c, br, 5*time.Second) {
							closedByClient.Add(1)
						}
						return
					}
					if !strings.Contains(tc.raw, "Content-Length") {
						return // the body ends with the connection
					}
				}
			})
			c := s.client(0)
			ctx := testCtx(t)
			for range 2 {
				req := newReq(t, ctx, http.MethodGet, "http://"+s.addr()+"/", nil)
				req.Close = tc.reqClose
				resp, body := mustDo(t, c, req)
				if body != tc.body || resp.Close == tc.reuse && !tc.reqClose {
					t.Fatalf("%q close=%v", body, resp.Close)
				}
			}
			want := int32(2)
			if tc.reuse {
				want = 1
			}
			if n := s.accepted.Load(); n != want {
				t.Fatalf("%d connections, want %d", n, want)
			}
			if strings.Contains(tc.raw, "Content-Length") && !tc.reuse {
				waitFor(t, "the client to close both connections", func() bool { return closedByClient.Load() == 2 })
			}
			if tc.reuse && len(c.idle) != 1 {
				t.Fatalf("%d idle", len(c.idle))
			}
		})
	}
}

// TestH1EarlyCloseClosesConnection: a body closed before EOF is not
// drained: its connection is closed.
func TestH1EarlyCloseClosesConnection(t *testing.T) {
	eof := make(chan bool, 1)
	s := startRawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
		if _, _, err := readRequest(br); err != nil {
			return
		}
		if n == 1 {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nfirst bytes")
			eof <- waitEOF(c, br, 5*time.Second)
			return
		}
		io.WriteString(c, okResponse("second"))
	})
	c := s.client(0)
	ctx := testCtx(t)
	resp, err := c.RoundTrip(newReq(t, ctx, http.MethodGet, "http://"+s.addr()+"/", nil))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first" {
		t.Fatalf("%q %v", buf, err)
	}
	resp.Body.Close()
	if _, err := resp.Body.Read(buf); err != errReadOnClosedResBody {
		t.Fatalf("read after close: %v", err)
	}
	if !<-eof {
		t.Fatal("connection not closed")
	}
	if _, body := mustDo(t, c, newReq(t, ctx, http.MethodGet, "http://"+s.addr()+"/", nil)); body != "second" {
		t.Fatalf("%q", body)
	}
}

// TestH1Cancel: a context ending while the client waits for the headers,
// or while it reads the body, ends the exchange at once with the
// context's error, and the connection is closed.
func TestH1Cancel(t *testing.T) {
	for _, tc := range []struct {
		name     string
		headers  bool // the server sends headers and a first body chunk
		deadline bool
	}{
		{"cancel before headers", false, false},
		{"deadline before headers", false, true},
		{"cancel mid-body", true, false},
		{"deadline mid-body", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eof := make(chan bool, 1)
			s := startRawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
				if _, _, err := readRequest(br); err != nil {
					return
				}
				if tc.headers {
					io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
				}
				eof <- waitEOF(c, br, 5*time.Second)
			})
			c := s.client(0)
			var ctx context.Context
			var cancel context.CancelFunc
			if tc.deadline {
				ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
			} else {
				ctx, cancel = context.WithCancel(context.Background())
				time.AfterFunc(200*time.Millisecond, cancel)
			}
			defer cancel()
			want := context.Canceled
			if tc.deadline {
				want = context.DeadlineExceeded
			}
			start := time.Now()
			resp, err := c.RoundTrip(newReq(t, ctx, http.MethodGet, "http://"+s.addr()+"/", nil))
			if tc.headers {
				if err != nil {
					t.Fatal(err)
				}
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if !errors.Is(err, want) {
				t.Fatalf("err %v, want %v", err, want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %v", d)
			}
			if !<-eof {
				t.Fatal("connection not closed")
			}
			if len(c.idle) != 0 {
				t.Fatal("a cancelled connection was pooled")
			}
		})
	}
}

// TestH1BodyStreamsBothWays: the server echoes each line of the request
// body as it reads it; the client sends the next line only after reading
// the echo, which needs both directions unbuffered at once.
func TestH1BodyStreamsBothWays(t *testing.T) {
	s := startRawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
			sc := bufio.NewScanner(req.Body)
			for sc.Scan() {
				line := "echo " + sc.Text() + "\n"
				fmt.Fprintf(c, "%x\r\n%s\r\n", len(line), line)
			}
			io.WriteString(c, "0\r\nX-Lines: done\r\n\r\n")
		}
	})
	c := s.client(0)
	ctx := testCtx(t)
	for round := range 2 {
		pr, pw := io.Pipe()
		req := newReq(t, ctx, http.MethodPost, "http://"+s.addr()+"/", pr)
		resp, err := c.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(resp.Body)
		for i := range 5 {
			fmt.Fprintf(pw, "line %d\n", i)
			got, err := br.ReadString('\n')
			if err != nil || got != fmt.Sprintf("echo line %d\n", i) {
				t.Fatalf("round %d line %d: %q %v", round, i, got, err)
			}
		}
		pw.Close()
		if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
			t.Fatalf("rest %q %v", rest, err)
		}
		resp.Body.Close()
		if resp.Trailer.Get("X-Lines") != "done" {
			t.Fatalf("trailers %v", resp.Trailer)
		}
	}
	if n := s.accepted.Load(); n != 1 {
		t.Fatalf("%d connections", n)
	}
}

// TestH1EarlyResponse: the server answers before reading the body (a
// 413), and closes. The caller gets the answer.
func TestH1EarlyResponse(t *testing.T) {
	s := startRawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 413 Request Entity Too Large\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbig")
		// A FIN, not a reset for unread data, until the client hangs up.
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, br)
	})
	c := s.client(0)
	ctx := testCtx(t)
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() {
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
	}()
	resp, body, err := do(t, c, newReq(t, ctx, http.MethodPost, "http://"+s.addr()+"/", pr))
	if err != nil || resp.StatusCode != 413 || body != "big" {
		t.Fatalf("%v %q %v", resp, body, err)
	}
}

// TestH1RequestBodyError: the caller's request body failing is the error
// of the exchange.
func TestH1RequestBodyError(t *testing.T) {
	s := startRawServer(t, keepAlive(func(req *http.Request, body []byte) string { return okResponse("ok") }))
	c := s.client(0)
	ctx := testCtx(t)
	boom := errors.New("client body broke")
	body := io.MultiReader(strings.NewReader("some"), iotestErrReader{boom})
	req := newReq(t, ctx, http.MethodPost, "http://"+s.addr()+"/", body)
	req.ContentLength = 100
	if _, _, err := do(t, c, req); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if len(c.idle) != 0 {
		t.Fatal("pooled a connection with half a request on it")
	}
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

func TestH1LargeBodies(t *testing.T) {
	const size = 8 << 20
	s := startRawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
		bw := bufio.NewWriter(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			h := sha256.New()
			if _, err := io.Copy(h, req.Body); err != nil {
				return
			}
			sum := fmt.Sprintf("%x", h.Sum(nil))
			// Echo a large chunked body derived from the request's hash.
			bw.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Req-Sum\r\n\r\n")
			r := rand.New(rand.NewPCG(1, 2))
			chunk := make([]byte, 64<<10)
			for left := size; left > 0; left -= len(chunk) {
				for i := range chunk {
					chunk[i] = byte(r.Uint32())
				}
				fmt.Fprintf(bw, "%x\r\n", len(chunk))
				bw.Write(chunk)
				bw.WriteString("\r\n")
			}
			bw.WriteString("0\r\nX-Req-Sum: " + sum + "\r\n\r\n")
			if bw.Flush() != nil {
				return
			}
		}
	})
	c := s.client(0)
	ctx := testCtx(t)
	reqBody := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	wantReqSum := fmt.Sprintf("%x", sha256.Sum256(reqBody))
	r := rand.New(rand.NewPCG(1, 2))
	want := sha256.New()
	chunk := make([]byte, 64<<10)
	for left := size; left > 0; left -= len(chunk) {
		for i := range chunk {
			chunk[i] = byte(r.Uint32())
		}
		want.Write(chunk)
	}
	for _, known := range []bool{true, false} {
		var body io.Reader = bytes.NewReader(reqBody)
		if !known {
			body = io.MultiReader(body) // unknown length: chunked
		}
		req := newReq(t, ctx, http.MethodPut, "http://"+s.addr()+"/", body)
		resp, err := c.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		got := sha256.New()
		if _, err := io.Copy(got, resp.Body); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if !bytes.Equal(got.Sum(nil), want.Sum(nil)) || resp.Trailer.Get("X-Req-Sum") != wantReqSum {
			t.Fatalf("known=%v: bodies differ (request sum %q)", known, resp.Trailer.Get("X-Req-Sum"))
		}
	}
	if n := s.accepted.Load(); n != 1 {
		t.Fatalf("%d connections", n)
	}
}

func TestH1ResponseHeaderLimit(t *testing.T) {
	s := startRawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
		if _, _, err := readRequest(br); err != nil {
			return
		}
		bw := bufio.NewWriter(c)
		bw.WriteString("HTTP/1.1 200 OK\r\n")
		line := "X-Big: " + strings.Repeat("a", 1000) + "\r\n"
		for range maxResponseHeaderBytes/len(line) + 10 {
			if _, err := bw.WriteString(line); err != nil {
				return
			}
		}
		bw.WriteString("\r\n")
		bw.Flush()
	})
	c := s.client(0)
	_, _, err := do(t, c, newReq(t, testCtx(t), http.MethodGet, "http://"+s.addr()+"/", nil))
	var pe *ProtocolError
	if err == nil || !strings.Contains(err.Error(), "exceeded") || !errors.As(err, &pe) {
		t.Fatalf("err %v, want a protocol error: headers exceeded", err)
	}
}

// TestH1ProtocolErrors: a response head that is not HTTP/1.1 fails as the
// endpoint's protocol error; a connection closed before or during the
// head does not.
func TestH1ProtocolErrors(t *testing.T) {
	for _, tc := range []struct {
		name, reply string
		protocol    bool
	}{
		{"status line", "garbage\r\n\r\n", true},
		{"status code", "HTTP/1.1 2x0 OK\r\n\r\n", true},
		{"field", "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", true},
		{"closed", "", false},
		{"cut short", "HTTP/1.1 200 OK\r\nContent-Le", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startRawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
				if _, _, err := readRequest(br); err == nil {
					io.WriteString(c, tc.reply)
				}
			})
			_, _, err := do(t, s.client(0), newReq(t, testCtx(t), http.MethodGet, "http://"+s.addr()+"/", nil))
			var pe *ProtocolError
			if err == nil || errors.As(err, &pe) != tc.protocol {
				t.Fatalf("err %v, want a protocol error: %v", err, tc.protocol)
			}
		})
	}
}

func TestH1Upgrade(t *testing.T) {
	s := startRawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
		req, _, err := readRequest(br)
		if err != nil {
			return
		}
		if req.Header.Get("Upgrade") != "websocket" {
			io.WriteString(c, okResponse("not upgraded"))
			return
		}
		// The first frame right behind the 101, in the same write.
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello\n")
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			io.WriteString(c, "echo "+line)
		}
	})
	c := s.client(0)
	ctx := testCtx(t)
	req := newReq(t, ctx, http.MethodGet, "http://"+s.addr()+"/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	resp, err := c.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	rw, ok := resp.Body.(io.ReadWriteCloser)
	if resp.StatusCode != 101 || !ok {
		t.Fatalf("%d %T", resp.StatusCode, resp.Body)
	}
	br := bufio.NewReader(rw)
	if got, _ := br.ReadString('\n'); got != "hello\n" {
		t.Fatalf("%q", got)
	}
	for _, msg := range []string{"ping\n", "pong\n"} {
		io.WriteString(rw, msg)
		if got, _ := br.ReadString('\n'); got != "echo "+msg {
			t.Fatalf("%q", got)
		}
	}
	// Half-close: the server sees EOF and hangs up.
	if err := rw.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("after CloseWrite: %q %v", rest, err)
	}
	rw.Close()
	if len(c.idle) != 0 {
		t.Fatal("upgraded connection pooled")
	}
}

func TestH1IdleTimeoutAndClose(t *testing.T) {
	eofs := make(chan bool, 4)
	s := startRawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
		if _, _, err := readRequest(br); err != nil {
			return
		}
		io.WriteString(c, okResponse("ok"))
		eofs <- waitEOF(c, br, 5*time.Second)
	})
	c := s.client(100 * time.Millisecond)
	ctx := testCtx(t)
	start := time.Now()
	mustDo(t, c, newReq(t, ctx, http.MethodGet, "http://"+s.addr()+"/", nil))
	if !<-eofs {
		t.Fatal("idle connection not closed")
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
		t.Fatalf("closed after %v", d)
	}
	// CloseIdleConnections closes what is idle; a closed pool takes no
	// connection back.
	c2 := s.client(0)
	mustDo(t, c2, newReq(t, ctx, http.MethodGet, "http://"+s.addr()+"/", nil))
	c2.CloseIdleConnections()
	if !<-eofs {
		t.Fatal("CloseIdleConnections left it open")
	}
	resp, err := c2.RoundTrip(newReq(t, ctx, http.MethodGet, "http://"+s.addr()+"/", nil))
	if err != nil {
		t.Fatal(err)
	}
	c2.close()
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if !<-eofs || len(c2.idle) != 0 {
		t.Fatal("a closed pool kept a connection")
	}
}

func TestH1Concurrent(t *testing.T) {
	s := startRawServer(t, keepAlive(func(req *http.Request, body []byte) string {
		if req.Method == "POST" {
			return okResponse(string(body))
		}
		return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(req.URL.Path), req.URL.Path)
	}))
	c := s.client(time.Second)
	ctx := testCtx(t)
	const workers, each = 16, 100
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				want := fmt.Sprintf("/w%d/r%d", w, i)
				var req *http.Request
				if i%3 == 0 {
					req = newReq(t, ctx, http.MethodPost, "http://"+s.addr()+"/", strings.NewReader(want))
				} else {
					req = newReq(t, ctx, http.MethodGet, "http://"+s.addr()+want, nil)
				}
				resp, body, err := do(t, c, req)
				if err != nil || resp.StatusCode != 200 || body != want {
					errs <- fmt.Errorf("%s: %q %v", want, body, err)
					return
				}
				if i%10 == 9 {
					c.CloseIdleConnections()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d connections for %d requests", s.accepted.Load(), workers*each)
}

// TestH1MatchesTransport is the differential test: the same random
// requests through http.Transport (as the gateway configured it) and
// through h1Client, to a server that records the bytes of every request
// and answers from a table of responses picked by the request: the bytes
// on the wire and what the caller sees must be the same.
func TestH1MatchesTransport(t *testing.T) {
	type record struct {
		raw  []byte
		conn int
	}
	var mu sync.Mutex
	var recs []record
	s := startRawServer(t, func(n int, c net.Conn, _ *bufio.Reader) {
		rec := &recordingConn{Conn: c}
		br := bufio.NewReader(rec)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, req.Body); err != nil {
				return
			}
			raw := rec.take(br.Buffered())
			mu.Lock()
			recs = append(recs, record{raw: raw, conn: n})
			mu.Unlock()
			seed, _ := strconv.ParseUint(req.Header.Get("X-Seed"), 10, 64)
			out, closeAfter := diffResponse(seed, req.Method)
			if _, err := io.WriteString(c, out); err != nil || closeAfter {
				return
			}
		}
	})
	var d net.Dialer
	dial := func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", s.addr()) }
	tr := &http.Transport{
		MaxIdleConnsPerHost: maxIdleConnsPerHost,
		DisableCompression:  true,
		Protocols:           protocolsFor(false, false),
		DialContext:         func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
	}
	t.Cleanup(tr.CloseIdleConnections)
	h1 := newH1Client(dial, time.Minute, maxIdleConnsPerHost)
	t.Cleanup(h1.close)

	type seen struct {
		Err        bool
		Status     string
		StatusCode int
		Proto      string
		Header     http.Header
		Body       string
		Trailer    http.Header
		Length     int64
		TE         []string
		Close      bool
		Info       []string
	}
	run := func(rt http.RoundTripper, seed uint64) (seen, []byte) {
		r := rand.New(rand.NewPCG(seed, 7))
		var info []string
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			info = append(info, fmt.Sprintf("%d %v", code, h))
			return nil
		}}
		req := diffRequest(t, r, httptrace.WithClientTrace(testCtx(t), trace), s.addr(), seed)
		mu.Lock()
		before := len(recs)
		mu.Unlock()
		resp, err := rt.RoundTrip(req)
		var out seen
		if err != nil {
			out.Err = true
			return out, nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = seen{Err: err != nil, Status: resp.Status, StatusCode: resp.StatusCode, Proto: resp.Proto,
			Header: resp.Header, Body: string(b), Trailer: resp.Trailer, Length: resp.ContentLength,
			TE: resp.TransferEncoding, Close: resp.Close, Info: info}
		mu.Lock()
		defer mu.Unlock()
		if len(recs) != before+1 {
			t.Fatalf("seed %d: %d requests recorded", seed, len(recs)-before)
		}
		return out, recs[before].raw
	}
	n := 600
	if testing.Short() {
		n = 100
	}
	for i := range n {
		seed := uint64(i)
		want, wantRaw := run(tr, seed)
		got, gotRaw := run(h1, seed)
		if !sameRequest(wantRaw, gotRaw) {
			t.Fatalf("seed %d: request bytes differ\ntransport: %q\nh1client:  %q", seed, wantRaw, gotRaw)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("seed %d: responses differ\ntransport: %+v\nh1client:  %+v", seed, want, got)
		}
	}
}

type recordingConn struct {
	net.Conn
	buf []byte
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.buf = append(c.buf, p[:n]...)
	return n, err
}

// take returns what was read so far less the buffered bytes not consumed.
func (c *recordingConn) take(buffered int) []byte {
	n := len(c.buf) - buffered
	out := append([]byte(nil), c.buf[:n]...)
	c.buf = append(c.buf[:0], c.buf[n:]...)
	return out
}

// diffRequest is a random request as the gateway may forward one.
func diffRequest(t *testing.T, r *rand.Rand, ctx context.Context, addr string, seed uint64) *http.Request {
	methods := []string{"GET", "GET", "GET", "HEAD", "POST", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"}
	method := methods[r.IntN(len(methods))]
	paths := []string{"/", "/color/", "/a/b?x=1&y=%20z", "/%E2%82%AC/x", "/with%2Fslash", "/q?", "/deep/path/with-many/segments?k=v&k=w"}
	var body io.Reader
	var content []byte
	bodyKind := r.IntN(5)
	if method != "GET" && method != "HEAD" || r.IntN(8) == 0 {
		content = bytes.Repeat([]byte{byte('a' + r.IntN(26))}, r.IntN(3000))
		switch bodyKind {
		case 0:
			body = nil
		case 1:
			body = http.NoBody
		case 2, 3:
			body = bytes.NewReader(content)
		case 4:
			body = io.MultiReader(bytes.NewReader(content)) // unknown length
		}
	}
	req := newReq(t, ctx, method, "http://"+addr+paths[r.IntN(len(paths))], body)
	if bodyKind == 3 && body != nil {
		req.GetBody = nil // a streamed body, as the gateway forwards it
		req.Body = io.NopCloser(req.Body)
	}
	hosts := []string{"", "color.local", "svc.mesh.local:8080", "[::1]:80", "bücher.example", "bad host", "[fe80::1%en0]:8080", "a/b"}
	req.Host = hosts[r.IntN(len(hosts))]
	req.Header = http.Header{}
	req.Header.Set("X-Seed", strconv.FormatUint(seed, 10))
	names := []string{"Accept", "Accept-Encoding", "X-Request-Id", "X-Forwarded-For", "X-Forwarded-Proto", "Cookie",
		"Authorization", "Content-Type", "Te", "X-Custom", "Cache-Control", "Range", "If-None-Match", "Expect", "Idempotency-Key"}
	for range r.IntN(8) {
		name := names[r.IntN(len(names))]
		if name == "Expect" && body == nil {
			continue
		}
		for range 1 + r.IntN(2) {
			switch r.IntN(6) {
			case 0:
				req.Header.Add(name, fmt.Sprintf(" \t spaced %d  ", r.IntN(100)))
			case 1:
				req.Header.Add(name, "")
			default:
				req.Header.Add(name, fmt.Sprintf("v%d, w%d", r.IntN(100), r.IntN(100)))
			}
		}
	}
	switch r.IntN(8) {
	case 0:
		req.Header["X-No-Values"] = []string{}
	case 1:
		req.Header.Set("Connection", "keep-alive")
	case 2:
		req.Header["lower-case-key"] = []string{"kept as is"}
	}
	switch r.IntN(5) {
	case 0:
		req.Header["User-Agent"] = []string{""}
	case 1:
		req.Header.Set("User-Agent", "curl/8.0")
	case 2:
		req.Header["User-Agent"] = []string{}
	case 3:
		req.Header["User-Agent"] = []string{"  padded agent\t", "second"}
	}
	if r.IntN(4) == 0 && body != nil && body != http.NoBody && bodyKind == 4 {
		req.Trailer = http.Header{"X-Trailer": nil}
	}
	req.Close = r.IntN(10) == 0
	return req
}

// diffResponse is the response for a seed; closeAfter when the connection
// ends with it.
func diffResponse(seed uint64, method string) (out string, closeAfter bool) {
	r := rand.New(rand.NewPCG(seed, 11))
	body := strings.Repeat(string(rune('A'+r.IntN(26))), r.IntN(5000))
	var b strings.Builder
	if r.IntN(5) == 0 {
		b.WriteString("HTTP/1.1 103 Early Hints\r\nLink: </x.css>; rel=preload\r\n\r\n")
	}
	if r.IntN(8) == 0 {
		b.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
	}
	proto := "HTTP/1.1"
	if r.IntN(10) == 0 {
		proto = "HTTP/1.0"
	}
	status := []string{"200 OK", "200 OK", "201 Created", "204 No Content", "304 Not Modified", "404 Not Found", "503 Service Unavailable"}[r.IntN(7)]
	fmt.Fprintf(&b, "%s %s\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Empty:\r\n", proto, status)
	if r.IntN(6) == 0 {
		b.WriteString("Connection: close\r\n")
		closeAfter = true
	} else if proto == "HTTP/1.0" {
		if r.IntN(2) == 0 {
			b.WriteString("Connection: keep-alive\r\n")
		} else {
			closeAfter = true
		}
	}
	noBody := method == "HEAD" || strings.HasPrefix(status, "204") || strings.HasPrefix(status, "304")
	switch k := r.IntN(3); {
	case k == 0 && proto == "HTTP/1.1" && !strings.HasPrefix(status, "204") && !strings.HasPrefix(status, "304"):
		b.WriteString("Transfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n")
		if !noBody {
			for rest := body; rest != ""; {
				n := min(len(rest), 1+r.IntN(2000))
				fmt.Fprintf(&b, "%x\r\n%s\r\n", n, rest[:n])
				rest = rest[n:]
			}
			b.WriteString("0\r\nX-Checksum: 42\r\n\r\n")
		}
	case k == 1 && !noBody && !closeAfter && proto == "HTTP/1.1" && r.IntN(2) == 0:
		// Delimited by the end of the connection.
		b.WriteString("\r\n" + body)
		closeAfter = true
	default:
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
		if !noBody {
			b.WriteString(body)
		}
	}
	return b.String(), closeAfter
}

// sameHead: two request heads with the same bytes up to the fields of the
// header map (request line, Host, User-Agent, Content-Length), then the
// same fields, each name's values in the same order, names in any order.
func sameHead(a, b string) bool {
	fields := func(head string) (fixed []string, byName map[string][]string, ok bool) {
		lines := strings.Split(head, "\r\n")
		if len(lines) < 3 || lines[len(lines)-1] != "" || lines[len(lines)-2] != "" {
			return nil, nil, false
		}
		lines = lines[:len(lines)-2]
		byName = map[string][]string{}
		for i, l := range lines {
			name, value, _ := strings.Cut(l, ": ")
			switch {
			case i == 0 || name == "Host" || name == "User-Agent" || name == "Content-Length":
				fixed = append(fixed, l)
			default:
				byName[name] = append(byName[name], value)
			}
		}
		return fixed, byName, true
	}
	fa, ma, oka := fields(a)
	fb, mb, okb := fields(b)
	return oka && okb && slices.Equal(fa, fb) && reflect.DeepEqual(ma, mb)
}

// sameRequest: requests whose heads are the same (sameHead) and whose
// bodies are the same bytes.
func sameRequest(a, b []byte) bool {
	ha, ba, _ := bytes.Cut(a, []byte("\r\n\r\n"))
	hb, bb, _ := bytes.Cut(b, []byte("\r\n\r\n"))
	return sameHead(string(ha)+"\r\n\r\n", string(hb)+"\r\n\r\n") && bytes.Equal(ba, bb)
}

// TestWriteHeadMatchesWrite: the fast head writer writes what
// (*http.Request).Write writes (but for the order of the header's names),
// for the random requests of the differential test and for requests it
// must decline.
func TestWriteHeadMatchesWrite(t *testing.T) {
	fast := 0
	for seed := range uint64(3000) {
		r := rand.New(rand.NewPCG(seed, 7))
		req := diffRequest(t, r, context.Background(), "127.0.0.1:1", seed)
		if hasBody(req) {
			continue
		}
		if checkRequest(req) != nil {
			continue // refused before writing
		}
		var got, want bytes.Buffer
		gw := bufio.NewWriter(&got)
		if !writeHead(gw, req, nil) {
			continue
		}
		fast++
		gw.Flush()
		if err := req.Write(&want); err != nil {
			t.Fatalf("seed %d: Write: %v", seed, err)
		}
		if !sameHead(got.String(), want.String()) {
			t.Fatalf("seed %d:\nwriteHead: %q\nWrite:     %q", seed, got.Bytes(), want.Bytes())
		}
	}
	if fast < 1000 {
		t.Fatalf("only %d requests took the fast path", fast)
	}
	declined := []func(*http.Request){
		func(r *http.Request) { r.Close = true },
		func(r *http.Request) { r.Host = "bücher.example" },
		func(r *http.Request) { r.Host = "[fe80::1%en0]:80" },
		func(r *http.Request) { r.URL.RawQuery = "a=\x01" },
		func(r *http.Request) { r.URL.Opaque = "//x/y" },
		func(r *http.Request) { r.Method = http.MethodConnect },
		func(r *http.Request) { r.TransferEncoding = []string{"chunked"} },
	}
	for i, mod := range declined {
		req := newReq(t, context.Background(), http.MethodGet, "http://127.0.0.1:1/p", nil)
		mod(req)
		var b bytes.Buffer
		bw := bufio.NewWriter(&b)
		if writeHead(bw, req, nil) || bw.Buffered() != 0 {
			t.Fatalf("case %d: not declined", i)
		}
	}
	req := newReq(t, context.Background(), http.MethodGet, "http://127.0.0.1:1/p", nil)
	if writeHead(bufio.NewWriter(io.Discard), req, &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) {}}) {
		t.Fatal("a trace watching the write was not declined")
	}
}
