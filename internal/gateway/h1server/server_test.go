package h1server

// Behaviour tests on real sockets on 127.0.0.1: timeouts, body errors,
// cancellation, hijacking, shutdown, connection states, panics,
// concurrency; and FuzzRequest.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/testutil/logbuf"
)

// testServer is a Server on a 127.0.0.1 listener.
type testServer struct {
	*Server
	addr   string
	l      net.Listener
	served chan error // Serve's result
	log    *logbuf.Buffer
}

// startServer serves s on a fresh listener, with ErrorLog captured unless
// set; cleanup shuts it down within bounds.
func startServer(t *testing.T, s *Server) *testServer {
	t.Helper()
	ts := &testServer{Server: s, l: listenLocal(t), served: make(chan error, 1), log: &logbuf.Buffer{}}
	ts.addr = ts.l.Addr().String()
	if s.ErrorLog == nil {
		s.ErrorLog = log.New(ts.log, "", 0)
	}
	go func() { ts.served <- s.Serve(ts.l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		ts.l.Close()
		select {
		case <-ts.served:
		case <-time.After(3 * time.Second):
			t.Errorf("Serve did not return after Shutdown and closing the listener")
		}
		if t.Failed() {
			t.Logf("ErrorLog:\n%s", ts.log.String())
		}
	})
	return ts
}

// client is a raw client connection with a buffered reader.
type client struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

func dialClient(t testing.TB, addr string) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

func (cl *client) write(s string) {
	cl.t.Helper()
	cl.c.SetWriteDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(cl.c, s); err != nil {
		cl.t.Fatalf("write: %v", err)
	}
}

// response reads one final response (skipping 1xx) within d, with its
// body.
func (cl *client) response(method string, d time.Duration) (*http.Response, string) {
	cl.t.Helper()
	cl.c.SetReadDeadline(time.Now().Add(d))
	for {
		resp, err := http.ReadResponse(cl.br, &http.Request{Method: method})
		if err != nil {
			cl.t.Fatalf("reading response: %v", err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			cl.t.Fatalf("reading response body: %v (got %q)", err, b)
		}
		if resp.StatusCode/100 == 1 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		return resp, string(b)
	}
}

// readEnd reads until the connection ends or d passes; it returns what
// was read, how the read ended ("eof", "reset", "open" or the error) and
// when.
func (cl *client) readEnd(d time.Duration) (rest []byte, end string, elapsed time.Duration) {
	start := time.Now()
	cl.c.SetReadDeadline(start.Add(d))
	buf := make([]byte, 4096)
	for {
		n, err := cl.br.Read(buf)
		rest = append(rest, buf[:n]...)
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, io.EOF):
				end = "eof"
			case errors.Is(err, syscall.ECONNRESET):
				end = "reset"
			case errors.As(err, &ne) && ne.Timeout():
				end = "open"
			default:
				end = err.Error()
			}
			return rest, end, time.Since(start)
		}
	}
}

// expectClosed asserts that the server closes the connection within d,
// sending nothing more.
func (cl *client) expectClosed(d time.Duration) time.Duration {
	cl.t.Helper()
	rest, end, elapsed := cl.readEnd(d)
	if end != "eof" && end != "reset" {
		cl.t.Errorf("connection not closed within %v: %s", d, end)
	}
	if len(rest) > 0 {
		cl.t.Errorf("unexpected bytes before close: %q", rest)
	}
	return elapsed
}

// lastResponse reads a response that must be the connection's last:
// status and body as given, "Connection: close", then the close.
func (cl *client) lastResponse(method string, status int, body string) {
	cl.t.Helper()
	resp, got := cl.response(method, 3*time.Second)
	if resp.StatusCode != status || got != body {
		cl.t.Errorf("response %d %q, want %d %q", resp.StatusCode, got, status, body)
	}
	if !resp.Close {
		cl.t.Errorf("response without Connection: close though the connection closes after it: %v", resp.Header)
	}
	cl.expectClosed(2 * time.Second)
}

// expectOpen asserts that the connection stays open and quiet for d.
func (cl *client) expectOpen(d time.Duration) {
	cl.t.Helper()
	rest, end, _ := cl.readEnd(d)
	if end != "open" || len(rest) > 0 {
		cl.t.Errorf("connection should stay open and quiet for %v: %s after %q", d, end, rest)
	}
}

// recvTimeout receives from ch within d.
func recvTimeout[T any](t testing.TB, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("timed out after %v waiting for %s", d, what)
		var zero T
		return zero
	}
}

type bodyReadResult struct {
	body      string
	err       error
	bodyError error // BodyError(r) after the read
	elapsed   time.Duration
	problem   string
	noBody    bool // r.Body == http.NoBody
}

// readingHandler reads the request body and reports it on ch, then
// answers 200 "done".
func readingHandler(ch chan<- bodyReadResult) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		noBody := r.Body == http.NoBody
		b, err := io.ReadAll(r.Body)
		ch <- bodyReadResult{body: string(b), err: err, bodyError: BodyError(r), elapsed: time.Since(start), problem: Problem(r), noBody: noBody}
		w.Header().Set("Content-Type", textPlain)
		io.WriteString(w, "done")
	}
}

func TestBodyIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond

	for _, tc := range []struct {
		name  string
		parts []string // written with 100 ms between them
		stall bool     // the client stalls after the parts
		body  string   // the body read, for a complete one
	}{
		{name: "content-length-half-body", parts: []string{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhello"}, stall: true},
		{name: "content-length-head-only", parts: []string{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n"}, stall: true},
		{name: "chunked-mid-chunk", parts: []string{chunkedHead + "a\r\nhello"}, stall: true},
		{name: "chunked-between-chunks", parts: []string{chunkedHead + "5\r\nhello\r\n"}, stall: true},
		{name: "chunked-in-trailer", parts: []string{chunkedHead + "5\r\nhello\r\n0\r\nX-T: 1\r\n"}, stall: true},
		{
			// bytes keep coming, each within the idle timeout: no error
			// though the whole body takes longer than the timeout
			name:  "trickle-within-timeout",
			parts: []string{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\n", "a", "b", "c", "d", "e", "f"},
			body:  "abcdef",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ch := make(chan bodyReadResult, 1)
			ts := startServer(t, &Server{Handler: readingHandler(ch), BodyIdleTimeout: idle, ReadHeaderTimeout: 5 * time.Second})
			cl := dialClient(t, ts.addr)
			for i, p := range tc.parts {
				if i > 0 {
					time.Sleep(idle / 3)
				}
				cl.write(p)
			}
			res := recvTimeout(t, ch, 5*time.Second, "the handler's body read")
			if !tc.stall {
				if res.err != nil || res.body != tc.body || res.bodyError != nil {
					t.Fatalf("body read: %q, %v (BodyError %v); want %q, nil", res.body, res.err, res.bodyError, tc.body)
				}
				resp, body := cl.response("POST", 3*time.Second)
				if resp.StatusCode != 200 || body != "done" || resp.Close {
					t.Errorf("response %d %q close=%v, want 200 \"done\" keep-alive", resp.StatusCode, body, resp.Close)
				}
				cl.expectOpen(200 * time.Millisecond)
				return
			}
			if !errors.Is(res.err, ErrBodyIdle) {
				t.Errorf("body read error %v, want ErrBodyIdle", res.err)
			}
			var ne net.Error
			if !errors.As(res.err, &ne) || !ne.Timeout() {
				t.Errorf("body read error %v (%T) is not a net.Error with Timeout()", res.err, res.err)
			}
			if !errors.Is(res.bodyError, ErrBodyIdle) {
				t.Errorf("BodyError(r) = %v, want ErrBodyIdle", res.bodyError)
			}
			if res.elapsed < idle*8/10 || res.elapsed > idle+2*time.Second {
				t.Errorf("body read failed after %v, want about %v", res.elapsed, idle)
			}
			cl.lastResponse("POST", 200, "done")
		})
	}
	if ne, ok := ErrBodyIdle.(net.Error); !ok || !ne.Timeout() {
		t.Errorf("ErrBodyIdle %T is not a net.Error with Timeout() true", ErrBodyIdle)
	}
}

func TestBodyIdleTimeoutZeroMeansNone(t *testing.T) {
	ch := make(chan bodyReadResult, 1)
	ts := startServer(t, &Server{Handler: readingHandler(ch), ReadHeaderTimeout: 200 * time.Millisecond})
	cl := dialClient(t, ts.addr)
	cl.write("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhello")
	time.Sleep(600 * time.Millisecond) // longer than ReadHeaderTimeout: it must not apply to the body
	cl.write("world")
	res := recvTimeout(t, ch, 3*time.Second, "the handler's body read")
	if res.err != nil || res.body != "helloworld" {
		t.Fatalf("body read %q, %v; want \"helloworld\", nil", res.body, res.err)
	}
	resp, body := cl.response("POST", 3*time.Second)
	if resp.StatusCode != 200 || body != "done" {
		t.Errorf("response %d %q", resp.StatusCode, body)
	}
}

// TestUnreadBodyStalledClient: a handler that answers without reading a
// body the client has not finished sending; the server must neither hang
// discarding it nor reuse the connection.
func TestUnreadBodyStalledClient(t *testing.T) {
	handler := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", textPlain)
		io.WriteString(w, "not reading")
	}
	for _, tc := range []struct {
		name string
		raw  string
	}{
		{"content-length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nhalf"},
		{"chunked", chunkedHead + "a\r\nhal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, &Server{Handler: http.HandlerFunc(handler), ReadHeaderTimeout: 5 * time.Second})
			cl := dialClient(t, ts.addr)
			cl.write(tc.raw)
			start := time.Now()
			cl.lastResponse("POST", 200, "not reading")
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("answer and close took %v", d)
			}
		})
	}
}

func TestMalformedChunkedBody(t *testing.T) {
	for _, tc := range []struct {
		name      string
		body      string // after the chunked request head
		halfClose bool
		want      error
	}{
		{name: "bad-hex", body: "zz\r\nhello\r\n0\r\n\r\n", want: ErrMalformedBody},
		{name: "empty-size", body: "\r\nhello\r\n0\r\n\r\n", want: ErrMalformedBody},
		{name: "0x-prefix", body: "0x5\r\nhello\r\n0\r\n\r\n", want: ErrMalformedBody},
		{name: "negative", body: "-5\r\nhello\r\n0\r\n\r\n", want: ErrMalformedBody},
		{name: "size-overflow", body: "fffffffffffffffff1\r\nhello\r\n0\r\n\r\n", want: ErrMalformedBody},
		{name: "missing-crlf-after-data", body: "5\r\nhelloXY0\r\n\r\n", want: ErrMalformedBody},
		{name: "second-chunk-bad", body: "5\r\nhello\r\ng\r\nx\r\n0\r\n\r\n", want: ErrMalformedBody},
		{name: "truncated-by-eof", body: "5\r\nhel", halfClose: true, want: io.ErrUnexpectedEOF},
	} {
		// split: the body arrives after the handler started, so only the
		// body's reads can find it malformed. One write: the server may
		// also see the malformed framing with the head and refuse the
		// request with Problem (and no body) instead.
		for _, split := range []bool{true, false} {
			name := tc.name + "/one-write"
			if split {
				name = tc.name + "/split"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ch := make(chan bodyReadResult, 1)
				ts := startServer(t, &Server{Handler: readingHandler(ch), ReadHeaderTimeout: 5 * time.Second, BodyIdleTimeout: 5 * time.Second})
				cl := dialClient(t, ts.addr)
				if split {
					cl.write(chunkedHead)
					time.Sleep(100 * time.Millisecond)
					cl.write(tc.body)
				} else {
					cl.write(chunkedHead + tc.body)
				}
				if tc.halfClose {
					cl.c.(*net.TCPConn).CloseWrite()
				}
				res := recvTimeout(t, ch, 3*time.Second, "the handler's body read")
				if res.problem != "" {
					t.Logf("refused with Problem %q", res.problem)
					if split || tc.want != ErrMalformedBody {
						t.Errorf("Problem %q for a request whose head is fine", res.problem)
					}
					if !res.noBody {
						t.Errorf("Problem request with a body")
					}
				} else {
					if !errors.Is(res.err, tc.want) {
						t.Errorf("body read error %v, want %v", res.err, tc.want)
					}
					if !errors.Is(res.bodyError, tc.want) {
						t.Errorf("BodyError(r) = %v, want %v", res.bodyError, tc.want)
					}
					if errors.Is(res.err, ErrBodyIdle) {
						t.Errorf("body error reported as idle: %v", res.err)
					}
				}
				cl.lastResponse("POST", 200, "done")
			})
		}
	}
}

