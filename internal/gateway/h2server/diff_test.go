package h2server

// Differential test: the same handler behind net/http's HTTP/2 server
// (prior-knowledge h2c) and behind h2server, the same requests from the
// same client (x/net/http2's Transport, or a raw Framer client for what
// the Transport hides or refuses to send), and the two outcomes compared:
// status, 1xx responses, response headers but Date, body, trailers, the
// stream's error (RST_STREAM code), what the handler noted (Write errors,
// context cancellation) and how often it ran.
//
// Content-Type: net/http sniffs one for a body whose handler set none;
// h2server does not, and must then send none. TestDiffKnownDifferences
// asserts that and the other deliberate differences on h2server alone.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/testutil/logbuf"
	"golang.org/x/net/http2"
)

const textPlainUTF8 = "text/plain; charset=utf-8"

// diffResult is what the client saw of one exchange, normalized for
// comparison.
type diffResult struct {
	Status  int
	Info    []string // 1xx responses: "103 {fields}"
	Header  http.Header
	Body    []byte
	Trailer http.Header
	Err     string   // "" or the stream's (or connection's) error
	Notes   []string // the handler's and the client's observations
	Next    *diffResult
}

func (r *diffResult) String() string {
	var b strings.Builder
	for i := 0; r != nil; i++ {
		if i > 0 {
			b.WriteString("  then:\n")
		}
		fmt.Fprintf(&b, "    status=%d info=%q err=%q\n", r.Status, r.Info, r.Err)
		fmt.Fprintf(&b, "    header: %s", strings.ReplaceAll(diffFormatHeader(r.Header), "\n", "; "))
		fmt.Fprintf(&b, "\n    body=%s\n", diffFormatBody(r.Body))
		fmt.Fprintf(&b, "    trailer: %s\n", strings.ReplaceAll(diffFormatHeader(r.Trailer), "\n", "; "))
		fmt.Fprintf(&b, "    notes=%q\n", r.Notes)
		r = r.Next
	}
	return b.String()
}

// diffRun is one server of one case: its address, the handler's notes and
// signals between the handler and the client.
type diffRun struct {
	t    testing.TB
	side string
	addr string
	logs *logbuf.Buffer

	calls, active atomic.Int32
	withCT, noCT  atomic.Int32 // handler runs that ended with / without Content-Type set
	panicked      atomic.Int32 // handler runs that panicked, with other than http.ErrAbortHandler

	mu      sync.Mutex
	notes   []string
	signals map[string]chan struct{}
	count   map[string]int
}

func newDiffRun(t testing.TB, side string) *diffRun {
	return &diffRun{t: t, side: side, signals: map[string]chan struct{}{}, count: map[string]int{}}
}

// note records an observation (compared across servers, sorted).
func (run *diffRun) note(format string, args ...any) {
	run.mu.Lock()
	defer run.mu.Unlock()
	run.notes = append(run.notes, fmt.Sprintf(format, args...))
}

func (run *diffRun) ch(name string) chan struct{} {
	run.mu.Lock()
	defer run.mu.Unlock()
	c := run.signals[name]
	if c == nil {
		c = make(chan struct{})
		run.signals[name] = c
	}
	return c
}

// signal closes the named signal (once).
func (run *diffRun) signal(name string) {
	c := run.ch(name)
	run.mu.Lock()
	defer run.mu.Unlock()
	select {
	case <-c:
	default:
		close(c)
	}
}

// await waits for the named signal up to timeout.
func (run *diffRun) await(name string, timeout time.Duration) bool {
	select {
	case <-run.ch(name):
		return true
	case <-time.After(timeout):
		return false
	}
}

// arrive counts an arrival at the named barrier and waits up to timeout
// for n arrivals.
func (run *diffRun) arrive(name string, n int, timeout time.Duration) bool {
	run.mu.Lock()
	run.count[name]++
	full := run.count[name] >= n
	run.mu.Unlock()
	if full {
		run.signal(name)
	}
	return run.await(name, timeout)
}

// waitIdle waits up to timeout for every handler to return.
func (run *diffRun) waitIdle(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for run.active.Load() != 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// diffHandler is a case's handler; run is the server's diffRun.
type diffHandler func(w http.ResponseWriter, r *http.Request, run *diffRun)

func (run *diffRun) wrap(h diffHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		run.calls.Add(1)
		run.active.Add(1)
		defer func() {
			if _, ok := w.Header()["Content-Type"]; ok {
				run.withCT.Add(1)
			} else {
				run.noCT.Add(1)
			}
			e := recover()
			if e != nil && e != http.ErrAbortHandler {
				run.panicked.Add(1)
			}
			run.active.Add(-1)
			if e != nil {
				panic(e) // on to the server
			}
		}()
		if r.URL.Path == "/next" {
			// the follow-up request of the raw clients: the connection
			// still serves requests
			w.Header().Set("Content-Type", textPlainUTF8)
			io.WriteString(w, "next "+r.Method)
			return
		}
		h(w, r, run)
	})
}

// diffCase is one row of the differential table.
type diffCase struct {
	name    string
	handler diffHandler
	client  func(t *testing.T, run *diffRun) diffResult
	opts    diffOpts
}

// ---- handlers ----

// diffDumpRequest renders what a handler sees of r before reading its body.
func diffDumpRequest(r *http.Request) string {
	var b strings.Builder
	u := r.URL
	fmt.Fprintf(&b, "method=%q host=%q\n", r.Method, r.Host)
	fmt.Fprintf(&b, "url=%q scheme=%q urlhost=%q path=%q rawpath=%q rawquery=%q opaque=%q\n",
		u.String(), u.Scheme, u.Host, u.Path, u.RawPath, u.RawQuery, u.Opaque)
	fmt.Fprintf(&b, "requesturi=%q proto=%q %d.%d contentlength=%d te=%q close=%v tls=%v\n",
		r.RequestURI, r.Proto, r.ProtoMajor, r.ProtoMinor, r.ContentLength, r.TransferEncoding, r.Close, r.TLS != nil)
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	_, hasLocal := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	fmt.Fprintf(&b, "remote=%v localaddr=%v body-nil=%v\n", err == nil && host == "127.0.0.1", hasLocal, r.Body == nil)
	fmt.Fprintf(&b, "header:\n%s", diffFormatHeader(r.Header))
	fmt.Fprintf(&b, "trailer-declared:\n%s", diffFormatHeader(r.Trailer))
	return b.String()
}

// diffEcho answers the dump of the request, then the length and hash of
// its body, whether reading it failed, and the request trailers.
func diffEcho(w http.ResponseWriter, r *http.Request, run *diffRun) {
	dump := diffDumpRequest(r)
	body, err := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", textPlainUTF8)
	fmt.Fprintf(w, "%sbody=%s readerr=%v\ntrailer:\n%s", dump, diffFormatBody(body), err != nil, diffFormatHeader(r.Trailer))
}

// diffWriteN answers n pattern bytes written in chunks of chunk bytes (0:
// one Write), flushing after each when flush.
func diffWriteN(n, chunk int, flush bool) diffHandler {
	return func(w http.ResponseWriter, r *http.Request, run *diffRun) {
		w.Header().Set("Content-Type", "application/octet-stream")
		b := diffPattern(n)
		if chunk <= 0 {
			chunk = max(n, 1)
		}
		for len(b) > 0 {
			k := min(chunk, len(b))
			if _, err := w.Write(b[:k]); err != nil {
				run.note("write error: %v", err)
				return
			}
			b = b[k:]
			if flush {
				if err := http.NewResponseController(w).Flush(); err != nil {
					run.note("flush error: %v", err)
				}
			}
		}
	}
}

// diffFlush flushes w, noting an error.
func diffFlush(w http.ResponseWriter, run *diffRun) {
	if err := http.NewResponseController(w).Flush(); err != nil {
		run.note("flush error: %v", err)
	}
}

// diffWriteNote writes s and notes the outcome of the Write.
func diffWriteNote(w http.ResponseWriter, run *diffRun, s string) {
	n, err := io.WriteString(w, s)
	run.note("write %q: n=%d err=%v", s, n, err)
}

// ---- clients ----

// diffReq is a request sent with x/net's Transport.
type diffReq struct {
	method, path string
	body         []byte
	unknownLen   bool     // no Content-Length: the body's length is unknown to the Transport
	header       []string // name, value pairs
	trailer      []string // name, value pairs sent as request trailers
}

// diffTrailerBody is a request body that sets the request's trailer
// values at EOF, as the Transport reads them after the body.
type diffTrailerBody struct {
	r       io.Reader
	req     *http.Request
	trailer []string
}

