package h1server

// Differential test: the same handler behind net/http's HTTP/1 server and
// behind h1server, the same raw bytes on a fresh TCP connection to each,
// and the two outcomes compared: the responses (status, headers but Date,
// de-chunked body, framing, trailers) and whether the server closed the
// connection.
//
// The deliberate differences are asserted on their own in
// TestDiffKnownDifferences: the request shapes Problem reports, the
// Content-Type sniffing that h1server does not do, and the Pragma:
// no-cache → Cache-Control request fix-up (the handler never echoes
// Cache-Control, so that one needs no table).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/testutil/logbuf"
)

const (
	// diffMaxHeaderBytes is the MaxHeaderBytes of both servers of the
	// differential test; a request head above diffHeadLimit is 431.
	diffMaxHeaderBytes = 8192
	diffHeadLimit      = diffMaxHeaderBytes + 4096

	textPlain = "text/plain; charset=utf-8"

	// Read deadlines of an exchange: the wait for the first byte of the
	// answer, and the quiet time after the last byte that ends it while
	// the connection stays open.
	firstByteWait = 1500 * time.Millisecond
	quietWait     = 400 * time.Millisecond
)

// bigBody is more than net/http's 4 KiB response buffer: the response is
// chunked unless the handler sets Content-Length.
var bigBody = func() []byte {
	b := make([]byte, 10000)
	for i := range b {
		b[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[i%36]
	}
	return b
}()

// diffHandler is the handler of both servers of the differential test.
func diffHandler(w http.ResponseWriter, r *http.Request) { serveDiff(w, r, false) }

// serveDiff echoes what the handler saw in response headers and then,
// depending on the path, exercises one response feature. wellFormed
// turns /abort, /cl-short and /nul, whose responses do not parse, into
// plain ones
// (the fuzz target wants every response complete and well-formed).
func serveDiff(w http.ResponseWriter, r *http.Request, wellFormed bool) {
	h := w.Header()
	if p := Problem(r); p != "" {
		h.Set("X-Problem", p)
		h.Set("X-Body-Nobody", strconv.FormatBool(r.Body == http.NoBody))
		h.Set("Connection", "close")
		http.Error(w, "refused", http.StatusBadRequest)
		return
	}
	path := r.URL.Path
	h.Set("X-Method", strconv.Quote(r.Method))
	h.Set("X-Url", strconv.Quote(r.URL.String()))
	h.Set("X-Path", strconv.Quote(r.URL.Path))
	h.Set("X-Raw-Query", strconv.Quote(r.URL.RawQuery))
	h.Set("X-Request-Uri", strconv.Quote(r.RequestURI))
	h.Set("X-Host", strconv.Quote(r.Host))
	h.Set("X-Proto", fmt.Sprintf("%q %d.%d", r.Proto, r.ProtoMajor, r.ProtoMinor))
	h.Set("X-Content-Length", strconv.FormatInt(r.ContentLength, 10))
	h.Set("X-Transfer-Encoding", strconv.Quote(strings.Join(r.TransferEncoding, ",")))
	h.Set("X-Close", strconv.FormatBool(r.Close))
	h.Set("X-Remote-Addr-Set", strconv.FormatBool(r.RemoteAddr != ""))
	h.Set("X-Body-Nobody", strconv.FormatBool(r.Body == http.NoBody))
	h.Set("X-Header-Count", strconv.Itoa(headerCount(r.Header)))
	h.Set("X-Headers", formatHeader(r.Header))
	h.Set("X-Trailer-Declared", formatKeys(r.Trailer))
	if !strings.HasPrefix(path, "/noread") {
		b, err := io.ReadAll(r.Body)
		h.Set("X-Body", formatBody(b))
		h.Set("X-Body-Err", strconv.FormatBool(err != nil))
		h.Set("X-Trailer", formatHeader(r.Trailer))
	}

	switch {
	case path == "/cl":
		h.Set("Content-Type", textPlain)
		h.Set("Content-Length", "11")
		io.WriteString(w, "hello world")
	case path == "/big":
		h.Set("Content-Type", textPlain)
		w.Write(bigBody)
	case path == "/flush":
		h.Set("Content-Type", textPlain)
		io.WriteString(w, "first;")
		w.(http.Flusher).Flush()
		io.WriteString(w, "second")
	case path == "/trailer":
		h.Set("Content-Type", textPlain)
		h.Set("Trailer", "X-T1")
		io.WriteString(w, "body with trailers")
		h.Set("X-T1", "v1")
		h.Set(http.TrailerPrefix+"X-T2", "v2")
	case path == "/204":
		h.Set("Content-Type", textPlain)
		w.WriteHeader(http.StatusNoContent)
		io.WriteString(w, "no body allowed")
	case path == "/304":
		h.Set("Content-Type", textPlain)
		h.Set("Etag", `"v1"`)
		w.WriteHeader(http.StatusNotModified)
		io.WriteString(w, "no body allowed")
	case path == "/103":
		h.Set("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		h.Set("Content-Type", textPlain)
		io.WriteString(w, "after early hints")
	case path == "/close":
		h.Set("Content-Type", textPlain)
		h.Set("Connection", "close")
		io.WriteString(w, "bye")
	case path == "/empty":
		// nothing written: 200 with an empty body
	case path == "/abort" && !wellFormed:
		h.Set("Content-Type", textPlain)
		w.Write(bigBody)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	case path == "/cl-short" && !wellFormed:
		// declares more than it writes: the response is cut short
		h.Set("Content-Type", textPlain)
		h.Set("Content-Length", "20")
		io.WriteString(w, "short")
	case path == "/cl-long":
		// writes more than it declares: the excess is refused
		h.Set("Content-Type", textPlain)
		h.Set("Content-Length", "3")
		io.WriteString(w, "abc")
		io.WriteString(w, "def")
	case path == "/evil":
		// response splitting attempts and invalid field names
		h.Set("Content-Type", textPlain)
		h.Set("X-Evil", "a\r\nInjected: 1")
		h.Set("X-Evil-Lf", "b\nInjected-Lf: 2")
		h["Bad Name"] = []string{"x"}
		io.WriteString(w, "evil")
	case path == "/nul" && !wellFormed:
		h.Set("Content-Type", textPlain)
		h["X-Nul"] = []string{"a\x00b"}
		io.WriteString(w, "nul")
	case path == "/multi":
		h.Set("Content-Type", textPlain)
		h.Add("Set-Cookie", "a=1")
		h.Add("Set-Cookie", "b=2")
		h["x-lower"] = []string{"v"}
		h["X-Empty"] = []string{""}
		io.WriteString(w, "multi")
	case path == "/explicit-te":
		// the handler frames nothing itself: the server chunks once
		h.Set("Content-Type", textPlain)
		h.Set("Transfer-Encoding", "chunked")
		io.WriteString(w, "explicit")
	case path == "/status299":
		h.Set("Content-Type", textPlain)
		w.WriteHeader(299)
		io.WriteString(w, "odd status")
	case path == "/twice":
		h.Set("Content-Type", textPlain)
		w.WriteHeader(http.StatusAccepted)
		w.WriteHeader(http.StatusNotFound) // superfluous: ignored
		io.WriteString(w, "accepted")
	case path == "/nosniff":
		// no Content-Type: net/http sniffs one, h1server does not
		io.WriteString(w, "<html><body>sniff me</body></html>")
	default:
		h.Set("Content-Type", textPlain)
		io.WriteString(w, "hello")
	}
}

// headerCount is len(h) but Cache-Control, which net/http adds to
// HTTP/1.0 requests that carry Pragma: no-cache.
func headerCount(h http.Header) int {
	n := len(h)
	if _, ok := h["Cache-Control"]; ok {
		n--
	}
	return n
}

// formatHeader renders h in one header-safe line, sorted, without
// Cache-Control; long values are hashed.
func formatHeader(h http.Header) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		if k != "Cache-Control" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(strconv.Quote(k))
		b.WriteString("=[")
		for i, v := range h[k] {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(formatBody([]byte(v)))
		}
		b.WriteString("] ")
	}
	return b.String()
}