// TestBodyErrorNilForGoodBodies: BodyError is nil for bodies read
// fine, and for requests net/http served.
func TestBodyErrorNilForGoodBodies(t *testing.T) {
	ch := make(chan bodyReadResult, 1)
	ts := startServer(t, &Server{Handler: readingHandler(ch), BodyIdleTimeout: time.Second})
	cl := dialClient(t, ts.addr)
	for _, raw := range []string{
		chunkedHead + "5\r\nhello\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
		req("GET / HTTP/1.1", "Host: h"),
	} {
		cl.write(raw)
		res := recvTimeout(t, ch, 3*time.Second, "the handler's body read")
		if res.err != nil || res.bodyError != nil {
			t.Errorf("%q: read error %v, BodyError %v; want nil", raw, res.err, res.bodyError)
		}
		cl.response("POST", 3*time.Second)
	}
	r := httptestRequest()
	if err := BodyError(r); err != nil {
		t.Errorf("BodyError of a foreign request: %v", err)
	}
	if p := Problem(r); p != "" {
		t.Errorf("Problem of a foreign request: %q", p)
	}
}

func httptestRequest() *http.Request {
	r, _ := http.NewRequest("POST", "http://h/", strings.NewReader("x"))
	return r
}

func okHandler(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", textPlain)
	io.WriteString(w, "ok")
}

func TestReadHeaderTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	ts := startServer(t, &Server{Handler: http.HandlerFunc(okHandler), ReadHeaderTimeout: timeout, IdleTimeout: 5 * time.Second})

	for _, tc := range []struct {
		name    string
		parts   []string
		gap     time.Duration
		closeBy time.Duration // the connection must be closed by then; 0: served
	}{
		{name: "nothing-sent", closeBy: timeout + 1500*time.Millisecond},
		{name: "partial-head-stall", parts: []string{"GET / HTTP/1.1\r\nHost: h\r\n"}, closeBy: timeout + 1500*time.Millisecond},
		{name: "request-line-only", parts: []string{"GET / HTTP/1.1\r\n"}, closeBy: timeout + 1500*time.Millisecond},
		{
			// every gap is short, the head as a whole is late: the
			// timeout runs from the head's first byte (slowloris)
			name:    "trickle",
			parts:   strings.Split("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n", ""),
			gap:     40 * time.Millisecond,
			closeBy: timeout + 1500*time.Millisecond,
		},
		{name: "in-time", parts: []string{"GET / HTTP/1.1\r\n", "Host: h\r\n\r\n"}, gap: timeout / 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cl := dialClient(t, ts.addr)
			start := time.Now()
			wrote := make(chan struct{})
			go func() {
				defer close(wrote)
				for i, p := range tc.parts {
					if i > 0 {
						time.Sleep(tc.gap)
					}
					cl.c.SetWriteDeadline(time.Now().Add(time.Second))
					if _, err := io.WriteString(cl.c, p); err != nil {
						return
					}
				}
			}()
			defer func() { cl.c.Close(); <-wrote }()
			if tc.closeBy == 0 {
				resp, body := cl.response("GET", 3*time.Second)
				if resp.StatusCode != 200 || body != "ok" {
					t.Errorf("response %d %q, want 200 ok", resp.StatusCode, body)
				}
				return
			}
			rest, end, _ := cl.readEnd(tc.closeBy)
			elapsed := time.Since(start)
			if end != "eof" && end != "reset" {
				t.Fatalf("connection %s after %v, want closed", end, elapsed)
			}
			if elapsed < timeout*8/10 {
				t.Errorf("closed after %v, before ReadHeaderTimeout %v", elapsed, timeout)
			}
			if len(rest) > 0 {
				// an answer is allowed (408, 400), not a served request
				resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(rest)), nil)
				if err != nil || resp.StatusCode < 400 {
					t.Errorf("timeout answered with %q", rest)
				}
			}
		})
	}
}