func (b *diffTrailerBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		for i := 0; i < len(b.trailer); i += 2 {
			b.req.Trailer.Set(b.trailer[i], b.trailer[i+1])
		}
	}
	return n, err
}

func (b *diffTrailerBody) Close() error { return nil }

func (q diffReq) build(ctx context.Context) *http.Request {
	var body io.Reader
	if q.body != nil {
		body = bytes.NewReader(q.body)
		if q.unknownLen {
			body = struct{ io.Reader }{body}
		}
	}
	req, err := http.NewRequestWithContext(ctx, q.method, "http://"+diffAuthority+q.path, body)
	if err != nil {
		panic(err)
	}
	for i := 0; i < len(q.header); i += 2 {
		req.Header.Add(q.header[i], q.header[i+1])
	}
	if q.trailer != nil {
		req.Trailer = http.Header{}
		for i := 0; i < len(q.trailer); i += 2 {
			req.Trailer[http.CanonicalHeaderKey(q.trailer[i])] = nil
		}
		req.Body = &diffTrailerBody{r: bytes.NewReader(q.body), req: req, trailer: q.trailer}
		req.ContentLength = -1
	}
	return req
}

// diffGoAwayRE matches the text of net/http's HTTP/2 client error for a
// GOAWAY that ended a request; its group is the error code's name (as
// http2.ErrCode.String gives it).
var diffGoAwayRE = regexp.MustCompile(`http2: server sent GOAWAY and closed the connection; LastStreamID=\d+, ErrCode=(.+?), debug=`)

// diffErr normalizes a client error.
func diffErr(err error) string {
	if err == nil {
		return ""
	}
	var se http2.StreamError
	if errors.As(err, &se) {
		s := "RST_STREAM " + se.Code.String()
		if se.Cause != nil && se.Cause.Error() != "received from peer" {
			s += " (client: " + se.Cause.Error() + ")"
		}
		return s
	}
	// net/http's HTTP/2 client reports a GOAWAY that ended the request
	// with an unexported type, so it is recognized by its text
	if m := diffGoAwayRE.FindStringSubmatch(err.Error()); m != nil {
		return "GOAWAY " + m[1]
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return "connection closed"
	}
	return err.Error()
}

// diffDo sends req with tr and reads the whole response (bounded by
// req's context).
func diffDo(tr *http.Transport, req *http.Request) diffResult {
	var res diffResult
	var mu sync.Mutex
	trace := &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			mu.Lock()
			defer mu.Unlock()
			res.Info = append(res.Info, fmt.Sprintf("%d %s", code, diffOneLine(http.Header(h))))
			return nil
		},
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		res.Err = diffErr(err)
		return res
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	res.Header = resp.Header
	res.Body, err = io.ReadAll(resp.Body)
	if err != nil {
		res.Err = "body: " + diffErr(err)
	}
	if len(resp.Trailer) > 0 {
		res.Trailer = resp.Trailer
	}
	mu.Lock()
	defer mu.Unlock()
	return res
}

func diffOneLine(h http.Header) string {
	return strings.TrimSuffix(strings.ReplaceAll(diffFormatHeader(h), "\n", "; "), "; ")
}

// diffT is a client sending the requests qs one after the other on one
// Transport (so one connection), each result the Next of the one before.
func diffT(qs ...diffReq) func(t *testing.T, run *diffRun) diffResult {
	return func(t *testing.T, run *diffRun) diffResult {
		tr, dials := diffNewTransport(t, run.addr)
		var first diffResult
		last := &first
		for i, q := range qs {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			r := diffDo(tr, q.build(ctx))
			cancel()
			if i == 0 {
				first = r
			} else {
				last.Next = &r
				last = &r
			}
		}
		if n := dials.Load(); n != 1 {
			first.Notes = append(first.Notes, fmt.Sprintf("client dialed %d connections", n))
		}
		return first
	}
}

// diffNormConnErr normalizes the raw client's connection error.
func diffNormConnErr(err error) string {
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &ce):
		return "client-detected connection error " + http2.ErrCode(ce).String()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, net.ErrClosed):
		return "connection closed"
	}
	return err.Error()
}

// diffFromStream turns what the raw client saw on s into a diffResult.
func diffFromStream(rc *diffRawConn, s *diffStream) diffResult {
	var r diffResult
	final := false
	var errs []string
	for _, b := range s.blocks {
		status := ""
		h := http.Header{}
		for _, f := range b {
			if f.Name == ":status" && status == "" {
				status = f.Value
				continue
			}
			h[f.Name] = append(h[f.Name], f.Value)
		}
		switch {
		case !final && len(status) == 3 && status[0] == '1':
			r.Info = append(r.Info, status+" "+diffOneLine(h))
		case !final:
			final = true
			var err error
			if r.Status, err = strconv.Atoi(status); err != nil {
				errs = append(errs, fmt.Sprintf("response without a valid :status (%q)", status))
			}
			r.Header = h
		default:
			if status != "" {
				errs = append(errs, "trailers with :status")
			}
			if r.Trailer != nil {
				errs = append(errs, "two trailer blocks")
			}
			r.Trailer = h
		}
	}
	r.Body = s.data.Bytes()
	if s.clientErr != "" {
		errs = append(errs, "malformed response: "+s.clientErr)
	}
	switch {
	case s.rst != nil && s.rstAfterEnd:
		errs = append(errs, "RST_STREAM "+s.rst.String()+" after END_STREAM")
	case s.rst != nil:
		errs = append(errs, "RST_STREAM "+s.rst.String())
	case s.endStream || s.weReset:
	case rc.goAway != nil && rc.goAway.code != http2.ErrCodeNo:
		// a connection error ends the stream, whatever GOAWAY's last
		// stream id says (net/http names the stream whose header block
		// failed, h2server the one before: both are valid, §6.8)
		errs = append(errs, "stream ended by a connection error")
	case rc.goAway != nil && s.id > rc.goAway.last:
		errs = append(errs, fmt.Sprintf("not processed (GOAWAY last=%d)", rc.goAway.last))
	case rc.connErr != nil:
		errs = append(errs, "stream not ended: "+diffNormConnErr(rc.connErr))
	default:
		errs = append(errs, "stream not ended within the timeout")
	}
	if rc.goAway != nil && rc.goAway.code != http2.ErrCodeNo {
		errs = append(errs, "GOAWAY "+rc.goAway.code.String())
	}
	for _, v := range s.violations {
		errs = append(errs, "violation: "+v)
	}
	r.Err = strings.Join(errs, "; ")
	return r
}

// diffWithNext is diffFromStream of s with, as Next, a GET /next sent
// after it on the same connection (which must outlive a stream error).
func diffWithNext(rc *diffRawConn, s *diffStream) diffResult {
	r := diffFromStream(rc, s)
	next := diffFromStream(rc, rc.request("GET", "/next", nil))
	r.Next = &next
	return r
}

// diffR is a raw client sending one request (see diffRawConn.request),
// then a GET / on the next stream of the same connection as Next (the
// connection must outlive a stream error).
func diffR(method, path string, body []byte, extra ...string) func(t *testing.T, run *diffRun) diffResult {
	return func(t *testing.T, run *diffRun) diffResult {
		rc := diffDialRaw(t, run.addr)
		return diffWithNext(rc, rc.request(method, path, body, extra...))
	}
}

// diffRawBlock is a raw client sending one header block as given (all
// fields, pseudo ones included, in order) with END_STREAM, then a GET /
// on the next stream as Next.
func diffRawBlock(kv ...string) func(t *testing.T, run *diffRun) diffResult {
	return func(t *testing.T, run *diffRun) diffResult {
		rc := diffDialRaw(t, run.addr)
		id := rc.newStreamID()
		rc.writeHeaders(id, true, kv...)
		return diffWithNext(rc, rc.wait(id, 10*time.Second))
	}
}

// diffGetKV is the pseudo-header fields of a GET of path.
func diffGetKV(path string) []string {
	return []string{":method", "GET", ":scheme", "http", ":path", path, ":authority", diffAuthority}
}

func diffConcat(a []string, b ...string) []string { return append(append([]string(nil), a...), b...) }

// diffManyFields is n fields x-fNN of size bytes each, as name, value pairs.
func diffManyFields(n, size int) []string {
	var kv []string
	for i := range n {
		kv = append(kv, fmt.Sprintf("x-f%02d", i), strings.Repeat(string(rune('a'+i%26)), size))
	}
	return kv
}

// ---- the table ----