func formatKeys(h http.Header) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strconv.Quote(strings.Join(keys, ","))
}

func formatBody(b []byte) string {
	if len(b) <= 64 {
		return strconv.Quote(string(b))
	}
	sum := sha256.Sum256(b)
	return fmt.Sprintf("len=%d sha256=%x", len(b), sum[:8])
}

// diffCase is a raw byte stream written on a fresh connection.
type diffCase struct {
	name string
	raw  string
	// methods are the methods of the requests in raw, in order, for
	// parsing their responses (HEAD has no body); missing ones are GET.
	methods []string
	// halfClose shuts the client's write side after raw is written.
	halfClose bool
	// stdRejects: (problemCases) net/http answers 400 itself and closes.
	stdRejects bool
}

// req builds a request head from its lines.
func req(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n\r\n" }

// headOfSize is a GET whose request line and header block (final CRLF
// included) are exactly n bytes.
func headOfSize(n int) string {
	const prefix = "GET /pad HTTP/1.1\r\nHost: h\r\nX-Pad: "
	const suffix = "\r\n\r\n"
	return prefix + strings.Repeat("p", n-len(prefix)-len(suffix)) + suffix
}

func manyHeaders(n int) string {
	var b strings.Builder
	b.WriteString("GET /many HTTP/1.1\r\nHost: h\r\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "X-H%03d: value-%d\r\n", i, i)
	}
	b.WriteString("\r\n")
	return b.String()
}

func postCL(path string, n int) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s", path, n, bytes.Repeat([]byte("b"), n))
}

const chunkedHead = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"