// TestDeadlinesEndWithTheHead: the header and idle deadlines bound the
// wait for a head, and nothing after it: a handler that outlives them
// still reads a body that comes late and keeps its context while the
// disconnect watch runs, and a keep-alive request whose head trickles in
// is bounded by the header timeout, not the idle timeout.
func TestDeadlinesEndWithTheHead(t *testing.T) {
	const timeout = 200 * time.Millisecond
	handler := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			okHandler(w, r)
			return
		}
		time.Sleep(2 * timeout) // past both deadlines; the watch runs meanwhile
		body, err := io.ReadAll(r.Body)
		if err != nil || r.Context().Err() != nil {
			http.Error(w, fmt.Sprintf("body %v, context %v", err, r.Context().Err()), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "slow:"+string(body))
	}
	ts := startServer(t, &Server{Handler: http.HandlerFunc(handler), ReadHeaderTimeout: timeout, IdleTimeout: timeout})
	for _, tc := range []struct {
		name  string
		first bool   // the slow request is the connection's first (header deadline set), or follows one (idle deadline)
		slow  string // a POST reads its body after the deadlines; a GET is watched meanwhile
		want  string
	}{
		{"first request, body read late", true, "POST /slow HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n", "slow:hello"},
		{"keep-alive request, body read late", false, "POST /slow HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n", "slow:hello"},
		{"first request, watched", true, req("GET /slow HTTP/1.1", "Host: h"), "slow:"},
		{"keep-alive request, watched", false, req("GET /slow HTTP/1.1", "Host: h"), "slow:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cl := dialClient(t, ts.addr)
			if !tc.first {
				cl.write(req("GET / HTTP/1.1", "Host: h"))
				if resp, body := cl.response("GET", 3*time.Second); resp.StatusCode != 200 || body != "ok" {
					t.Fatalf("first request: %d %q", resp.StatusCode, body)
				}
			}
			cl.write(tc.slow)
			if strings.HasPrefix(tc.slow, "POST") {
				// The body comes after the deadlines: its read waits.
				time.Sleep(timeout * 3 / 2)
				cl.write("hello")
			}
			resp, body := cl.response(tc.slow[:strings.IndexByte(tc.slow, ' ')], 5*time.Second)
			if resp.StatusCode != 200 || body != tc.want {
				t.Fatalf("a handler past the deadlines got %d %q", resp.StatusCode, body)
			}
		})
	}
	t.Run("keep-alive head trickles", func(t *testing.T) {
		t.Parallel()
		// A long idle timeout: only the header timeout can end this.
		ts := startServer(t, &Server{Handler: http.HandlerFunc(handler), ReadHeaderTimeout: timeout, IdleTimeout: 10 * time.Second})
		cl := dialClient(t, ts.addr)
		cl.write(req("GET / HTTP/1.1", "Host: h"))
		if resp, body := cl.response("GET", 3*time.Second); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("first request: %d %q", resp.StatusCode, body)
		}
		start := time.Now()
		go func() {
			for _, b := range "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-B: 2\r\n\r\n" {
				cl.c.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := io.WriteString(cl.c, string(b)); err != nil {
					return
				}
				time.Sleep(timeout / 8)
			}
		}()
		_, end, _ := cl.readEnd(timeout + 3*time.Second)
		if end != "eof" && end != "reset" {
			t.Fatalf("connection %s, want closed by the header timeout", end)
		}
		if elapsed := time.Since(start); elapsed > 4*timeout {
			t.Errorf("closed after %v, want about %v", elapsed, timeout)
		}
	})
}

func TestIdleTimeout(t *testing.T) {
	for _, tc := range []struct {
		name       string
		idle       time.Duration
		readHeader time.Duration
		want       time.Duration // the idle close expected
	}{
		{name: "idle-timeout", idle: 300 * time.Millisecond, readHeader: 5 * time.Second, want: 300 * time.Millisecond},
		{name: "zero-means-read-header-timeout", idle: 0, readHeader: 300 * time.Millisecond, want: 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, &Server{Handler: http.HandlerFunc(okHandler), IdleTimeout: tc.idle, ReadHeaderTimeout: tc.readHeader})
			cl := dialClient(t, ts.addr)
			// a request within the idle timeout keeps the connection
			for i := 0; i < 3; i++ {
				if i > 0 {
					time.Sleep(tc.want / 2)
				}
				cl.write(req("GET / HTTP/1.1", "Host: h"))
				resp, body := cl.response("GET", 3*time.Second)
				if resp.StatusCode != 200 || body != "ok" || resp.Close {
					t.Fatalf("request %d: %d %q close=%v", i, resp.StatusCode, body, resp.Close)
				}
			}
			elapsed := cl.expectClosed(tc.want + 2*time.Second)
			if elapsed < tc.want*8/10 {
				t.Errorf("idle connection closed after %v, want about %v", elapsed, tc.want)
			}
		})
	}
}