func diffCases() []diffCase {
	var cases []diffCase
	add := func(c ...diffCase) { cases = append(cases, c...) }

	// Requests and what the handler sees of them.
	add(
		diffCase{name: "get-dump", handler: diffEcho, client: diffT(diffReq{method: "GET", path: "/a/b?x=1&y=%20z&&k",
			header: []string{"X-Custom", "v", "X-Multi", "1", "X-Multi", "2", "Accept", "*/*", "X-Empty", ""}})},
		diffCase{name: "head-dump", handler: diffEcho, client: diffT(diffReq{method: "HEAD", path: "/head"})},
		diffCase{name: "options-path", handler: diffEcho, client: diffT(diffReq{method: "OPTIONS", path: "/opt"})},
		diffCase{name: "delete", handler: diffEcho, client: diffT(diffReq{method: "DELETE", path: "/x"})},
		diffCase{name: "custom-method", handler: diffEcho, client: diffT(diffReq{method: "PURGE", path: "/x"})},
	)
	// Request bodies of every size, with and without Content-Length.
	for _, n := range []int{0, 1, 100, 16 << 10, 70 << 10, 3 << 20} {
		add(diffCase{name: fmt.Sprintf("post-%d", n), handler: diffEcho,
			client: diffT(diffReq{method: "POST", path: "/upload", body: diffPattern(n), header: []string{"Content-Type", "application/octet-stream"}})})
	}
	add(
		diffCase{name: "put-70k", handler: diffEcho, client: diffT(diffReq{method: "PUT", path: "/put", body: diffPattern(70 << 10)})},
		diffCase{name: "post-100-unknown-length", handler: diffEcho, client: diffT(diffReq{method: "POST", path: "/u", body: diffPattern(100), unknownLen: true})},
		diffCase{name: "post-3m-unknown-length", handler: diffEcho, client: diffT(diffReq{method: "POST", path: "/u", body: diffPattern(3 << 20), unknownLen: true})},
		diffCase{name: "get-with-body", handler: diffEcho, client: diffT(diffReq{method: "GET", path: "/g", body: diffPattern(100)})},
		diffCase{name: "post-echo-3m-duplex", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", "application/octet-stream")
			if _, err := io.Copy(w, r.Body); err != nil {
				run.note("copy error: %v", err)
			}
		}, client: diffT(diffReq{method: "POST", path: "/echo", body: diffPattern(3 << 20)})},
		diffCase{name: "raw-upload-70k", handler: diffEcho, client: diffR("POST", "/raw", diffPattern(70<<10), "content-length", "71680")},
		diffCase{name: "raw-upload-3m-no-content-length", handler: diffEcho, client: diffR("POST", "/raw", diffPattern(3<<20))},
	)
	// Response bodies of every size: one Write, small Writes, Flushes.
	for _, n := range []int{0, 1, 100, 16 << 10, 70 << 10, 3 << 20} {
		add(diffCase{name: fmt.Sprintf("get-resp-%d", n), handler: diffWriteN(n, 0, false), client: diffT(diffReq{method: "GET", path: "/dl"})})
	}
	add(diffCase{name: "head-resp-100", handler: diffWriteN(100, 0, false), client: diffT(diffReq{method: "HEAD", path: "/dl"})})
	add(
		diffCase{name: "get-resp-3m-small-writes", handler: diffWriteN(3<<20, 1000, false), client: diffT(diffReq{method: "GET", path: "/dl"})},
		diffCase{name: "get-resp-70k-flush-each-4k", handler: diffWriteN(70<<10, 4096, true), client: diffT(diffReq{method: "GET", path: "/dl"})},
		diffCase{name: "get-resp-1000-tiny-writes", handler: diffWriteN(3000, 3, false), client: diffT(diffReq{method: "GET", path: "/dl"})},
		diffCase{name: "raw-download-3m", handler: diffWriteN(3<<20, 0, false), client: diffR("GET", "/dl", nil)},
		diffCase{name: "raw-download-70k-window", handler: diffWriteN(70<<10, 0, false), client: diffWindowStallClient},
	)
	// Streaming: what is flushed reaches the client while the handler runs.
	add(
		diffCase{name: "flush-streaming", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			io.WriteString(w, "first;")
			diffFlush(w, run)
			if !run.await("release", 5*time.Second) {
				run.note("handler not released within 5s")
			}
			io.WriteString(w, "second")
		}, client: diffStreamingClient("first;", "second")},
		diffCase{name: "flush-headers-only", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			w.Header().Set("X-Early", "1")
			diffFlush(w, run)
			if !run.await("release", 5*time.Second) {
				run.note("handler not released within 5s")
			}
			io.WriteString(w, "late")
		}, client: diffStreamingClient("", "late")},
		diffCase{name: "flush-ping-pong", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			for i := range 5 {
				fmt.Fprintf(w, "chunk%d;", i)
				diffFlush(w, run)
				if !run.await(fmt.Sprint("ack", i), 5*time.Second) {
					run.note("chunk %d not acknowledged within 5s", i)
					return
				}
			}
		}, client: diffPingPongClient},
	)
	// Trailers.
	trailerDeclared := func(w http.ResponseWriter, r *http.Request, run *diffRun) {
		w.Header().Set("Content-Type", textPlainUTF8)
		w.Header().Set("Trailer", "X-T, X-T2")
		io.WriteString(w, "body with trailers")
		w.Header().Set("X-T", "v1")
		w.Header().Add("X-T2", "a")
		w.Header().Add("X-T2", "b")
	}
	add(
		diffCase{name: "trailer-declared", handler: trailerDeclared, client: diffT(diffReq{method: "GET", path: "/t"})},
		diffCase{name: "raw-trailer-declared", handler: trailerDeclared, client: diffR("GET", "/t", nil)},
		diffCase{name: "trailer-prefix", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			io.WriteString(w, "body")
			w.Header().Set(http.TrailerPrefix+"X-P", "vp")
		}, client: diffT(diffReq{method: "GET", path: "/t"})},
		diffCase{name: "raw-trailer-prefix-after-flush", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			w.Header().Set("Trailer", "X-T")
			io.WriteString(w, "part1;")
			diffFlush(w, run)
			io.WriteString(w, "part2")
			w.Header().Set("X-T", "declared")
			w.Header().Set(http.TrailerPrefix+"X-P", "prefixed")
		}, client: diffR("GET", "/t", nil)},
		diffCase{name: "raw-trailer-empty-body", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			w.Header().Set("Trailer", "X-T")
			w.WriteHeader(http.StatusOK)
			w.Header().Set("X-T", "only-trailer")
		}, client: diffR("GET", "/t", nil)},
		diffCase{name: "raw-trailer-declared-unset", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			w.Header().Set("Trailer", "X-Never")
			io.WriteString(w, "no trailer value")
		}, client: diffR("GET", "/t", nil)},
		diffCase{name: "request-trailers", handler: diffEcho, client: diffT(diffReq{method: "POST", path: "/rt", body: []byte("hello"),
			trailer: []string{"X-Req-T", "tv"}})},
		diffCase{name: "raw-request-trailers", handler: diffEcho, client: diffRawRequestTrailers},
	)
	// Status codes and bodies that are not allowed.
	add(
		diffCase{name: "head-with-body-write", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			diffWriteNote(w, run, "hello")
		}, client: diffR("HEAD", "/h", nil)},
		diffCase{name: "head-explicit-content-length", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			w.Header().Set("Content-Length", "100")
		}, client: diffR("HEAD", "/h", nil)},
		diffCase{name: "status-204-with-write", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			w.WriteHeader(http.StatusNoContent)
			diffWriteNote(w, run, "no body allowed")
		}, client: diffR("GET", "/204", nil)},
		diffCase{name: "status-304-with-write", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Etag", `"v1"`)
			w.WriteHeader(http.StatusNotModified)
			diffWriteNote(w, run, "no body allowed")
		}, client: diffR("GET", "/304", nil, "if-none-match", `"v1"`)},
		diffCase{name: "status-codes", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			switch r.URL.Path {
			case "/404":
				http.NotFound(w, r)
			case "/500":
				http.Error(w, "broken", http.StatusInternalServerError)
			case "/299":
				w.Header().Set("Content-Type", textPlainUTF8)
				w.WriteHeader(299)
				io.WriteString(w, "odd")
			default:
				w.Header().Set("Content-Type", textPlainUTF8)
				w.WriteHeader(http.StatusAccepted)
				w.WriteHeader(http.StatusNotFound) // superfluous: ignored
				io.WriteString(w, "accepted")
			}
		}, client: diffT(diffReq{method: "GET", path: "/404"}, diffReq{method: "GET", path: "/500"},
			diffReq{method: "GET", path: "/299"}, diffReq{method: "GET", path: "/twice"})},
		diffCase{name: "writeheader-invalid-code", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			w.WriteHeader(42) // net/http panics: "invalid WriteHeader code 42"
			io.WriteString(w, "x")
		}, client: diffR("GET", "/42", nil)},
	)
	// Content-Length set by the handler.
	add(
		diffCase{name: "explicit-content-length", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			w.Header().Set("Content-Length", "11")
			diffWriteNote(w, run, "hello world")
		}, client: diffR("GET", "/cl", nil)},
		diffCase{name: "content-length-invalid", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			w.Header().Set("Content-Length", "abc")
			io.WriteString(w, "body")
		}, client: diffR("GET", "/cl", nil)},
	)
	// 1xx.
	earlyHints := func(w http.ResponseWriter, r *http.Request, run *diffRun) {
		w.Header().Set("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Content-Type", textPlainUTF8)
		io.WriteString(w, "after early hints")
	}
	add(
		diffCase{name: "early-hints-103", handler: earlyHints, client: diffT(diffReq{method: "GET", path: "/103"})},
		diffCase{name: "raw-early-hints-103", handler: earlyHints, client: diffR("GET", "/103", nil)},
		diffCase{name: "expect-100-continue-read", handler: diffEcho, client: diffExpectClient(true)},
		diffCase{name: "expect-100-continue-noread", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			w.Header().Set("X-Expect-Seen", r.Header.Get("Expect"))
			io.WriteString(w, "not reading")
		}, client: diffExpectClient(false)},
	)
	// Request header mapping.
	add(
		diffCase{name: "raw-cookies-merged", handler: diffEcho, client: diffR("GET", "/c", nil,
			"cookie", "a=1", "x-other", "o", "cookie", "b=2", "cookie", "c=3")},
		diffCase{name: "raw-header-canonicalization", handler: diffEcho, client: diffR("GET", "/h", nil,
			"x-custom-header", "v1", "content-md5", "m", "www-authenticate", "w", "x-foo_bar", "u", "x-dup", "1", "x-dup", "2",
			"x-empty", "", "user-agent", "raw/1", "accept-encoding", "gzip", "te", "trailers", "x-obs", "caf\xc3\xa9")},
		diffCase{name: "raw-authority-and-host", handler: diffEcho, client: diffRawBlock(
			":method", "GET", ":scheme", "http", ":path", "/ah", ":authority", "a.example", "host", "b.example")},
		diffCase{name: "raw-host-without-authority", handler: diffEcho, client: diffRawBlock(
			":method", "GET", ":scheme", "http", ":path", "/h", "host", "h.example:8080")},
		diffCase{name: "raw-no-authority-no-host", handler: diffEcho, client: diffRawBlock(
			":method", "GET", ":scheme", "http", ":path", "/h")},
		diffCase{name: "raw-authority-ipv6", handler: diffEcho, client: diffRawBlock(
			":method", "GET", ":scheme", "http", ":path", "/h", ":authority", "[::1]:8080")},
		diffCase{name: "raw-scheme-https", handler: diffEcho, client: diffRawBlock(
			":method", "GET", ":scheme", "https", ":path", "/h", ":authority", diffAuthority)},
		diffCase{name: "raw-options-star", handler: diffEcho, client: diffRawBlock(
			":method", "OPTIONS", ":scheme", "http", ":path", "*", ":authority", diffAuthority)},
		diffCase{name: "raw-path-escapes", handler: diffEcho, client: diffR("GET", "/a%2Fb/caf%C3%A9/%7Euser/x%20y?x=1&y=%20z&k&e=%zz#frag", nil)},
		diffCase{name: "raw-path-double-slash-dots", handler: diffEcho, client: diffR("GET", "//x/../y/./z?", nil)},
		diffCase{name: "raw-connect", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			io.WriteString(w, diffDumpRequest(r))
		}, client: diffConnectClient},
		diffCase{name: "raw-te-trailers", handler: diffEcho, client: diffR("GET", "/te", nil, "te", "trailers")},
		diffCase{name: "raw-request-cl-smaller-than-data", handler: diffEcho, client: diffR("POST", "/cl", []byte("hello"), "content-length", "3")},
		// 6 fields of 1 KiB in one HEADERS frame: over a 4 KiB
		// MaxHeaderBytes, a 431. (x/net's Framer, which both servers use,
		// makes a CONTINUATION after the limit a connection error
		// PROTOCOL_ERROR, and one field longer than the limit an HPACK
		// COMPRESSION_ERROR.)
		diffCase{name: "raw-header-list-too-large", handler: diffEcho, opts: diffOpts{MaxHeaderBytes: 4 << 10},
			client: diffR("GET", "/big", nil, diffManyFields(6, 1024)...)},
		diffCase{name: "raw-header-list-too-large-continuation", handler: diffEcho, opts: diffOpts{MaxHeaderBytes: 16 << 10},
			client: diffR("GET", "/big", nil, diffManyFields(40, 1024)...)},
		diffCase{name: "raw-header-list-under-limit", handler: diffEcho, opts: diffOpts{MaxHeaderBytes: 16 << 10},
			client: diffR("GET", "/big", nil, diffManyFields(12, 1024)...)},
		diffCase{name: "raw-header-field-over-limit", handler: diffEcho, opts: diffOpts{MaxHeaderBytes: 16 << 10},
			client: diffR("GET", "/big", nil, "x-big", strings.Repeat("b", 40<<10))},
	)
	// Malformed requests: a stream error, the connection goes on.
	malformed := []struct {
		name string
		kv   []string
	}{
		{"missing-path", []string{":method", "GET", ":scheme", "http", ":authority", diffAuthority}},
		{"missing-method", []string{":scheme", "http", ":path", "/", ":authority", diffAuthority}},
		{"missing-scheme", []string{":method", "GET", ":path", "/", ":authority", diffAuthority}},
		{"empty-path", []string{":method", "GET", ":scheme", "http", ":path", "", ":authority", diffAuthority}},
		{"path-no-slash", []string{":method", "GET", ":scheme", "http", ":path", "foo", ":authority", diffAuthority}},
		{"userinfo-in-authority", []string{":method", "GET", ":scheme", "http", ":path", "/", ":authority", "user@h.example"}},
		{"uppercase-field-name", diffConcat(diffGetKV("/"), "X-Upper", "v")},
		{"pseudo-after-regular", []string{":method", "GET", ":scheme", "http", "x-a", "1", ":path", "/", ":authority", diffAuthority}},
		{"duplicate-path", diffConcat(diffGetKV("/"), ":path", "/again")},
		{"unknown-pseudo", diffConcat(diffGetKV("/"), ":foo", "bar")},
		{"status-in-request", diffConcat(diffGetKV("/"), ":status", "200")},
		{"field-value-nul", diffConcat(diffGetKV("/"), "x-a", "a\x00b")},
		{"field-value-lf", diffConcat(diffGetKV("/"), "x-a", "a\nb")},
		{"connect-with-path", []string{":method", "CONNECT", ":scheme", "http", ":path", "/", ":authority", "h.example:443"}},
		{"connect-without-authority", []string{":method", "CONNECT"}},
		{"protocol-pseudo", diffConcat(diffGetKV("/"), ":protocol", "websocket")},
	}
	for _, m := range malformed {
		add(diffCase{name: "raw-malformed-" + m.name, handler: diffEcho, client: diffRawBlock(m.kv...)})
	}
	// Response headers.
	add(
		diffCase{name: "resp-connection-headers-stripped", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			w.Header().Set("Connection", "keep-alive")
			w.Header().Set("Transfer-Encoding", "chunked")
			io.WriteString(w, "body")
		}, client: diffR("GET", "/conn", nil)},
		diffCase{name: "resp-connection-close", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			w.Header().Set("Connection", "close")
			io.WriteString(w, "bye")
		}, client: diffConnectionCloseClient},
		diffCase{name: "resp-multi-values", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			h := w.Header()
			h.Set("Content-Type", textPlainUTF8)
			h.Add("Set-Cookie", "a=1")
			h.Add("Set-Cookie", "b=2")
			h["x-lower"] = []string{"v"}
			h["X-Empty"] = []string{""}
			h.Set("Cache-Control", "no-store")
			io.WriteString(w, "multi")
		}, client: diffR("GET", "/m", nil)},
		diffCase{name: "resp-invalid-fields-dropped", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			h := w.Header()
			h.Set("Content-Type", textPlainUTF8)
			h.Set("X-Evil", "a\r\nInjected: 1")
			h["Bad Name"] = []string{"x"}
			h["X-Nul"] = []string{"a\x00b"}
			h["Caf\xc3\xa9"] = []string{"x"}
			h.Set("X-Good", "ok")
			io.WriteString(w, "evil")
		}, client: diffR("GET", "/evil", nil)},
		diffCase{name: "resp-big-header-continuation", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			w.Header().Set("X-Big", strings.Repeat("v", 40<<10))
			io.WriteString(w, "big header")
		}, client: diffR("GET", "/bh", nil)},
		diffCase{name: "resp-date-set-by-handler", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			w.Header().Set("Date", "Mon, 02 Jan 2006 15:04:05 GMT")
			w.Header().Set("X-Date-Check", "1")
			io.WriteString(w, "dated")
		}, client: diffDateClient},
	)
	// Panics, unread bodies, cancellation, concurrency.
	add(
		diffCase{name: "panic", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			if r.URL.Path == "/panic" {
				panic("diff test panic")
			}
			diffEcho(w, r, run)
		}, client: diffR("GET", "/panic", nil)},
		diffCase{name: "panic-after-flush", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			if r.URL.Path == "/panic" {
				w.Header().Set("Content-Type", textPlainUTF8)
				io.WriteString(w, "partial")
				diffFlush(w, run)
				panic("diff test panic after flush")
			}
			diffEcho(w, r, run)
		}, client: diffR("GET", "/panic", nil)},
		diffCase{name: "panic-err-abort-handler", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			if r.URL.Path == "/panic" {
				panic(http.ErrAbortHandler)
			}
			diffEcho(w, r, run)
		}, client: diffR("GET", "/panic", nil)},
		diffCase{name: "panic-err-abort-handler-transport", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			if r.URL.Path == "/panic" {
				w.Header().Set("Content-Type", textPlainUTF8)
				w.Write(diffPattern(100 << 10))
				panic(http.ErrAbortHandler)
			}
			diffEcho(w, r, run)
		}, client: diffT(diffReq{method: "GET", path: "/panic"}, diffReq{method: "GET", path: "/next"})},
		diffCase{name: "noread-large-body", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			io.WriteString(w, "did not read "+r.URL.Path)
		}, client: diffT(diffReq{method: "POST", path: "/noread", body: diffPattern(3 << 20)}, diffReq{method: "GET", path: "/next"})},
		diffCase{name: "raw-noread-body-open", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			io.WriteString(w, "did not read "+r.URL.Path)
		}, client: diffNoReadRawClient},
		diffCase{name: "raw-ctx-cancel-on-rst", handler: diffCtxHandler, client: diffCancelClient(false)},
		diffCase{name: "raw-ctx-cancel-on-conn-close", handler: diffCtxHandler, client: diffCancelClient(true)},
		// A client may open a stream as soon as it has seen the previous
		// one end both ways (RFC 9113 §5.1.2 counts open and half-closed
		// streams only): at MaxConcurrentStreams 1, back-to-back requests
		// must never be refused.
		diffCase{name: "sequential-at-max-concurrent-streams-1", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			io.WriteString(w, "x")
		}, opts: diffOpts{MaxConcurrentStreams: 1}, client: diffSequentialClient(3000)},
		diffCase{name: "concurrent-50-streams", handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			if !run.arrive("all", 50, 5*time.Second) {
				run.note("not all 50 handlers ran at once within 5s")
			}
			b, err := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", textPlainUTF8)
			fmt.Fprintf(w, "%s %s err=%v", r.URL.Path, diffFormatBody(b), err)
		}, client: diffConcurrentClient},
	)
	return cases
}