var diffCases = []diffCase{
	// plain requests
	{name: "get", raw: req("GET / HTTP/1.1", "Host: example.com")},
	{name: "get-query", raw: req("GET /a/b?x=1&y=%20z&&k HTTP/1.1", "Host: example.com", "User-Agent: t/1", "Accept: */*")},
	{name: "get-percent-encoding", raw: req("GET /a%2Fb/%7Euser/caf%C3%A9/%41 HTTP/1.1", "Host: h")},
	{name: "get-bad-percent-encoding", raw: req("GET /a%zz HTTP/1.1", "Host: h")},
	{name: "get-dot-segments", raw: req("GET //x/../y/./z HTTP/1.1", "Host: h")},
	{name: "get-fragment", raw: req("GET /a#frag HTTP/1.1", "Host: h")},
	{name: "get-space-in-target", raw: req("GET /a b HTTP/1.1", "Host: h")},
	{name: "get-target-no-slash", raw: req("GET foo HTTP/1.1", "Host: h")},
	{name: "get-asterisk", raw: req("GET * HTTP/1.1", "Host: h")},
	{name: "get-lowercase-method", raw: req("get / HTTP/1.1", "Host: h")},
	{name: "get-with-body", raw: "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody"},
	{name: "head", raw: req("HEAD / HTTP/1.1", "Host: h"), methods: []string{"HEAD"}},
	{name: "head-cl", raw: req("HEAD /cl HTTP/1.1", "Host: h"), methods: []string{"HEAD"}},
	{name: "head-big", raw: req("HEAD /big HTTP/1.1", "Host: h"), methods: []string{"HEAD"}},
	{name: "head-trailer", raw: req("HEAD /trailer HTTP/1.1", "Host: h"), methods: []string{"HEAD"}},
	{name: "options-asterisk", raw: req("OPTIONS * HTTP/1.1", "Host: h")},
	{name: "options-path", raw: req("OPTIONS /x HTTP/1.1", "Host: h")},
	{name: "connect-authority", raw: req("CONNECT h:443 HTTP/1.1", "Host: h:443"), methods: []string{"CONNECT"}},
	{name: "connect-path", raw: req("CONNECT /x HTTP/1.1", "Host: h"), methods: []string{"CONNECT"}},
	{name: "absolute-form-same-host", raw: req("GET http://h/x?q=1 HTTP/1.1", "Host: h")},
	{name: "absolute-form-https", raw: req("GET https://h:8443/x HTTP/1.1", "Host: h:8443")},
	{name: "absolute-form-no-host", raw: req("GET http://h/x HTTP/1.1")},

	// bodies
	{name: "post-cl", raw: "POST /cl HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"},
	{name: "post-cl-zero", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"},
	{name: "post-cl-whitespace", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:   5 \t\r\n\r\nhello"},
	{name: "post-cl-invalid-1a", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1a\r\n\r\nx"},
	{name: "post-cl-negative", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\nx"},
	{name: "post-cl-plus", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\nhello"},
	{name: "post-cl-huge", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\nx"},
	{name: "post-cl-empty", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n"},
	{name: "post-cl-list", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\nhello"},
	{name: "post-chunked", raw: chunkedHead + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"},
	{name: "post-chunked-extensions", raw: chunkedHead + "5;foo=bar\r\nhello\r\n6;a=\"b;c\"\r\n world\r\n0;last\r\n\r\n"},
	{name: "post-chunked-trailers", raw: "POST / HTTP/1.1\r\nHost: h\r\nTrailer: X-Tr\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Tr: v1\r\nX-Other: v2\r\n\r\n"},
	{name: "post-chunked-trailer-declares-content-length", raw: "POST / HTTP/1.1\r\nHost: h\r\nTrailer: Content-Length\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n"},
	{name: "post-chunked-trailer-undeclared-framing-fields", raw: chunkedHead + "5\r\nhello\r\n0\r\nContent-Length: 99\r\nTransfer-Encoding: gzip\r\nHost: evil\r\n\r\n" + req("GET /after HTTP/1.1", "Host: h")},
	{name: "post-chunked-uppercase-hex", raw: chunkedHead + "A\r\n0123456789\r\n0\r\n\r\n"},
	{name: "post-chunked-leading-zeros", raw: chunkedHead + "0005\r\nhello\r\n0000\r\n\r\n"},
	{name: "post-chunked-size-trailing-space", raw: chunkedHead + "5 \r\nhello\r\n0\r\n\r\n"},
	{name: "post-chunked-truncated-halfclose", raw: chunkedHead + "5\r\nhel", halfClose: true},
	{name: "post-chunked-pipelined", raw: chunkedHead + "3\r\nabc\r\n0\r\n\r\n" + req("GET /after HTTP/1.1", "Host: h")},
	{name: "te-chunked-mixed-case", raw: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ChUnKeD\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	{name: "te-gzip", raw: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\nxxxx"},
	{name: "te-gzip-chunked", raw: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	{name: "te-identity", raw: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n"},
	{name: "te-two-headers", raw: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	{name: "te-chunked-http10", raw: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},

	// pipelining and connection management
	{name: "pipelined-gets", raw: req("GET /1 HTTP/1.1", "Host: h") + req("GET /cl HTTP/1.1", "Host: h") + req("GET /big HTTP/1.1", "Host: h")},
	{name: "pipelined-mixed", raw: "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc" + req("HEAD /cl HTTP/1.1", "Host: h") + req("GET /flush HTTP/1.1", "Host: h"), methods: []string{"POST", "HEAD", "GET"}},
	{name: "pipelined-after-connection-close", raw: req("GET /a HTTP/1.1", "Host: h", "Connection: close") + req("GET /b HTTP/1.1", "Host: h")},
	{name: "pipelined-after-response-close", raw: req("GET /close HTTP/1.1", "Host: h") + req("GET /b HTTP/1.1", "Host: h")},
	{name: "connection-close", raw: req("GET / HTTP/1.1", "Host: h", "Connection: close")},
	{name: "connection-token-list", raw: req("GET / HTTP/1.1", "Host: h", "Connection: keep-alive, Close")},
	{name: "connection-upgrade-ignored", raw: req("GET / HTTP/1.1", "Host: h", "Connection: Upgrade", "Upgrade: websocket")},
	{name: "http10", raw: "GET / HTTP/1.0\r\n\r\n"},
	{name: "http10-host", raw: req("GET / HTTP/1.0", "Host: h")},
	{name: "http10-keep-alive", raw: req("GET / HTTP/1.0", "Connection: keep-alive")},
	{name: "http10-keep-alive-pipelined", raw: req("GET /1 HTTP/1.0", "Connection: keep-alive") + req("GET /2 HTTP/1.0", "Connection: keep-alive") + req("GET /3 HTTP/1.0")},
	{name: "http10-keep-alive-big", raw: req("GET /big HTTP/1.0", "Connection: keep-alive")},
	{name: "http10-flush", raw: req("GET /flush HTTP/1.0", "Connection: keep-alive")},
	{name: "http10-trailer", raw: req("GET /trailer HTTP/1.0", "Connection: keep-alive")},
	{name: "http10-pragma-no-cache", raw: req("GET / HTTP/1.0", "Pragma: no-cache")},
	{name: "http10-post", raw: "POST / HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello"},
	{name: "http12", raw: req("GET / HTTP/1.2", "Host: h")},
	{name: "http20", raw: req("GET / HTTP/2.0", "Host: h")},
	{name: "http09", raw: req("GET / HTTP/0.9", "Host: h")},
	{name: "http-2digit-minor", raw: req("GET / HTTP/1.10", "Host: h")},
	{name: "http-lowercase", raw: req("GET / http/1.1", "Host: h")},
	{name: "http-garbage-version", raw: req("GET / FOO/1.1", "Host: h")},

	// request line
	{name: "request-line-two-parts", raw: req("GET /", "Host: h")},
	{name: "request-line-double-space", raw: req("GET  / HTTP/1.1", "Host: h")},
	{name: "request-line-trailing-space", raw: req("GET / HTTP/1.1 ", "Host: h")},
	{name: "request-line-tabs", raw: req("GET\t/\tHTTP/1.1", "Host: h")},
	{name: "request-line-bad-method", raw: req("G(T / HTTP/1.1", "Host: h")},
	{name: "request-line-empty-method", raw: req(" / HTTP/1.1", "Host: h")},
	{name: "crlf-after-post-body", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok\r\n" + req("GET /next HTTP/1.1", "Host: h")},
	{name: "incomplete-head-halfclose", raw: "GET / HTTP/1.1\r\nHost: h\r\n", halfClose: true},
	{name: "nothing-halfclose", raw: "", halfClose: true},

	// Host
	{name: "host-missing", raw: req("GET / HTTP/1.1", "User-Agent: x")},
	{name: "host-empty", raw: req("GET / HTTP/1.1", "Host:")},
	{name: "host-two", raw: req("GET / HTTP/1.1", "Host: a", "Host: b")},
	{name: "host-two-equal", raw: req("GET / HTTP/1.1", "Host: a", "Host: a")},
	{name: "host-with-space", raw: req("GET / HTTP/1.1", "Host: a b")},
	{name: "host-control-char", raw: req("GET / HTTP/1.1", "Host: a\x01b")},
	{name: "host-ipv6-port", raw: req("GET / HTTP/1.1", "Host: [::1]:8080")},
	{name: "host-userinfo", raw: req("GET / HTTP/1.1", "Host: u@h")},
	{name: "host-lowercase-name", raw: req("GET / HTTP/1.1", "host: h")},

	// header syntax
	{name: "bare-lf-head", raw: "GET / HTTP/1.1\nHost: h\nX-A: b\n\n"},
	{name: "mixed-line-endings", raw: "GET / HTTP/1.1\r\nHost: h\nX-A: b\r\n\n"},
	{name: "header-value-cr", raw: req("GET / HTTP/1.1", "Host: h", "X-A: a\rb")},
	{name: "header-value-nul", raw: req("GET / HTTP/1.1", "Host: h", "X-A: a\x00b")},
	{name: "header-value-tab-inside", raw: req("GET / HTTP/1.1", "Host: h", "X-A: a\tb")},
	{name: "header-value-obs-text", raw: req("GET / HTTP/1.1", "Host: h", "X-A: caf\xc3\xa9 \xff")},
	{name: "header-value-surrounding-ws", raw: req("GET / HTTP/1.1", "Host: h", "X-A: \t v  w \t")},
	{name: "header-value-empty", raw: req("GET / HTTP/1.1", "Host: h", "X-Empty:")},
	{name: "header-repeated", raw: req("GET / HTTP/1.1", "Host: h", "X-A: 1", "x-a: 2", "X-A: 3")},
	{name: "header-name-space-before-colon", raw: req("GET / HTTP/1.1", "Host: h", "X-A : b")},
	{name: "header-name-tab-before-colon", raw: req("GET / HTTP/1.1", "Host: h", "X-A\t: b")},
	{name: "header-no-colon", raw: req("GET / HTTP/1.1", "Host: h", "NoColon")},
	{name: "header-empty-name", raw: req("GET / HTTP/1.1", "Host: h", ": v")},
	{name: "header-name-non-token", raw: req("GET / HTTP/1.1", "Host: h", "X@A: 1")},
	{name: "header-name-underscore", raw: req("GET / HTTP/1.1", "Host: h", "X_Foo: 1")},
	{name: "header-first-line-leading-space", raw: req("GET / HTTP/1.1", " Host: h", "X-A: 1")},
	{name: "header-long-line", raw: req("GET / HTTP/1.1", "Host: h", "X-Long: "+strings.Repeat("L", 6000))},
	{name: "header-many", raw: manyHeaders(200)},
	{name: "head-at-limit", raw: headOfSize(diffHeadLimit)},
	{name: "head-over-limit", raw: headOfSize(diffHeadLimit + 1)},
	{name: "head-far-over-limit", raw: headOfSize(3 * diffHeadLimit)},
	// net/http counts only the bytes it reads from the socket for a request
	// after the first: a head just over the limit can pass when pipelined.
	{name: "head-over-limit-second-request", raw: req("GET /first HTTP/1.1", "Host: h") + headOfSize(2*diffHeadLimit)},

	// Expect
	{name: "expect-100-read", raw: "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello"},
	{name: "expect-100-mixed-case", raw: "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\nhello"},
	{name: "expect-100-noread", raw: "POST /noread HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello"},
	{name: "expect-100-chunked", raw: "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	{name: "expect-100-cl-zero", raw: "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n"},
	{name: "expect-100-http10", raw: "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello"},
	{name: "expect-other", raw: "POST / HTTP/1.1\r\nHost: h\r\nExpect: something-else\r\nContent-Length: 5\r\n\r\nhello"},

	// response features
	{name: "resp-cl", raw: req("GET /cl HTTP/1.1", "Host: h")},
	{name: "resp-computed-cl", raw: req("GET /small HTTP/1.1", "Host: h")},
	{name: "resp-empty", raw: req("GET /empty HTTP/1.1", "Host: h")},
	{name: "resp-big-chunked", raw: req("GET /big HTTP/1.1", "Host: h")},
	{name: "resp-flush", raw: req("GET /flush HTTP/1.1", "Host: h")},
	{name: "resp-trailers", raw: req("GET /trailer HTTP/1.1", "Host: h")},
	{name: "resp-204", raw: req("GET /204 HTTP/1.1", "Host: h") + req("GET /after HTTP/1.1", "Host: h")},
	{name: "resp-304", raw: req("GET /304 HTTP/1.1", "Host: h") + req("GET /after HTTP/1.1", "Host: h")},
	{name: "resp-103", raw: req("GET /103 HTTP/1.1", "Host: h")},
	{name: "resp-connection-close", raw: req("GET /close HTTP/1.1", "Host: h")},
	{name: "resp-noread-small", raw: postCL("/noread", 100) + req("GET /after HTTP/1.1", "Host: h")},
	{name: "resp-noread-chunked", raw: "POST /noread HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + req("GET /after HTTP/1.1", "Host: h")},
	{name: "resp-noread-large", raw: postCL("/noread", 300<<10) + req("GET /after HTTP/1.1", "Host: h")},
	{name: "resp-cl-short", raw: req("GET /cl-short HTTP/1.1", "Host: h") + req("GET /after HTTP/1.1", "Host: h")},
	{name: "resp-cl-long", raw: req("GET /cl-long HTTP/1.1", "Host: h") + req("GET /after HTTP/1.1", "Host: h")},
	{name: "resp-header-injection", raw: req("GET /evil HTTP/1.1", "Host: h")},
	{name: "resp-header-nul", raw: req("GET /nul HTTP/1.1", "Host: h")},
	{name: "resp-multi-values", raw: req("GET /multi HTTP/1.1", "Host: h")},
	{name: "resp-explicit-te-chunked", raw: req("GET /explicit-te HTTP/1.1", "Host: h")},
	{name: "resp-status-299", raw: req("GET /status299 HTTP/1.1", "Host: h")},
	{name: "resp-superfluous-writeheader", raw: req("GET /twice HTTP/1.1", "Host: h")},
	{name: "resp-abort", raw: req("GET /abort HTTP/1.1", "Host: h") + req("GET /after HTTP/1.1", "Host: h")},
}

// wireResult is what one exchange got back.
type wireResult struct {
	raw []byte
	end string // "eof", "reset", "open" (quiet deadline) or another read error
}

func (w wireResult) closed() bool { return w.end == "eof" || w.end == "reset" }

// exchange writes in on a fresh connection to addr and reads until the
// server closes or stays quiet.
func exchange(t testing.TB, addr, in string, halfClose bool) wireResult {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, in); err != nil {
			return // the server may close before reading everything
		}
		if halfClose {
			c.(*net.TCPConn).CloseWrite()
		}
	}()
	var res wireResult
	buf := make([]byte, 64<<10)
	c.SetReadDeadline(time.Now().Add(firstByteWait))
	for {
		n, err := c.Read(buf)
		if n > 0 {
			res.raw = append(res.raw, buf[:n]...)
			c.SetReadDeadline(time.Now().Add(quietWait))
		}
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, io.EOF):
				res.end = "eof"
			case errors.Is(err, syscall.ECONNRESET):
				res.end = "reset"
			case errors.As(err, &ne) && ne.Timeout():
				res.end = "open"
			default:
				res.end = err.Error()
			}
			break
		}
	}
	c.Close()
	<-wrote
	return res
}

// parsedResp is one response of an exchange, as compared.
type parsedResp struct {
	Proto   string
	Code    int
	Header  http.Header // without Date
	Framing string      // Transfer-Encoding and ContentLength as parsed
	Close   bool        // Connection: close (ReadResponse drops the header)
	Body    string
	BodyErr string
	Trailer http.Header
}

// outcome is an exchange as compared.
type outcome struct {
	Resps    []parsedResp
	ParseErr string // the error that stopped parsing, with what was left
	Closed   bool
}

// parseResponses reads the responses in raw, one per request of methods
// (1xx but 101 do not count).
func parseResponses(raw []byte, methods []string) (resps []parsedResp, parseErr string) {
	br := bufio.NewReader(bytes.NewReader(raw))
	for i := 0; ; {
		if _, err := br.Peek(1); err != nil {
			return resps, ""
		}
		method := "GET"
		if i < len(methods) {
			method = methods[i]
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			// what is left holds a Date: the raw bytes are in the report
			return resps, err.Error()
		}
		body, err := io.ReadAll(resp.Body)
		p := parsedResp{
			Proto:   resp.Proto,
			Code:    resp.StatusCode,
			Header:  resp.Header.Clone(),
			Framing: fmt.Sprintf("te=%q cl=%d", resp.TransferEncoding, resp.ContentLength),
			Close:   resp.Close,
			Body:    string(body),
			Trailer: resp.Trailer,
		}
		p.Header.Del("Date")
		if err != nil {
			p.BodyErr = err.Error()
		}
		resps = append(resps, p)
		if err != nil {
			return resps, ""
		}
		if resp.StatusCode/100 != 1 || resp.StatusCode == http.StatusSwitchingProtocols {
			i++
		}
	}
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

func toOutcome(w wireResult, methods []string) outcome {
	resps, perr := parseResponses(w.raw, methods)
	return outcome{Resps: resps, ParseErr: perr, Closed: w.closed()}
}

// diffOutcomes lists the differences between a (net/http) and b
// (h1server).
func diffOutcomes(a, b outcome) []string {
	var d []string
	if a.Closed != b.Closed {
		d = append(d, fmt.Sprintf("closed: net/http %v, h1server %v", a.Closed, b.Closed))
	}
	if a.ParseErr != b.ParseErr {
		d = append(d, fmt.Sprintf("parse error: net/http %q, h1server %q", a.ParseErr, b.ParseErr))
	}
	if len(a.Resps) != len(b.Resps) {
		d = append(d, fmt.Sprintf("responses: net/http %d, h1server %d", len(a.Resps), len(b.Resps)))
	}
	for i := 0; i < len(a.Resps) && i < len(b.Resps); i++ {
		ra, rb := a.Resps[i], b.Resps[i]
		f := func(field string, x, y any) {
			if !reflect.DeepEqual(x, y) {
				d = append(d, fmt.Sprintf("response %d %s: net/http %v, h1server %v", i, field, x, y))
			}
		}
		f("proto", ra.Proto, rb.Proto)
		f("status", ra.Code, rb.Code)
		f("framing", ra.Framing, rb.Framing)
		f("close", ra.Close, rb.Close)
		f("body", strconv.Quote(ra.Body), strconv.Quote(rb.Body))
		f("body error", ra.BodyErr, rb.BodyErr)
		f("trailer", ra.Trailer, rb.Trailer)
		keys := map[string]bool{}
		for k := range ra.Header {
			keys[k] = true
		}
		for k := range rb.Header {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			f("header "+k, ra.Header[k], rb.Header[k])
		}
	}
	return d
}

// diffServers are the two servers of the differential test.
type diffServers struct {
	std, h1 string // addresses
	h1Log   *logbuf.Buffer
}

func listenLocal(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func startDiffServers(t *testing.T, handler http.Handler) *diffServers {
	t.Helper()
	ds := &diffServers{h1Log: &logbuf.Buffer{}}

	stdL := listenLocal(t)
	std := &http.Server{
		Handler:        handler,
		MaxHeaderBytes: diffMaxHeaderBytes,
		ErrorLog:       log.New(io.Discard, "", 0),
	}
	stdDone := make(chan struct{})
	go func() { defer close(stdDone); std.Serve(stdL) }()
	ds.std = stdL.Addr().String()

	h1L := listenLocal(t)
	h1 := &Server{
		Handler:        handler,
		MaxHeaderBytes: diffMaxHeaderBytes,
		ErrorLog:       log.New(ds.h1Log, "h1server: ", 0),
	}
	h1Done := make(chan struct{})
	go func() { defer close(h1Done); h1.Serve(h1L) }()
	ds.h1 = h1L.Addr().String()

	t.Cleanup(func() {
		std.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := h1.Shutdown(ctx); err != nil {
			t.Errorf("h1server Shutdown: %v", err)
		}
		h1L.Close()
		for name, done := range map[string]chan struct{}{"net/http": stdDone, "h1server": h1Done} {
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				t.Errorf("%s Serve did not return", name)
			}
		}
		if t.Failed() {
			t.Logf("h1server ErrorLog:\n%s", ds.h1Log.String())
		}
	})
	return ds
}

// run sends c to both servers at once.
func (ds *diffServers) run(t testing.TB, c diffCase) (std, h1 wireResult) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); std = exchange(t, ds.std, c.raw, c.halfClose) }()
	go func() { defer wg.Done(); h1 = exchange(t, ds.h1, c.raw, c.halfClose) }()
	wg.Wait()
	return std, h1
}

// runAll runs the cases concurrently (many more at once than t.Parallel
// allows on a small machine: most of an exchange is waiting) and returns
// the results in order.
func (ds *diffServers) runAll(t testing.TB, cases []diffCase) (std, h1 []wireResult) {
	std, h1 = make([]wireResult, len(cases)), make([]wireResult, len(cases))
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			std[i], h1[i] = ds.run(t, c)
		}()
	}
	wg.Wait()
	return std, h1
}

func TestDiff(t *testing.T) {
	ds := startDiffServers(t, http.HandlerFunc(diffHandler))
	seen := map[string]bool{}
	for _, c := range diffCases {
		if seen[c.name] {
			t.Fatalf("duplicate case name %q", c.name)
		}
		seen[c.name] = true
	}
	stdWs, h1Ws := ds.runAll(t, diffCases)
	for i, c := range diffCases {
		t.Run(c.name, func(t *testing.T) {
			stdW, h1W := stdWs[i], h1Ws[i]
			std, h1 := toOutcome(stdW, c.methods), toOutcome(h1W, c.methods)
			if len(std.Resps) == 0 && !std.Closed && std.ParseErr == "" {
				// Every case gets an answer or a close from net/http;
				// if not, the case (or the harness) is broken.
				t.Errorf("net/http neither answered nor closed: the case proves nothing")
			}
			t.Logf("net/http: %s; h1server: %s", summarize(std), summarize(h1))
			if d := diffOutcomes(std, h1); len(d) > 0 {
				t.Errorf("net/http and h1server differ:\n  %s\nrequest bytes:  %s\nnet/http bytes (%s): %s\nh1server bytes (%s): %s",
					strings.Join(d, "\n  "), quoteTrunc(c.raw), stdW.end, quoteTrunc(string(stdW.raw)), h1W.end, quoteTrunc(string(h1W.raw)))
			}
		})
	}
}

// summarize is a one-line account of an outcome for -v logs.
func summarize(o outcome) string {
	var parts []string
	for _, r := range o.Resps {
		p := strconv.Itoa(r.Code)
		if r.Header.Get("X-Method") == "" {
			p += "(server)"
		}
		if r.BodyErr != "" {
			p += "(truncated)"
		}
		parts = append(parts, p)
	}
	if o.ParseErr != "" {
		parts = append(parts, "parse-error")
	}
	if o.Closed {
		parts = append(parts, "closed")
	} else {
		parts = append(parts, "open")
	}
	return strings.Join(parts, " ")
}

func quoteTrunc(s string) string {
	if len(s) > 1500 {
		return strconv.Quote(s[:1500]) + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return strconv.Quote(s)
}

// problemCases are request shapes that h1server hands to the handler with
// Problem set, and net/http accepts (but for stdRejects); each is followed
// by a request that must never be read.
var problemCases = []diffCase{
	{name: "cl-repeated-differing", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!" + req("GET /smuggled HTTP/1.1", "Host: h"), stdRejects: true},
	{name: "obs-fold", raw: req("GET /fold HTTP/1.1", "Host: h", "X-A: a", " continued") + req("GET /smuggled HTTP/1.1", "Host: h")},
	{name: "obs-fold-tab", raw: req("GET /fold HTTP/1.1", "Host: h", "X-A: a", "\tcontinued") + req("GET /smuggled HTTP/1.1", "Host: h")},
	{name: "cl-and-te", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + req("GET /smuggled HTTP/1.1", "Host: h")},
	{name: "te-and-cl", raw: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n" + req("GET /smuggled HTTP/1.1", "Host: h")},
	{name: "cl-repeated-equal", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello" + req("GET /smuggled HTTP/1.1", "Host: h")},
	{name: "absolute-form-other-authority", raw: req("GET http://other.example/x HTTP/1.1", "Host: h") + req("GET /smuggled HTTP/1.1", "Host: h")},
	// A chunked body whose part received with the head is malformed:
	// net/http runs the handler, whose body read fails.
	{name: "post-chunked-trailer-obs-fold", raw: chunkedHead + "5\r\nhello\r\n0\r\nX-T: a\r\n b\r\n\r\n" + req("GET /smuggled HTTP/1.1", "Host: h")},
	{name: "post-chunked-trailer-no-colon", raw: chunkedHead + "5\r\nhello\r\n0\r\nNoColon\r\n\r\n" + req("GET /smuggled HTTP/1.1", "Host: h")},
	{name: "post-chunked-bad-size", raw: chunkedHead + "zz\r\nhello\r\n0\r\n\r\n" + req("GET /smuggled HTTP/1.1", "Host: h")},
	{name: "post-chunked-empty-size", raw: chunkedHead + "\r\nhello\r\n0\r\n\r\n" + req("GET /smuggled HTTP/1.1", "Host: h")},
	{name: "post-chunked-size-overflow", raw: chunkedHead + "fffffffffffffffff1\r\nhello\r\n0\r\n\r\n" + req("GET /smuggled HTTP/1.1", "Host: h")},
	{name: "post-chunked-missing-crlf-after-data", raw: chunkedHead + "5\r\nhelloXX0\r\n\r\n" + req("GET /smuggled HTTP/1.1", "Host: h")},
	{name: "post-chunked-bare-lf", raw: chunkedHead + "5\nhello\n0\n\n" + req("GET /smuggled HTTP/1.1", "Host: h")},
}

// deliberateCases are where h1server answers differently from net/http on
// purpose (docs/security.md, "How the HTTP/1 framing checks work"): what
// h1server answers, and why.
var deliberateCases = []struct {
	c      diffCase
	status int  // h1server's (only) response
	close  bool // with Connection: close, and the connection closed
	why    string
}{
	{diffCase{name: "leading-crlf", raw: "\r\n" + req("GET / HTTP/1.1", "Host: h")}, 200, false,
		"RFC 9112 §2.2: an empty line before a request line is ignored (net/http: 400 unless after a POST)"},
	{diffCase{name: "leading-lf", raw: "\n" + req("GET / HTTP/1.1", "Host: h")}, 200, false, "as leading-crlf"},
	{diffCase{name: "h2-preface", raw: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"}, 505, true,
		"HTTP/2 never reaches the HTTP/1 server (the gateway sends the preface to Go's HTTP/2 server); net/http hands it to the handler"},
	{diffCase{name: "expect-100-noread-no-body-sent", raw: "POST /noread HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"}, 200, true,
		"the body was never asked for: closed at once (net/http says close, then waits)"},
	{diffCase{name: "post-cl-short-body-halfclose", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhello", halfClose: true}, 200, true,
		"the body ended early: the response says Connection: close (net/http closes without saying so)"},
}

func TestDiffKnownDifferences(t *testing.T) {
	ds := startDiffServers(t, http.HandlerFunc(diffHandler))
	for _, d := range deliberateCases {
		t.Run("deliberate/"+d.c.name, func(t *testing.T) {
			stdW, h1W := ds.run(t, d.c)
			std, h1 := toOutcome(stdW, d.c.methods), toOutcome(h1W, d.c.methods)
			dump := fmt.Sprintf("why: %s\nnet/http (%s): %s\nh1server (%s): %s", d.why, stdW.end, quoteTrunc(string(stdW.raw)), h1W.end, quoteTrunc(string(h1W.raw)))
			if len(diffOutcomes(std, h1)) == 0 {
				t.Errorf("no difference left: move the case back to TestDiff\n%s", dump)
			}
			if len(h1.Resps) != 1 || h1.Resps[0].Code != d.status {
				t.Fatalf("h1server: want one %d response\n%s", d.status, dump)
			}
			if h1.Resps[0].Close != d.close || h1.Closed != d.close {
				t.Errorf("h1server: Connection: close %v, closed %v; want %v\n%s", h1.Resps[0].Close, h1.Closed, d.close, dump)
			}
		})
	}
	stdWs, h1Ws := ds.runAll(t, problemCases)
	for i, c := range problemCases {
		t.Run("problem/"+c.name, func(t *testing.T) {
			stdW, h1W := stdWs[i], h1Ws[i]
			std, h1 := toOutcome(stdW, c.methods), toOutcome(h1W, c.methods)
			dump := fmt.Sprintf("request: %s\nnet/http (%s): %s\nh1server (%s): %s", quoteTrunc(c.raw), stdW.end, quoteTrunc(string(stdW.raw)), h1W.end, quoteTrunc(string(h1W.raw)))

			switch {
			case c.stdRejects:
				// net/http answers 400 without the handler, and closes.
				if len(std.Resps) != 1 || std.Resps[0].Code != http.StatusBadRequest || std.Resps[0].Header.Get("X-Method") != "" || !std.Closed {
					t.Errorf("net/http: want its own 400 and a close\n%s", dump)
				}
			default:
				// net/http accepts the request: the handler answers it.
				if len(std.Resps) == 0 || std.Resps[0].Code != http.StatusOK || std.Resps[0].Header.Get("X-Problem") != "" {
					t.Errorf("net/http: want the handler's 200 first\n%s", dump)
				}
			}
			// h1server: the handler sees Problem and no body, answers
			// 400, and nothing after the request is read.
			if len(h1.Resps) != 1 {
				t.Fatalf("h1server: %d responses (parse error %q), want exactly 1\n%s", len(h1.Resps), h1.ParseErr, dump)
			}
			r := h1.Resps[0]
			if r.Code != http.StatusBadRequest {
				t.Errorf("h1server: status %d, want 400\n%s", r.Code, dump)
			}
			if r.Header.Get("X-Problem") == "" {
				t.Errorf("h1server: handler did not see Problem(r)\n%s", dump)
			}
			if got := r.Header.Get("X-Body-Nobody"); got != "true" {
				t.Errorf("h1server: Body == http.NoBody is %q, want true\n%s", got, dump)
			}
			if !r.Close {
				t.Errorf("h1server: no Connection: close\n%s", dump)
			}
			if !h1.Closed {
				t.Errorf("h1server: connection left open (%s)\n%s", h1W.end, dump)
			}
			if h1.ParseErr != "" {
				t.Errorf("h1server: parse error %s\n%s", h1.ParseErr, dump)
			}
		})
	}

	t.Run("no-content-sniffing", func(t *testing.T) {
		c := diffCase{raw: req("GET /nosniff HTTP/1.1", "Host: h")}
		stdW, h1W := ds.run(t, c)
		std, h1 := toOutcome(stdW, nil), toOutcome(h1W, nil)
		dump := fmt.Sprintf("net/http: %q\nh1server: %q", stdW.raw, h1W.raw)
		if len(std.Resps) != 1 || len(h1.Resps) != 1 {
			t.Fatalf("want one response from each\n%s", dump)
		}
		if got := std.Resps[0].Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
			t.Errorf("net/http Content-Type %q, want the sniffed text/html; charset=utf-8", got)
		}
		if got, ok := h1.Resps[0].Header["Content-Type"]; ok {
			t.Errorf("h1server Content-Type %q, want none (no sniffing)", got)
		}
		std.Resps[0].Header.Del("Content-Type")
		if d := diffOutcomes(std, h1); len(d) > 0 {
			t.Errorf("differ beyond Content-Type:\n  %s\n%s", strings.Join(d, "\n  "), dump)
		}
	})
}

// TestDiffHarness checks that the comparison can fail: two different
// byte streams must differ.
func TestDiffHarness(t *testing.T) {
	a := toOutcome(wireResult{raw: []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), end: "open"}, nil)
	b := toOutcome(wireResult{raw: []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"), end: "eof"}, nil)
	d := diffOutcomes(a, b)
	if len(d) != 3 { // closed, framing, Content-Length header
		t.Errorf("diffOutcomes found %d differences, want 3: %q", len(d), d)
	}
	c := toOutcome(wireResult{raw: []byte("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"), end: "open"}, nil)
	if d := diffOutcomes(a, c); len(d) != 1 {
		t.Errorf("Connection: close not compared: %q", d)
	}
	if d := diffOutcomes(a, a); len(d) != 0 {
		t.Errorf("an outcome differs from itself: %q", d)
	}
	head := toOutcome(wireResult{raw: []byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")}, []string{"HEAD", "GET"})
	if len(head.Resps) != 2 || head.Resps[1].Code != 204 {
		t.Errorf("HEAD response parsing: %+v", head)
	}
	if n := len(headOfSize(1000)); n != 1000 {
		t.Errorf("headOfSize(1000) is %d bytes", n)
	}
}