func TestClientDisconnectCancelsContext(t *testing.T) {
	type report struct {
		path     string
		canceled bool
		err      error
	}
	started := make(chan string, 1)
	reports := make(chan report, 1)
	afterReturn := make(chan context.Context, 1)
	handler := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/quick" {
			afterReturn <- r.Context()
			io.WriteString(w, "quick")
			return
		}
		io.Copy(io.Discard, r.Body)
		started <- r.URL.Path
		select {
		case <-r.Context().Done():
			reports <- report{r.URL.Path, true, r.Context().Err()}
		case <-time.After(2 * time.Second):
			reports <- report{r.URL.Path, false, nil}
		}
	}
	ts := startServer(t, &Server{Handler: http.HandlerFunc(handler), ReadHeaderTimeout: 5 * time.Second})

	for _, tc := range []struct{ name, raw string }{
		{"no-body", req("GET /slow HTTP/1.1", "Host: h")},
		{"content-length-body-read", "POST /slow-cl HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"},
		{"chunked-body-read", "POST /slow-chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := dialClient(t, ts.addr)
			cl.write(tc.raw)
			path := recvTimeout(t, started, 3*time.Second, "the handler to start")
			time.Sleep(50 * time.Millisecond) // well into the handler
			start := time.Now()
			cl.c.Close()
			rep := recvTimeout(t, reports, 4*time.Second, "the handler's report")
			if rep.path != path || !rep.canceled {
				t.Fatalf("context of %s not canceled within 2 s of the client closing", rep.path)
			}
			if !errors.Is(rep.err, context.Canceled) {
				t.Errorf("ctx.Err() = %v, want context.Canceled", rep.err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("cancellation took %v", d)
			}
		})
	}

	// The connection's watch timer, set by the quick request, fires
	// while the slow one is young: it must wait for the rest of the slow
	// one's delay, then watch.
	t.Run("after-a-quick-request", func(t *testing.T) {
		cl := dialClient(t, ts.addr)
		cl.write(req("GET /quick HTTP/1.1", "Host: h"))
		if resp, _ := cl.response("GET", 3*time.Second); resp.StatusCode != 200 {
			t.Fatalf("quick request: %d", resp.StatusCode)
		}
		recvTimeout(t, afterReturn, time.Second, "the request context")
		time.Sleep(watchDelay * 3 / 4) // the timer fires 1/4 into the next request's delay
		cl.write(req("GET /slow HTTP/1.1", "Host: h"))
		recvTimeout(t, started, 3*time.Second, "the handler to start")
		time.Sleep(2 * watchDelay)
		start := time.Now()
		cl.c.Close()
		rep := recvTimeout(t, reports, 4*time.Second, "the handler's report")
		if !rep.canceled {
			t.Fatalf("context of %s not canceled within 2 s of the client closing", rep.path)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("cancellation took %v", d)
		}
	})

	t.Run("canceled-after-handler-returns", func(t *testing.T) {
		cl := dialClient(t, ts.addr)
		cl.write(req("GET /quick HTTP/1.1", "Host: h"))
		resp, body := cl.response("GET", 3*time.Second)
		if resp.StatusCode != 200 || body != "quick" {
			t.Fatalf("response %d %q", resp.StatusCode, body)
		}
		ctx := recvTimeout(t, afterReturn, time.Second, "the request context")
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
			t.Errorf("request context not canceled after the handler returned")
		}
		// the connection is still fine for another request
		cl.write(req("GET /quick HTTP/1.1", "Host: h"))
		if resp, _ := cl.response("GET", 3*time.Second); resp.StatusCode != 200 {
			t.Errorf("second request: %d", resp.StatusCode)
		}
		recvTimeout(t, afterReturn, time.Second, "the request context")
	})
}

func TestHijack(t *testing.T) {
	type report struct {
		buffered  string
		later     string
		writeErr  error
		hijackErr error
	}
	reports := make(chan report, 1)
	handler := func(w http.ResponseWriter, r *http.Request) {
		var rep report
		defer func() { reports <- rep }()
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			rep.hijackErr = err
			return
		}
		defer conn.Close()
		_, rep.writeErr = w.Write([]byte("after hijack"))
		conn.SetDeadline(time.Now().Add(3 * time.Second))
		// the bytes the client sent with the head are in brw
		buf := make([]byte, len("EARLY"))
		if _, err := io.ReadFull(brw, buf); err != nil {
			return
		}
		rep.buffered = string(buf)
		brw.WriteString("RAW-HELLO\n")
		brw.Flush()
		line, err := brw.ReadString('\n')
		if err != nil {
			return
		}
		rep.later = line
		io.WriteString(conn, "RAW-BYE\n")
	}
	var mu sync.Mutex
	var states []http.ConnState
	ts := startServer(t, &Server{
		Handler: http.HandlerFunc(handler),
		ConnState: func(c net.Conn, st http.ConnState) {
			mu.Lock()
			states = append(states, st)
			mu.Unlock()
		},
	})
	cl := dialClient(t, ts.addr)
	cl.write(req("GET /hijack HTTP/1.1", "Host: h") + "EARLY")
	cl.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, err := cl.br.ReadString('\n')
	if err != nil || line != "RAW-HELLO\n" {
		t.Fatalf("first raw line %q, %v; want RAW-HELLO (and no HTTP response before it)", line, err)
	}
	cl.write("PING\n")
	line, err = cl.br.ReadString('\n')
	if err != nil || line != "RAW-BYE\n" {
		t.Fatalf("second raw line %q, %v", line, err)
	}
	rep := recvTimeout(t, reports, 3*time.Second, "the handler's report")
	if rep.hijackErr != nil {
		t.Fatalf("Hijack: %v", rep.hijackErr)
	}
	if rep.buffered != "EARLY" || rep.later != "PING\n" {
		t.Errorf("handler read %q then %q, want EARLY then PING", rep.buffered, rep.later)
	}
	if !errors.Is(rep.writeErr, http.ErrHijacked) {
		t.Errorf("Write after Hijack: %v, want http.ErrHijacked", rep.writeErr)
	}
	cl.expectClosed(2 * time.Second) // the handler closed it
	mu.Lock()
	defer mu.Unlock()
	if want := []http.ConnState{http.StateNew, http.StateActive, http.StateHijacked}; !reflect.DeepEqual(states, want) {
		t.Errorf("states %v, want %v", states, want)
	}
}

func TestShutdown(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	handler := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			started <- struct{}{}
			select {
			case <-release:
			case <-time.After(5 * time.Second):
			}
			w.Header().Set("Content-Type", textPlain)
			io.WriteString(w, "slow done")
			return
		}
		io.WriteString(w, "ok")
	}
	s := &Server{Handler: http.HandlerFunc(handler)}
	ts := startServer(t, s)

	idle := dialClient(t, ts.addr)
	idle.write(req("GET / HTTP/1.1", "Host: h"))
	if resp, body := idle.response("GET", 3*time.Second); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("idle connection's request: %d %q", resp.StatusCode, body)
	}
	busy := dialClient(t, ts.addr)
	busy.write(req("GET /slow HTTP/1.1", "Host: h"))
	recvTimeout(t, started, 3*time.Second, "the slow handler")

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()

	// the idle connection closes at once
	if d := idle.expectClosed(time.Second); d > 700*time.Millisecond {
		t.Errorf("idle connection closed %v after Shutdown", d)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	// no new request is served
	if c, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		late := &client{t: t, c: c, br: bufio.NewReader(c)}
		c.SetWriteDeadline(time.Now().Add(time.Second))
		io.WriteString(c, req("GET / HTTP/1.1", "Host: h"))
		late.expectClosed(2 * time.Second)
		c.Close()
	}

	close(release)
	busy.lastResponse("GET", 200, "slow done") // during Shutdown
	if err := recvTimeout(t, shut, 3*time.Second, "Shutdown to return"); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	ts.l.Close()
	if err := recvTimeout(t, ts.served, 3*time.Second, "Serve to return"); !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve returned %v, want ErrServerClosed", err)
	}
	ts.served <- nil // for the cleanup
}