// ---- special clients ----

// diffGetUnread sends GET path on a Transport of its own and returns the
// response, its body unread (the caller closes it), and a result with its
// status and header; on an error, no response and a result with the
// error. The request's context ends after 15 s or with the test.
func diffGetUnread(t *testing.T, run *diffRun, path string) (*http.Response, diffResult) {
	tr, _ := diffNewTransport(t, run.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+diffAuthority+path, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, diffResult{Err: diffErr(err)}
	}
	return resp, diffResult{Status: resp.StatusCode, Header: resp.Header}
}

// diffStreamingClient reads first (the response headers when empty)
// while the handler waits, checks the handler is still running, then
// releases it and reads rest.
func diffStreamingClient(first, rest string) func(t *testing.T, run *diffRun) diffResult {
	return func(t *testing.T, run *diffRun) diffResult {
		defer run.signal("release")
		resp, res := diffGetUnread(t, run, "/stream")
		if resp == nil {
			return res
		}
		defer resp.Body.Close()
		buf := make([]byte, len(first))
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			res.Err = "reading the flushed part: " + diffErr(err)
			return res
		}
		res.Notes = append(res.Notes, fmt.Sprintf("got %q while the handler ran: %v", buf, run.active.Load() == 1))
		run.signal("release")
		tail, err := io.ReadAll(resp.Body)
		if err != nil {
			res.Err = "body: " + diffErr(err)
		}
		res.Body = append(buf, tail...)
		if string(res.Body) != first+rest {
			res.Notes = append(res.Notes, "unexpected body")
		}
		return res
	}
}

