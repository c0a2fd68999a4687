package upstream

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// compareWithReadResponse reads raw (a response, maybe followed by more
// bytes) with readSimpleResponse and, when it takes the response, checks
// that http.ReadResponse reads the same response, body and all, and leaves
// the same bytes after it. It reports whether the fast path took it.
func compareWithReadResponse(t *testing.T, raw, method string) bool {
	t.Helper()
	req := &http.Request{Method: method}
	fastBR := bufio.NewReaderSize(strings.NewReader(raw), 4096)
	fastBR.Peek(1) // as the client does before reading a response
	simple, ok := readSimpleResponse(fastBR, req)
	if !ok {
		if n := fastBR.Buffered(); n != min(len(raw), 4096) {
			t.Errorf("declined but consumed bytes: %d buffered of %d\n%q", n, len(raw), raw)
		}
		return false
	}
	fast := &simple.Response
	stdBR := bufio.NewReaderSize(strings.NewReader(raw), 4096)
	std, err := http.ReadResponse(stdBR, req)
	if err != nil {
		t.Errorf("fast path took a response ReadResponse refuses (%v):\n%q", err, raw)
		return true
	}
	type view struct {
		Status                           string
		StatusCode, ProtoMajor, ProtoMin int
		Proto                            string
		Header, Trailer                  http.Header
		ContentLength                    int64
		Close, Uncompressed              bool
		TransferEncoding                 []string
		Body, Rest                       string
		BodyErr                          string
	}
	see := func(r *http.Response, br *bufio.Reader) view {
		b, err := io.ReadAll(r.Body)
		rest, _ := io.ReadAll(br)
		v := view{r.Status, r.StatusCode, r.ProtoMajor, r.ProtoMinor, r.Proto, r.Header, r.Trailer,
			r.ContentLength, r.Close, r.Uncompressed, r.TransferEncoding, string(b), string(rest), fmt.Sprint(err)}
		return v
	}
	if f, s := see(fast, fastBR), see(std, stdBR); !reflect.DeepEqual(f, s) {
		t.Errorf("differ on %q:\nfast %+v\nstd  %+v", raw, f, s)
	}
	return true
}