func TestShutdownContextEnds(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 2)
	handler := func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		io.WriteString(w, "late")
	}
	for _, tc := range []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		want    error
		atLeast time.Duration
	}{
		{name: "deadline", ctx: func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 200*time.Millisecond)
		}, want: context.DeadlineExceeded, atLeast: 150 * time.Millisecond},
		{name: "already-canceled", ctx: func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, want: context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{Handler: http.HandlerFunc(handler)}
			ts := startServer(t, s)
			busy := dialClient(t, ts.addr)
			busy.write(req("GET /slow HTTP/1.1", "Host: h"))
			recvTimeout(t, started, 3*time.Second, "the handler")
			ctx, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			err := s.Shutdown(ctx)
			if d := time.Since(start); d < tc.atLeast || d > 2*time.Second {
				t.Errorf("Shutdown returned after %v", d)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("Shutdown: %v, want %v", err, tc.want)
			}
			release <- struct{}{}
			resp, body := busy.response("GET", 3*time.Second)
			if resp.StatusCode != 200 || body != "late" || !resp.Close {
				t.Errorf("in-flight response %d %q close=%v, want 200 \"late\" with Connection: close", resp.StatusCode, body, resp.Close)
			}
			busy.expectClosed(2 * time.Second)
		})
	}
}

// connStates records the states of each connection, by the client's
// address.
type connStates struct {
	mu     sync.Mutex
	states map[string][]http.ConnState
	ended  chan string
}

func newConnStates() *connStates {
	return &connStates{states: map[string][]http.ConnState{}, ended: make(chan string, 16)}
}

func (cs *connStates) hook(c net.Conn, st http.ConnState) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	k := c.RemoteAddr().String()
	cs.states[k] = append(cs.states[k], st)
	if st == http.StateClosed || st == http.StateHijacked {
		cs.ended <- k
	}
}

func (cs *connStates) get(k string) []http.ConnState {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return append([]http.ConnState(nil), cs.states[k]...)
}

func TestConnState(t *testing.T) {
	cs := newConnStates()
	handler := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hijack" {
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				c.Close()
			}
			return
		}
		io.WriteString(w, "ok")
	}
	ts := startServer(t, &Server{Handler: http.HandlerFunc(handler), ConnState: cs.hook, ReadHeaderTimeout: 5 * time.Second})
	New, Active, Idle, Closed, Hijacked := http.StateNew, http.StateActive, http.StateIdle, http.StateClosed, http.StateHijacked

	for _, tc := range []struct {
		name     string
		requests []string // each written after the previous response
		bad      bool     // the last request gets an error response
		want     []http.ConnState
	}{
		{name: "keep-alive-then-client-close", requests: []string{req("GET / HTTP/1.1", "Host: h"), req("GET / HTTP/1.1", "Host: h")},
			want: []http.ConnState{New, Active, Idle, Active, Idle, Closed}},
		{name: "no-request", want: []http.ConnState{New, Closed}},
		{name: "connection-close", requests: []string{req("GET / HTTP/1.1", "Host: h", "Connection: close")},
			want: []http.ConnState{New, Active, Closed}},
		{name: "bad-request", requests: []string{"GARBAGE\r\n\r\n"}, bad: true,
			want: []http.ConnState{New, Active, Closed}},
		{name: "hijack", requests: []string{req("GET /hijack HTTP/1.1", "Host: h")},
			want: []http.ConnState{New, Active, Hijacked}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := dialClient(t, ts.addr)
			k := cl.c.LocalAddr().String()
			for i, r := range tc.requests {
				cl.write(r)
				if tc.name == "hijack" {
					break
				}
				resp, _ := cl.response("GET", 3*time.Second)
				if bad := resp.StatusCode >= 400; bad != (tc.bad && i == len(tc.requests)-1) {
					t.Fatalf("request %d: status %d", i, resp.StatusCode)
				}
			}
			cl.readEnd(50 * time.Millisecond)
			cl.c.Close()
			deadline := time.After(3 * time.Second)
			for {
				var k2 string
				select {
				case k2 = <-cs.ended:
				case <-deadline:
					t.Fatalf("connection never reached Closed or Hijacked: %v", cs.get(k))
				}
				if k2 == k {
					break
				}
				cs.ended <- k2 // another test's: should not happen, subtests are serial
				time.Sleep(10 * time.Millisecond)
			}
			if got := cs.get(k); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("states %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHandlerPanic(t *testing.T) {
	handler := func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/before":
			panic("boom-before-write")
		case "/after":
			w.Header().Set("Content-Type", textPlain)
			w.Write(bigBody)
			w.(http.Flusher).Flush()
			panic(fmt.Errorf("boom-after-flush"))
		case "/abort":
			w.Header().Set("Content-Type", textPlain)
			w.Write(bigBody)
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		io.WriteString(w, "ok")
	}
	for _, tc := range []struct {
		name      string
		path      string
		logged    string // in ErrorLog; "" : nothing about it
		truncated bool   // a response head arrives and its body is cut short
	}{
		{name: "panic-before-write", path: "/before", logged: "boom-before-write"},
		{name: "panic-after-flush", path: "/after", logged: "boom-after-flush", truncated: true},
		{name: "abort-handler", path: "/abort", truncated: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logBuf := &logbuf.Buffer{}
			ts := startServer(t, &Server{Handler: http.HandlerFunc(handler), ErrorLog: log.New(logBuf, "", 0)})
			cl := dialClient(t, ts.addr)
			cl.write(req("GET "+tc.path+" HTTP/1.1", "Host: h") + req("GET /next HTTP/1.1", "Host: h"))
			rest, end, _ := cl.readEnd(3 * time.Second)
			if end != "eof" && end != "reset" {
				t.Errorf("connection %s after a panic, want closed", end)
			}
			resps, perr := parseResponses(rest, nil)
			if tc.truncated {
				if len(resps) != 1 || resps[0].Code != 200 || resps[0].BodyErr == "" {
					t.Errorf("want one 200 response with a truncated body; got %d responses (%s), raw %q", len(resps), perr, truncate(rest, 300))
				} else if !strings.HasPrefix(string(bigBody), resps[0].Body) {
					t.Errorf("truncated body is not a prefix of what was written")
				}
			} else {
				for _, r := range resps {
					if r.Code < 500 {
						t.Errorf("response %d after a panic before any write; raw %q", r.Code, truncate(rest, 300))
					}
				}
			}
			got := logBuf.String()
			if tc.logged != "" && !strings.Contains(got, tc.logged) {
				t.Errorf("ErrorLog %q lacks the panic %q", got, tc.logged)
			}
			if tc.logged == "" && strings.Contains(got, http.ErrAbortHandler.Error()) {
				t.Errorf("http.ErrAbortHandler was logged: %q", got)
			}
			// the server goes on serving
			cl2 := dialClient(t, ts.addr)
			cl2.write(req("GET / HTTP/1.1", "Host: h"))
			if resp, body := cl2.response("GET", 3*time.Second); resp.StatusCode != 200 || body != "ok" {
				t.Errorf("after the panic: %d %q", resp.StatusCode, body)
			}
		})
	}
}