// diffPingPongClient reads each flushed chunk before acknowledging it.
func diffPingPongClient(t *testing.T, run *diffRun) diffResult {
	resp, res := diffGetUnread(t, run, "/pp")
	if resp == nil {
		return res
	}
	defer resp.Body.Close()
	for i := range 5 {
		want := fmt.Sprintf("chunk%d;", i)
		buf := make([]byte, len(want))
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			res.Err = fmt.Sprintf("reading chunk %d: %s", i, diffErr(err))
			return res
		}
		res.Body = append(res.Body, buf...)
		run.signal(fmt.Sprint("ack", i))
	}
	tail, err := io.ReadAll(resp.Body)
	res.Body = append(res.Body, tail...)
	if err != nil {
		res.Err = "body: " + diffErr(err)
	}
	return res
}

// diffWindowStallClient: the client returns no flow-control credit, so
// the server must stop after the initial 65535-byte windows; once it is
// quiet the client grants the rest.
func diffWindowStallClient(t *testing.T, run *diffRun) diffResult {
	rc := diffDialRaw(t, run.addr)
	rc.manualWindow = true
	id := rc.newStreamID()
	rc.writeHeaders(id, true, diffGetKV("/dl")...)
	s := rc.stream(id)
	// until the server stalls: no frame for 300 ms
	for {
		before := len(rc.trace)
		rc.idle(300 * time.Millisecond)
		if len(rc.trace) == before || s.closed() || rc.connErr != nil {
			break
		}
	}
	got := s.recvBytes
	rc.manualWindow = false
	rc.grantConn(1 << 20)
	rc.grant(id, 1<<20)
	r := diffFromStream(rc, rc.wait(id, 10*time.Second))
	r.Notes = append(r.Notes, fmt.Sprintf("bytes before credit: %d", got))
	return r
}

// diffRawRequestTrailers sends declared request trailers and an
// undeclared one after a body.
func diffRawRequestTrailers(t *testing.T, run *diffRun) diffResult {
	rc := diffDialRaw(t, run.addr)
	id := rc.newStreamID()
	rc.writeHeaders(id, false, diffConcat([]string{":method", "POST", ":scheme", "http", ":path", "/rt", ":authority", diffAuthority},
		"trailer", "x-req-t, x-req-u")...)
	rc.writeData(id, false, []byte("hello"))
	rc.writeHeaders(id, true, "x-req-t", "tv", "x-undeclared", "uv")
	return diffWithNext(rc, rc.wait(id, 10*time.Second))
}

// diffExpectClient sends a POST with Expect: 100-continue and waits up to
// 1 s for a 100 before sending the body; with wantContinue false the
// handler answers without reading and the body is not sent at all.
func diffExpectClient(wantContinue bool) func(t *testing.T, run *diffRun) diffResult {
	return func(t *testing.T, run *diffRun) diffResult {
		rc := diffDialRaw(t, run.addr)
		id := rc.newStreamID()
		rc.writeHeaders(id, false, ":method", "POST", ":scheme", "http", ":path", "/expect", ":authority", diffAuthority,
			"expect", "100-continue", "content-length", "5")
		s := rc.stream(id)
		got100 := rc.pump(time.Second, func() bool { return len(s.blocks) > 0 || s.closed() })
		var notes []string
		if got100 && !s.closed() {
			notes = append(notes, "a header block came before the body was sent")
		}
		if wantContinue {
			rc.writeData(id, true, []byte("hello"))
		}
		r := diffWithNext(rc, rc.wait(id, 10*time.Second))
		r.Notes = notes
		return r
	}
}

// diffConnectClient sends CONNECT with only :method and :authority,
// leaves its side open, and reads the response.
func diffConnectClient(t *testing.T, run *diffRun) diffResult {
	rc := diffDialRaw(t, run.addr)
	id := rc.newStreamID()
	rc.writeHeaders(id, false, ":method", "CONNECT", ":authority", "tunnel.example:443")
	return diffWithNext(rc, rc.wait(id, 10*time.Second))
}