func TestReadSimpleResponse(t *testing.T) {
	const next = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	cases := []struct {
		name, raw, method string
		fast              bool
	}{
		{"plain", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello", "GET", true},
		{"pipelined", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" + next, "GET", true},
		{"empty body", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n" + next, "GET", true},
		{"no reason", "HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\nx", "GET", true},
		{"odd reason", "HTTP/1.1 503 Service Unavailable Now\r\nContent-Length: 1\r\n\r\nx", "POST", true},
		{"repeated fields", "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 1\r\n\r\nx", "GET", true},
		{"lower-case and white space", "HTTP/1.1 200 OK\r\ncontent-length:   3  \r\nx-a:\t v \t\r\nX-Empty:\r\n\r\nabc", "GET", true},
		{"underscore name", "HTTP/1.1 200 OK\r\nX_A: 1\r\nContent-Length: 1\r\n\r\nx", "GET", true},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "GET", true},
		{"599", "HTTP/1.1 599 Custom\r\nContent-Length: 1\r\n\r\nx", "GET", true},

		{"HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD", false},
		{"CONNECT", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "CONNECT", false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", "GET", false},
		{"100", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", "GET", false},
		{"101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", "GET", false},
		{"204", "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", "GET", false},
		{"304", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", "GET", false},
		{"600", "HTTP/1.1 600 X\r\nContent-Length: 1\r\n\r\nx", "GET", false},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", "GET", false},
		{"no length", "HTTP/1.1 200 OK\r\n\r\nuntil close", "GET", false},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", "GET", false},
		{"length list", "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx", "GET", false},
		{"signed length", "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx", "GET", false},
		{"Connection", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", "GET", false},
		{"Pragma", "HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 1\r\n\r\nx", "GET", false},
		{"Trailer", "HTTP/1.1 200 OK\r\nTrailer: X\r\nContent-Length: 1\r\n\r\nx", "GET", false},
		{"obs-fold", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 1\r\n\r\nx", "GET", false},
		{"space before colon", "HTTP/1.1 200 OK\r\nX-A : a\r\nContent-Length: 1\r\n\r\nx", "GET", false},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 1\n\nx", "GET", false},
		{"bare LF in the status line", "HTTP/1.1 400 \n\r\nContent-Length:0\r\n\r\n", "GET", false}, // found by FuzzReadSimpleResponse
		{"LF in a line", "HTTP/1.1 200 OK\r\nX-A: a\nb\r\nContent-Length: 1\r\n\r\nx", "GET", false},
		{"control character", "HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 1\r\n\r\nx", "GET", false},
		{"head not all buffered", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n", "GET", false},
		{"bad code", "HTTP/1.1 2x0 OK\r\nContent-Length: 1\r\n\r\nx", "GET", false},
		{"no space after code", "HTTP/1.1 200OK\r\nContent-Length: 1\r\n\r\nx", "GET", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := compareWithReadResponse(t, c.raw, c.method); got != c.fast {
				t.Errorf("fast path took it: %v, want %v", got, c.fast)
			}
		})
	}
}

// TestReadSimpleResponseRandom: random responses built from pieces the
// fast path takes and pieces it must leave to ReadResponse; whenever it
// takes one, the result is ReadResponse's.
func TestReadSimpleResponseRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 9))
	lines := []string{"HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 500 x", "HTTP/1.1 302 Found", "HTTP/1.0 200 OK", "HTTP/1.1 204 No Content", "HTTP/1.1 200"}
	fields := []string{"Content-Type: text/plain", "content-type:text/html", "X-A: 1", "x-a: 2", "Set-Cookie: a=b; Path=/",
		"X-Empty:", "X-Space:   padded   ", "X-Tab:\tt", "Date: Thu, 26 Nov 2026 14:00:00 GMT", "Connection: keep-alive",
		"Cache-Control: no-cache", "Pragma: no-cache", "X-Odd: a\x7fb", "Server: upstream", "ETag: \"v1\"", "Vary: Accept",
		"Transfer-Encoding: chunked", "Trailer: X-T", "Keep-Alive: timeout=5", "X_Under: u", "X-Utf8: é"}
	taken := 0
	for i := range 3000 {
		var b strings.Builder
		b.WriteString(lines[rng.IntN(len(lines))] + "\r\n")
		for range rng.IntN(7) {
			b.WriteString(fields[rng.IntN(len(fields))] + "\r\n")
		}
		body := strings.Repeat("b", rng.IntN(40))
		switch rng.IntN(5) {
		case 0: // no length
		case 1:
			b.WriteString(fmt.Sprintf("Content-Length: %d\r\n", len(body)+rng.IntN(3)))
		default:
			b.WriteString(fmt.Sprintf("Content-Length: %d\r\n", len(body)))
		}
		b.WriteString("\r\n" + body)
		if rng.IntN(2) == 0 {
			b.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		}
		method := []string{"GET", "POST", "HEAD"}[rng.IntN(3)]
		if compareWithReadResponse(t, b.String(), method) {
			taken++
		}
		if t.Failed() {
			t.Fatalf("case %d", i)
		}
	}
	if taken < 300 {
		t.Errorf("the fast path took %d of 3000 responses: the comparison proves little", taken)
	}
	t.Logf("fast path took %d of 3000", taken)
}

func FuzzReadSimpleResponse(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello", "GET")
	f.Add("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", "POST")
	f.Add("HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 1\r\n\r\nx", "GET")
	f.Fuzz(func(t *testing.T, raw, method string) {
		if method == "" {
			method = "GET"
		}
		compareWithReadResponse(t, raw, method)
	})
}

// BenchmarkReadSimpleResponse: the head of a typical upstream answer.
func BenchmarkReadSimpleResponse(b *testing.B) {
	raw := "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 1024\r\n" +
		"Date: Thu, 26 Nov 2026 19:30:00 GMT\r\nServer: upstream\r\n\r\n" + strings.Repeat("x", 1024)
	req := &http.Request{Method: http.MethodGet}
	r := strings.NewReader(raw)
	br := bufio.NewReaderSize(r, 4096)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(raw)
		br.Reset(r)
		br.Peek(1)
		if resp, ok := readSimpleResponse(br, req); !ok || resp.ContentLength != 1024 {
			b.Fatal("declined")
		}
	}
}