type ctxKey struct{}

func TestContextValues(t *testing.T) {
	type report struct {
		local    any
		connVal  any
		remote   string
		hasFlush bool
		hasFE    bool
		hasHJ    bool
		rcFlush  error
	}
	reports := make(chan report, 1)
	var connCtxRemote atomic.Value
	handler := func(w http.ResponseWriter, r *http.Request) {
		_, hasFlush := w.(http.Flusher)
		_, hasFE := w.(interface{ FlushError() error })
		_, hasHJ := w.(http.Hijacker)
		io.WriteString(w, "x")
		reports <- report{
			local:    r.Context().Value(http.LocalAddrContextKey),
			connVal:  r.Context().Value(ctxKey{}),
			remote:   r.RemoteAddr,
			hasFlush: hasFlush, hasFE: hasFE, hasHJ: hasHJ,
			rcFlush: http.NewResponseController(w).Flush(),
		}
	}
	ts := startServer(t, &Server{
		Handler: http.HandlerFunc(handler),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			connCtxRemote.Store(c.RemoteAddr().String())
			if ctx.Value(http.LocalAddrContextKey) == nil {
				return context.WithValue(ctx, ctxKey{}, "no local addr in ConnContext's ctx")
			}
			return context.WithValue(ctx, ctxKey{}, "from ConnContext")
		},
	})
	cl := dialClient(t, ts.addr)
	cl.write(req("GET / HTTP/1.1", "Host: h"))
	resp, body := cl.response("GET", 3*time.Second)
	if resp.StatusCode != 200 || body != "x" {
		t.Errorf("response %d %q", resp.StatusCode, body)
	}
	rep := recvTimeout(t, reports, 3*time.Second, "the handler")
	la, ok := rep.local.(net.Addr)
	if !ok || la.String() != ts.addr {
		t.Errorf("LocalAddrContextKey = %v (%T), want %s", rep.local, rep.local, ts.addr)
	}
	if rep.connVal != "from ConnContext" {
		t.Errorf("ConnContext value %v", rep.connVal)
	}
	if client := cl.c.LocalAddr().String(); rep.remote != client || connCtxRemote.Load() != client {
		t.Errorf("RemoteAddr %q, ConnContext's conn %v; want %s", rep.remote, connCtxRemote.Load(), client)
	}
	if !rep.hasFlush || !rep.hasFE || !rep.hasHJ {
		t.Errorf("ResponseWriter: Flusher %v, FlushError %v, Hijacker %v; want all", rep.hasFlush, rep.hasFE, rep.hasHJ)
	}
	if rep.rcFlush != nil {
		t.Errorf("ResponseController.Flush: %v", rep.rcFlush)
	}
}

func TestMaxHeaderBytesDefault(t *testing.T) {
	ts := startServer(t, &Server{Handler: http.HandlerFunc(okHandler)})
	for _, tc := range []struct {
		name string
		size int
		want int
	}{
		{"within-default", http.DefaultMaxHeaderBytes, 200},
		{"over-default-plus-slack", http.DefaultMaxHeaderBytes + 4096 + 1024, http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := dialClient(t, ts.addr)
			wrote := make(chan struct{})
			go func() {
				defer close(wrote)
				cl.c.SetWriteDeadline(time.Now().Add(3 * time.Second))
				io.WriteString(cl.c, headOfSize(tc.size))
			}()
			resp, _ := cl.response("GET", 3*time.Second)
			<-wrote
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want != 200 {
				rest, end, _ := cl.readEnd(2 * time.Second)
				if (end != "eof" && end != "reset") || len(rest) > 0 {
					t.Errorf("after 431: %s, %q; want closed", end, rest)
				}
			}
		})
	}
}