// diffConnectionCloseClient notes whether a GOAWAY follows a response
// whose handler set Connection: close, and whether the connection still
// serves a request.
func diffConnectionCloseClient(t *testing.T, run *diffRun) diffResult {
	rc := diffDialRaw(t, run.addr)
	r := diffFromStream(rc, rc.request("GET", "/close", nil))
	rc.pump(time.Second, func() bool { return rc.goAway != nil || rc.connErr != nil })
	if rc.goAway != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("GOAWAY last=%d %v", rc.goAway.last, rc.goAway.code))
	}
	return r
}

// diffDateClient checks the handler's own Date is sent unchanged.
func diffDateClient(t *testing.T, run *diffRun) diffResult {
	rc := diffDialRaw(t, run.addr)
	r := diffFromStream(rc, rc.request("GET", "/date", nil))
	r.Notes = append(r.Notes, fmt.Sprintf("date=%q", diffWire(r.Header, "date")))
	return r
}

// diffNoReadRawClient sends 16 KiB of a body and leaves its side open;
// the handler answers without reading.
func diffNoReadRawClient(t *testing.T, run *diffRun) diffResult {
	rc := diffDialRaw(t, run.addr)
	id := rc.newStreamID()
	rc.writeHeaders(id, false, ":method", "POST", ":scheme", "http", ":path", "/noread", ":authority", diffAuthority)
	rc.writeData(id, false, diffPattern(16<<10))
	return diffWithNext(rc, rc.wait(id, 10*time.Second))
}

// diffCtxHandler waits for its request's context to end (up to 5 s) on
// /wait, and echoes otherwise.
func diffCtxHandler(w http.ResponseWriter, r *http.Request, run *diffRun) {
	if r.URL.Path != "/wait" {
		diffEcho(w, r, run)
		return
	}
	run.signal("started")
	select {
	case <-r.Context().Done():
		run.note("context done: %v", r.Context().Err())
	case <-time.After(5 * time.Second):
		run.note("context not done within 5s")
	}
	_, err := io.ReadAll(r.Body)
	run.note("body read error after the cancel: %v", err != nil)
}

// diffCancelClient starts a request whose handler waits, then resets the
// stream (or closes the connection), and checks the handler saw its
// context end; after a reset, the connection must serve the next request.
func diffCancelClient(closeConn bool) func(t *testing.T, run *diffRun) diffResult {
	return func(t *testing.T, run *diffRun) diffResult {
		rc := diffDialRaw(t, run.addr)
		id := rc.newStreamID()
		rc.writeHeaders(id, false, ":method", "POST", ":scheme", "http", ":path", "/wait", ":authority", diffAuthority)
		var r diffResult
		if !run.await("started", 5*time.Second) {
			r.Notes = append(r.Notes, "handler did not start within 5s")
		}
		if closeConn {
			rc.Close()
		} else {
			rc.rst(id, http2.ErrCodeCancel)
		}
		if !run.waitIdle(6 * time.Second) {
			r.Notes = append(r.Notes, "handler still running 6s after the cancel")
		}
		if closeConn {
			return r
		}
		rc.idle(100 * time.Millisecond)
		notes := r.Notes
		r = diffWithNext(rc, rc.stream(id))
		r.Notes = append(notes, r.Notes...)
		return r
	}
}

// diffSequentialClient sends n requests one after the other on one
// connection, each as soon as the previous response ended, and notes the
// first failure.
func diffSequentialClient(n int) func(t *testing.T, run *diffRun) diffResult {
	return func(t *testing.T, run *diffRun) diffResult {
		rc := diffDialRaw(t, run.addr)
		// the server's SETTINGS (its stream limit) are in force once it
		// acknowledged ours, which it sends after its own
		rc.pump(5*time.Second, func() bool { return rc.settingsAcked > 0 })
		res := diffResult{Status: 200}
		for i := range n {
			r := diffFromStream(rc, rc.request("GET", "/seq", nil))
			if r.Status != 200 || r.Err != "" {
				res.Notes = append(res.Notes, fmt.Sprintf("request %d of %d: status %d err %q", i+1, n, r.Status, r.Err))
				return res
			}
		}
		res.Notes = append(res.Notes, fmt.Sprintf("all %d requests answered", n))
		return res
	}
}

// diffConcurrentClient sends 50 requests at once on one connection; the
// handlers wait for each other, so all 50 must run concurrently.
func diffConcurrentClient(t *testing.T, run *diffRun) diffResult {
	tr, dials := diffNewTransport(t, run.addr)
	// one warm-up request first, so that the 50 share one connection
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	warm, _ := http.NewRequestWithContext(ctx, "GET", "http://"+diffAuthority+"/next", nil)
	if resp, err := tr.RoundTrip(warm); err == nil {
		resp.Body.Close()
	}
	const n = 50
	results := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := diffPattern(i * 1000)
			req, _ := http.NewRequestWithContext(ctx, "POST", fmt.Sprintf("http://%s/s%d", diffAuthority, i), bytes.NewReader(body))
			r := diffDo(tr, req)
			want := fmt.Sprintf("/s%d %s err=<nil>", i, diffFormatBody(body))
			if r.Status != 200 || string(r.Body) != want || r.Err != "" {
				results[i] = fmt.Sprintf("request %d: status=%d err=%q body=%q", i, r.Status, r.Err, r.Body)
			}
		}()
	}
	wg.Wait()
	res := diffResult{Status: 200}
	ok := 0
	for _, r := range results {
		if r == "" {
			ok++
		} else if len(res.Notes) < 3 {
			res.Notes = append(res.Notes, r)
		}
	}
	res.Notes = append(res.Notes, fmt.Sprintf("%d/%d ok, %d connection(s)", ok, n, dials.Load()))
	return res
}

// ---- running and comparing ----

// diffRunSide runs c against one server in a subtest (whose end shuts the
// server down) and returns what the client saw.
func diffRunSide(t *testing.T, c diffCase, side string) (diffResult, *diffRun) {
	var res diffResult
	var run *diffRun
	t.Run(side, func(t *testing.T) {
		run = newDiffRun(t, side)
		h := run.wrap(c.handler)
		if side == "net/http" {
			run.addr, run.logs = diffStartStd(t, h, c.opts)
		} else {
			run.addr, run.logs = diffStartH2(t, h, c.opts)
		}
		res = c.client(t, run)
		if !run.waitIdle(5 * time.Second) {
			res.Notes = append(res.Notes, "a handler still ran 5s after the exchange")
		}
		run.mu.Lock()
		res.Notes = append(res.Notes, run.notes...)
		run.mu.Unlock()
		res.Notes = append(res.Notes, fmt.Sprintf("handler calls: %d", run.calls.Load()))
		logged := func() bool { return strings.Contains(run.logs.String(), "panic") }
		// A server logs a handler's panic after recovering it, which may
		// be after the client saw the stream end: give the log time.
		for deadline := time.Now().Add(time.Second); run.panicked.Load() > 0 && !logged() && time.Now().Before(deadline); {
			time.Sleep(2 * time.Millisecond)
		}
		if logged() {
			res.Notes = append(res.Notes, "a panic was logged")
		}
		sort.Strings(res.Notes)
	})
	return res, run
}

// diffHeaderKey returns the key of name in h, whatever its case (the raw client's keys are the wire's lower-case names).
func diffHeaderKey(h http.Header, name string) (string, bool) {
	for k := range h {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

// diffCompare lists the differences between the reference's result and
// h2server's.
func diffCompare(std, h2 *diffResult, stdRun, h2Run *diffRun) []string {
	var probs []string
	for depth := 0; std != nil || h2 != nil; depth++ {
		pre := ""
		if depth > 0 {
			pre = fmt.Sprintf("request #%d: ", depth+1)
		}
		if std == nil || h2 == nil {
			probs = append(probs, pre+"one server has no result")
			break
		}
		if std.Status != h2.Status {
			probs = append(probs, fmt.Sprintf("%sstatus: net/http %d, h2server %d", pre, std.Status, h2.Status))
		}
		if !reflect.DeepEqual(std.Info, h2.Info) {
			probs = append(probs, fmt.Sprintf("%s1xx: net/http %q, h2server %q", pre, std.Info, h2.Info))
		}
		sh, hh := std.Header.Clone(), h2.Header.Clone()
		for _, h := range []http.Header{sh, hh} {
			if k, ok := diffHeaderKey(h, "Date"); ok {
				delete(h, k)
			}
		}
		sk, sok := diffHeaderKey(sh, "Content-Type")
		hk, hok := diffHeaderKey(hh, "Content-Type")
		switch {
		case sok && !hok:
			// net/http sniffed one: fine when a handler set none, or
			// when the server answered itself (431) with a sniffed type
			sniffed := len(std.Body) > 0 && sh[sk][0] == http.DetectContentType(std.Body)
			if h2Run.noCT.Load() == 0 && !sniffed {
				probs = append(probs, fmt.Sprintf("%sContent-Type %q set by the handler missing from h2server's response", pre, sh[sk]))
			}
			delete(sh, sk)
		case hok && h2Run.withCT.Load() == 0 && h2Run.noCT.Load() > 0:
			probs = append(probs, fmt.Sprintf("%sh2server sent Content-Type %q that the handler did not set (no sniffing)", pre, hh[hk]))
		}
		if _, hasCL := diffHeaderKey(hh, "Content-Length"); !hasCL && diffHasTrailers(h2) {
			// known difference: no Content-Length with trailers
			if k, ok := diffHeaderKey(sh, "Content-Length"); ok {
				delete(sh, k)
			}
		}
		if !reflect.DeepEqual(diffNilIfEmpty(sh), diffNilIfEmpty(hh)) {
			probs = append(probs, fmt.Sprintf("%sheaders differ:\n      net/http: %s\n      h2server: %s", pre,
				strings.ReplaceAll(diffFormatHeader(sh), "\n", "; "), strings.ReplaceAll(diffFormatHeader(hh), "\n", "; ")))
		}
		if !bytes.Equal(std.Body, h2.Body) {
			probs = append(probs, fmt.Sprintf("%sbody: net/http %s, h2server %s%s", pre, diffFormatBody(std.Body), diffFormatBody(h2.Body), diffBodyDiff(std.Body, h2.Body)))
		}
		if !reflect.DeepEqual(diffNilIfEmpty(std.Trailer), diffNilIfEmpty(h2.Trailer)) {
			probs = append(probs, fmt.Sprintf("%strailers: net/http %v, h2server %v", pre, std.Trailer, h2.Trailer))
		}
		if std.Err != h2.Err {
			probs = append(probs, fmt.Sprintf("%serror: net/http %q, h2server %q", pre, std.Err, h2.Err))
		}
		if !reflect.DeepEqual(std.Notes, h2.Notes) {
			probs = append(probs, fmt.Sprintf("%snotes: net/http %q, h2server %q", pre, std.Notes, h2.Notes))
		}
		std, h2 = std.Next, h2.Next
	}
	return probs
}

// diffWire returns the values of the field name as the raw client
// recorded it: keyed by the wire's (lower-case) name, not canonicalized.
func diffWire(h http.Header, name string) []string { return h[name] }

// diffHasTrailers reports whether a response declared or carried
// trailers.
func diffHasTrailers(r *diffResult) bool {
	_, declared := diffHeaderKey(r.Header, "Trailer")
	return declared || len(r.Trailer) > 0
}

func diffNilIfEmpty(h http.Header) http.Header {
	if len(h) == 0 {
		return nil
	}
	return h
}

// diffBodyDiff shows where two text bodies first differ.
func diffBodyDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	if len(a) > 4096 || len(b) > 4096 {
		return fmt.Sprintf(" (first difference at byte %d)", i)
	}
	from := max(0, i-40)
	return fmt.Sprintf("\n      net/http from byte %d: %q\n      h2server from byte %d: %q", from, a[from:min(len(a), i+200)], from, b[from:min(len(b), i+200)])
}

func TestDiff(t *testing.T) {
	names := map[string]bool{}
	cases := diffCases()
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		if names[c.name] {
			t.Fatalf("duplicate case %q", c.name)
		}
		names[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			std, stdRun := diffRunSide(t, c, "net/http")
			h2, h2Run := diffRunSide(t, c, "h2server")
			if t.Failed() {
				return
			}
			if testing.Verbose() {
				t.Logf("net/http:\n%sh2server:\n%s", std.String(), h2.String())
			}
			if probs := diffCompare(&std, &h2, stdRun, h2Run); len(probs) > 0 {
				t.Errorf("h2server differs from net/http:\n  %s\nnet/http:\n%sh2server:\n%s",
					strings.Join(probs, "\n  "), std.String(), h2.String())
			}
		})
	}
}

// ---- known differences ----

// diffKnown is a case where h2server deliberately differs from net/http:
// check asserts h2server's result; net/http's is only logged.
type diffKnown struct {
	name  string
	c     diffCase
	check func(t *testing.T, res diffResult, run *diffRun)
}

// diffCheckNext asserts the connection served the follow-up request.
func diffCheckNext(t *testing.T, res diffResult) {
	t.Helper()
	if res.Next == nil || res.Next.Status != 200 || res.Next.Err != "" || string(res.Next.Body) != "next GET" {
		t.Errorf("h2server: the connection did not serve the next request:\n%s", res.String())
	}
}

// diffCheckMalformed checks h2server's answer to a malformed request (RFC
// 9113 §8.1.1): a stream error PROTOCOL_ERROR and no response, the
// connection serving the next request.
func diffCheckMalformed(t *testing.T, res diffResult) {
	t.Helper()
	if res.Status != 0 || res.Err != "RST_STREAM PROTOCOL_ERROR" {
		t.Errorf("status %d err %q, want a stream error PROTOCOL_ERROR and no response", res.Status, res.Err)
	}
	diffCheckNext(t, res)
}

// diffCheckMalformedUnhandled is diffCheckMalformed for a request refused
// before its handler ran: the handler ran for the next request only.
func diffCheckMalformedUnhandled(t *testing.T, res diffResult, run *diffRun) {
	t.Helper()
	diffCheckMalformed(t, res)
	if n := run.calls.Load(); n != 1 {
		t.Errorf("handler ran %d times, want once (for the next request only)", n)
	}
}