func TestConcurrentKeepAlive(t *testing.T) {
	const clients, requests = 32, 50
	var conns atomic.Int32
	handler := func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", textPlain)
		w.Header().Set("X-Seq", r.Header.Get("X-Seq"))
		w.Header().Set("X-Len", strconv.Itoa(len(b)))
		w.Write(bytes.ToUpper(b))
	}
	ts := startServer(t, &Server{
		Handler:           http.HandlerFunc(handler),
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(c net.Conn, st http.ConnState) {
			if st == http.StateNew {
				conns.Add(1)
			}
		},
	})
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- runKeepAliveClient(ts.addr, i, requests)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := conns.Load(); n != clients {
		t.Errorf("%d connections, want %d (keep-alive broken)", n, clients)
	}
}

func runKeepAliveClient(addr string, id, requests int) error {
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for j := 0; j < requests; j++ {
		seq := fmt.Sprintf("%d-%d", id, j)
		body := strings.Repeat(fmt.Sprintf("client %s body;", seq), 1+(id*7+j)%40)
		var raw string
		switch j % 3 {
		case 0:
			raw = fmt.Sprintf("POST /echo HTTP/1.1\r\nHost: h\r\nX-Seq: %s\r\nContent-Length: %d\r\n\r\n%s", seq, len(body), body)
		case 1:
			half := len(body) / 2
			raw = fmt.Sprintf("POST /echo HTTP/1.1\r\nHost: h\r\nX-Seq: %s\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n",
				seq, half, body[:half], len(body)-half, body[half:])
		default:
			body = ""
			raw = fmt.Sprintf("GET /echo HTTP/1.1\r\nHost: h\r\nX-Seq: %s\r\n\r\n", seq)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, raw); err != nil {
			return fmt.Errorf("%s: write: %v", seq, err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return fmt.Errorf("%s: read: %v", seq, err)
		}
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			return fmt.Errorf("%s: read body: %v", seq, err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("X-Seq") != seq || string(got) != strings.ToUpper(body) ||
			resp.Header.Get("X-Len") != strconv.Itoa(len(body)) || resp.Close {
			return fmt.Errorf("%s: got %d seq %q len %q close %v body %q", seq, resp.StatusCode, resp.Header.Get("X-Seq"), resp.Header.Get("X-Len"), resp.Close, truncate(got, 80))
		}
	}
	return nil
}

// FuzzRequest feeds arbitrary bytes to ServeConn: no panic, ServeConn
// returns in bounded time once the client has sent everything, and what
// it wrote is a sequence of well-formed responses.
func FuzzRequest(f *testing.F) {
	for _, c := range diffCases {
		if len(c.raw) < 64<<10 {
			f.Add([]byte(c.raw))
		}
	}
	for _, c := range problemCases {
		f.Add([]byte(c.raw))
	}
	// found by fuzzing
	for _, s := range []string{
		"0 * HTTP/1.1\nHost:\nTrAnsfer-EnCoding:Chunked\n\n\n0",
	} {
		f.Add([]byte(s))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	defer l.Close()

	f.Fuzz(func(t *testing.T, in []byte) { serveOnce(t, l, in) })
}

// serveOnce is FuzzRequest's check of one input: ServeConn on a loopback
// connection from l, the client writing in then half-closing.
func serveOnce(t *testing.T, l net.Listener, in []byte) {
	var mu sync.Mutex
	var methods []string
	s := &Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			methods = append(methods, r.Method)
			mu.Unlock()
			serveDiff(w, r, true)
		}),
		ReadHeaderTimeout: 2 * time.Second,
		IdleTimeout:       2 * time.Second,
		BodyIdleTimeout:   time.Second,
		MaxHeaderBytes:    diffMaxHeaderBytes,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	cc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	sc, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan any, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				served <- fmt.Sprintf("%v\n%s", p, debug.Stack())
				return
			}
			served <- nil
		}()
		s.ServeConn(sc)
	}()
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		cc.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := cc.Write(in); err == nil {
			cc.(*net.TCPConn).CloseWrite()
		}
	}()
	cc.SetReadDeadline(time.Now().Add(5 * time.Second))
	out, err := io.ReadAll(cc)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("reading the server's output: %v (server not done within 5 s?)\ninput %q", err, in)
	}
	cc.Close()
	<-wrote
	select {
	case p := <-served:
		if p != nil {
			t.Fatalf("ServeConn panicked: %v\ninput %q", p, in)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("ServeConn did not return\ninput %q", in)
	}
	mu.Lock()
	defer mu.Unlock()
	resps, perr := parseResponses(out, methods)
	if perr != "" {
		t.Fatalf("output does not parse: %s\ninput %q\noutput %q", perr, in, out)
	}
	for i, r := range resps {
		if r.BodyErr != "" {
			t.Fatalf("response %d body: %s\ninput %q\noutput %q", i, r.BodyErr, in, out)
		}
	}
	if finals := countFinal(resps); finals < len(methods) {
		t.Fatalf("%d requests reached the handler, %d final responses\ninput %q\noutput %q", len(methods), finals, in, out)
	}
}

// TestServeConnRegressions runs serveOnce on inputs that once broke the
// server (FuzzRequest runs them too, among its seeds).
func TestServeConnRegressions(t *testing.T) {
	l := listenLocal(t)
	defer l.Close()
	for _, tc := range []struct{ name, in string }{
		// an empty line ending in a bare LF where a chunk-size line is
		// expected, already buffered with the head
		{"chunked-body-bare-lf-line", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\n0\r\n\r\n"},
		{"fuzz-chunked-bare-lf", "0 * HTTP/1.1\nHost:\nTrAnsfer-EnCoding:Chunked\n\n\n0"},
	} {
		t.Run(tc.name, func(t *testing.T) { serveOnce(t, l, []byte(tc.in)) })
	}
}

func countFinal(resps []parsedResp) int {
	n := 0
	for _, r := range resps {
		if r.Code/100 != 1 || r.Code == http.StatusSwitchingProtocols {
			n++
		}
	}
	return n
}