func diffKnownCases() []diffKnown {
	var ks []diffKnown

	// net/http sniffs a Content-Type from the first bytes of a body whose
	// handler set none; h2server sends what the handler set and nothing
	// else (a proxy must not invent a type for the upstream's body).
	ks = append(ks, diffKnown{name: "no-content-type-sniffing",
		c: diffCase{handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			io.WriteString(w, "<html><body>sniff me</body></html>")
		}, client: diffT(diffReq{method: "GET", path: "/sniff"}, diffReq{method: "HEAD", path: "/sniff"})},
		check: func(t *testing.T, res diffResult, run *diffRun) {
			for r := &res; r != nil; r = r.Next {
				if r.Status != 200 || r.Err != "" {
					t.Errorf("status %d err %q, want 200", r.Status, r.Err)
				}
				if ct, ok := r.Header["Content-Type"]; ok {
					t.Errorf("Content-Type %q sent; the handler set none", ct)
				}
			}
			if string(res.Body) != "<html><body>sniff me</body></html>" {
				t.Errorf("body %q", res.Body)
			}
		}})

	// RFC 9113 §8.2.2: a request with a connection-specific field, or TE
	// other than "trailers", is malformed: a stream error PROTOCOL_ERROR
	// (§8.1.1), the handler not run, the connection going on. net/http
	// runs a handler that answers 400 instead.
	for _, f := range []struct{ name, value string }{
		{"connection", "keep-alive"},
		{"keep-alive", "timeout=5"},
		{"proxy-connection", "keep-alive"},
		{"transfer-encoding", "chunked"},
		{"upgrade", "websocket"},
		{"te", "gzip"},
		{"te", "trailers, gzip"},
	} {
		ks = append(ks, diffKnown{name: "request-" + f.name + "-" + strings.ReplaceAll(f.value, " ", ""),
			c:     diffCase{handler: diffEcho, client: diffR("GET", "/conn", nil, f.name, f.value)},
			check: diffCheckMalformedUnhandled})
	}

	// RFC 9113 §8.2.2: an HTTP/2 response must not carry connection-specific
	// fields. net/http drops only Connection and Transfer-Encoding (other
	// than "trailers") and sends Keep-Alive, Proxy-Connection and Upgrade;
	// h2server drops them all.
	ks = append(ks, diffKnown{name: "response-connection-specific-fields",
		c: diffCase{handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			h := w.Header()
			h.Set("Content-Type", textPlainUTF8)
			h.Set("Connection", "keep-alive, x-hop")
			h.Set("Keep-Alive", "timeout=5")
			h.Set("Proxy-Connection", "keep-alive")
			h.Set("Transfer-Encoding", "chunked")
			h.Set("Upgrade", "h2c")
			h.Set("X-Kept", "1")
			io.WriteString(w, "body")
		}, client: diffR("GET", "/resp-conn", nil)},
		check: func(t *testing.T, res diffResult, run *diffRun) {
			if res.Status != 200 || res.Err != "" || string(res.Body) != "body" {
				t.Errorf("status %d err %q body %q", res.Status, res.Err, res.Body)
			}
			for _, k := range []string{"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"} {
				if v, ok := res.Header[k]; ok {
					t.Errorf("connection-specific %s: %q sent", k, v)
				}
			}
			if v := diffWire(res.Header, "x-kept"); len(v) != 1 || v[0] != "1" {
				t.Errorf("X-Kept dropped: %v", res.Header)
			}
		}})

	// A body shorter than the handler's Content-Length: net/http ends the
	// stream as if the response were complete (a malformed response, RFC
	// 9113 §8.1.1); h2server resets the stream INTERNAL_ERROR, as
	// net/http's HTTP/1 server closes the connection, so that the cut is
	// not taken for a whole response. Buffered, nothing was sent yet.
	ks = append(ks, diffKnown{name: "content-length-short",
		c: diffCase{handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			w.Header().Set("Content-Length", "10")
			diffWriteNote(w, run, "short")
		}, client: diffR("GET", "/cl", nil)},
		check: func(t *testing.T, res diffResult, run *diffRun) {
			if res.Status != 0 || len(res.Body) != 0 || res.Err != "RST_STREAM INTERNAL_ERROR" {
				t.Errorf("status %d body %q err %q, want only RST_STREAM INTERNAL_ERROR", res.Status, res.Body, res.Err)
			}
			diffCheckNext(t, res)
		}})
	// The same after a Flush: what was flushed arrived, then the reset.
	ks = append(ks, diffKnown{name: "content-length-short-flushed",
		c: diffCase{handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			w.Header().Set("Content-Length", "10")
			diffWriteNote(w, run, "short")
			diffFlush(w, run)
		}, client: diffR("GET", "/cl", nil)},
		check: func(t *testing.T, res diffResult, run *diffRun) {
			if res.Status != 200 || string(res.Body) != "short" || res.Err != "RST_STREAM INTERNAL_ERROR" {
				t.Errorf("status %d body %q err %q, want 200, \"short\", then RST_STREAM INTERNAL_ERROR", res.Status, res.Body, res.Err)
			}
			if v := diffWire(res.Header, "content-length"); len(v) != 1 || v[0] != "10" {
				t.Errorf("content-length %q, want the handler's 10", v)
			}
			diffCheckNext(t, res)
		}})

	// Writing past the handler's Content-Length: net/http's HTTP/2 server
	// sends the excess (a malformed response); h2server refuses it with
	// http.ErrContentLength, as net/http's HTTP/1 server does.
	ks = append(ks, diffKnown{name: "content-length-long",
		c: diffCase{handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			w.Header().Set("Content-Length", "3")
			diffWriteNote(w, run, "abc")
			n, err := io.WriteString(w, "def")
			run.note("excess write: n=%d ErrContentLength=%v", n, errors.Is(err, http.ErrContentLength))
		}, client: diffR("GET", "/cl", nil)},
		check: func(t *testing.T, res diffResult, run *diffRun) {
			if res.Status != 200 || string(res.Body) != "abc" || res.Err != "" {
				t.Errorf("status %d body %q err %q, want 200 \"abc\"", res.Status, res.Body, res.Err)
			}
			if !slicesContains(res.Notes, "excess write: n=0 ErrContentLength=true") {
				t.Errorf("the excess Write did not fail with ErrContentLength: %q", res.Notes)
			}
			diffCheckNext(t, res)
		}})
	// One Write past it: refused whole, so the body is short: reset.
	ks = append(ks, diffKnown{name: "content-length-long-one-write",
		c: diffCase{handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			w.Header().Set("Content-Length", "3")
			n, err := io.WriteString(w, "abcdef")
			run.note("write: n=%d ErrContentLength=%v", n, errors.Is(err, http.ErrContentLength))
		}, client: diffR("GET", "/cl", nil)},
		check: func(t *testing.T, res diffResult, run *diffRun) {
			if !slicesContains(res.Notes, "write: n=0 ErrContentLength=true") {
				t.Errorf("the Write did not fail with ErrContentLength: %q", res.Notes)
			}
			if res.Err != "RST_STREAM INTERNAL_ERROR" || len(res.Body) != 0 {
				t.Errorf("body %q err %q, want RST_STREAM INTERNAL_ERROR", res.Body, res.Err)
			}
			diffCheckNext(t, res)
		}})

	// A request whose DATA fall short of its content-length is malformed
	// (RFC 9113 §8.1.1): h2server resets the stream PROTOCOL_ERROR;
	// net/http fails the handler's body read and sends its answer.
	ks = append(ks, diffKnown{name: "request-content-length-larger-than-data",
		c:     diffCase{handler: diffEcho, client: diffR("POST", "/cl", []byte("hello"), "content-length", "10")},
		check: func(t *testing.T, res diffResult, run *diffRun) { diffCheckMalformed(t, res) }})
	// An invalid content-length is malformed too: net/http takes it for 0,
	// runs the handler and resets at the first DATA; h2server resets
	// before running the handler.
	ks = append(ks, diffKnown{name: "request-content-length-invalid",
		c:     diffCase{handler: diffEcho, client: diffR("POST", "/cl", []byte("hello"), "content-length", "abc")},
		check: diffCheckMalformedUnhandled})

	// RFC 9113 §8.3.1: :path is the path and query of the target URI
	// (origin-form), or "*" for OPTIONS. net/http parses an absolute URI
	// there as HTTP/1 would; h2server rejects it (it would name a host
	// other than :authority) with a stream error PROTOCOL_ERROR.
	ks = append(ks, diffKnown{name: "request-path-absolute-uri",
		c:     diffCase{handler: diffEcho, client: diffR("GET", "http://other.example/abs", nil)},
		check: diffCheckMalformedUnhandled})

	// A HEAD response's body is discarded: h2server's Writes all succeed.
	// net/http's fail once its 4 KiB buffer has filled and the header
	// left ("http2: request body closed due to handler exiting"). Neither
	// sends a Content-Length then (h2server does up to its 8 KiB buffer,
	// as net/http up to its 4 KiB: TestDiff head-resp-100).
	ks = append(ks, diffKnown{name: "head-large-body-small-writes",
		c: diffCase{handler: diffWriteN(16<<10, 100, false), client: diffT(diffReq{method: "HEAD", path: "/dl"})},
		check: func(t *testing.T, res diffResult, run *diffRun) {
			if res.Status != 200 || len(res.Body) != 0 || res.Err != "" {
				t.Errorf("status %d body %s err %q, want 200 and no body", res.Status, diffFormatBody(res.Body), res.Err)
			}
			if v, ok := res.Header["Content-Length"]; ok {
				t.Errorf("Content-Length %q sent", v)
			}
			for _, n := range res.Notes {
				if strings.HasPrefix(n, "write error") {
					t.Errorf("the handler's Write failed: %s", n)
				}
			}
		}})

	// A response with trailers has no Content-Length from h2server (the
	// body ends with the trailers' END_STREAM); net/http adds one when the
	// handler returned before the body left. Both are valid (RFC 9110
	// §8.6); TestDiff ignores that field when the response declares
	// trailers.
	ks = append(ks, diffKnown{name: "no-content-length-with-trailers",
		c: diffCase{handler: func(w http.ResponseWriter, r *http.Request, run *diffRun) {
			w.Header().Set("Content-Type", textPlainUTF8)
			w.Header().Set("Trailer", "X-T")
			io.WriteString(w, "body")
			w.Header().Set("X-T", "v")
		}, client: diffR("GET", "/t", nil)},
		check: func(t *testing.T, res diffResult, run *diffRun) {
			if res.Status != 200 || string(res.Body) != "body" || res.Err != "" {
				t.Errorf("status %d body %q err %q", res.Status, res.Body, res.Err)
			}
			if v := diffWire(res.Header, "content-length"); v != nil {
				t.Errorf("content-length %q sent with trailers", v)
			}
			if v := diffWire(res.Trailer, "x-t"); len(v) != 1 || v[0] != "v" {
				t.Errorf("trailers %v, want x-t: v", res.Trailer)
			}
		}})
	return ks
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestDiffKnownDifferences asserts h2server's behaviour where it
// deliberately differs from net/http's HTTP/2 server; net/http's is
// logged for comparison.
func TestDiffKnownDifferences(t *testing.T) {
	for _, k := range diffKnownCases() {
		t.Run(k.name, func(t *testing.T) {
			c := k.c
			c.name = k.name
			std, _ := diffRunSide(t, c, "net/http")
			t.Logf("net/http:\n%s", std.String())
			h2, run := diffRunSide(t, c, "h2server")
			k.check(t, h2, run)
			if t.Failed() {
				t.Logf("h2server:\n%s", h2.String())
			}
		})
	}
}
