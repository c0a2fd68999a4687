package gateway

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
)

// followStream feeds stream to a rawConn's framing follower in pieces of
// random sizes (1 to max bytes) and returns what it queued.
func followStream(stream string, max int, rng *rand.Rand) (*rawConn, []*message) {
	c1, c2 := net.Pipe()
	c1.Close()
	c2.Close()
	rc := newRawConn(c1)
	b := []byte(stream)
	for len(b) > 0 {
		n := 1 + rng.IntN(max)
		if n > len(b) {
			n = len(b)
		}
		rc.mu.Lock()
		rc.f.feed(b[:n])
		rc.mu.Unlock()
		b = b[n:]
	}
	return rc, rc.queue
}

// TestFramingFollowsGo: on streams of well-formed pipelined requests —
// Content-Length and chunked bodies (with extensions and trailers) whose
// bytes look like requests, HTTP/1.0, leading empty lines after a POST —
// fed in pieces of every size, the follower finds exactly the requests
// Go's parser reads, in order, none of them refused, all complete.
func TestFramingFollowsGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fake := "GET /fake HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
	chunked := func(body string) string {
		var b strings.Builder
		for len(body) > 0 {
			n := 1 + rng.IntN(len(body))
			fmt.Fprintf(&b, "%x", n)
			if rng.IntN(3) == 0 {
				b.WriteString(";ext=\"v\"")
			}
			if rng.IntN(4) == 0 {
				b.WriteString(" \t")
			}
			b.WriteString("\r\n" + body[:n] + "\r\n")
			body = body[n:]
		}
		b.WriteString("0\r\n")
		if rng.IntN(2) == 0 {
			b.WriteString("X-Trailer: " + fake[:10] + "\r\n")
		}
		return b.String() + "\r\n"
	}
	for round := range 200 {
		var stream strings.Builder
		var want []string
		for i := range 1 + rng.IntN(6) {
			target := fmt.Sprintf("/r%d/%d?q=%d", round, i, i)
			body := strings.Repeat(fake, rng.IntN(3))
			switch rng.IntN(5) {
			case 0:
				fmt.Fprintf(&stream, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", target)
			case 1:
				fmt.Fprintf(&stream, "POST %s HTTP/1.1\r\nHost: a\r\ncontent-length: %d\r\n\r\n%s", target, len(body), body)
				if rng.IntN(2) == 0 {
					stream.WriteString("\r\n") // tolerated after a POST
				}
			case 2:
				fmt.Fprintf(&stream, "PUT %s HTTP/1.1\nHost: a\nTransfer-Encoding: Chunked\n\n%s", target, chunked(body+"x"))
			case 3:
				fmt.Fprintf(&stream, "POST %s HTTP/1.0\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s", target, len(body), body)
			case 4:
				fmt.Fprintf(&stream, "DELETE %s HTTP/1.1\r\nHost: a\r\nX-A: b\r\nContent-Length: 0\r\n\r\n", target)
			}
			want = append(want, target)
		}
		// Go's parser on the same stream.
		br := bufio.NewReader(strings.NewReader(stream.String()))
		var goSaw []string
		for {
			if p, _ := br.Peek(2); bytes.Equal(p, []byte("\r\n")) {
				br.Discard(2)
			}
			req, err := http.ReadRequest(br)
			if err != nil {
				break
			}
			if _, err := io.Copy(io.Discard, req.Body); err != nil {
				t.Fatalf("round %d: Go's parser: %v", round, err)
			}
			goSaw = append(goSaw, req.RequestURI)
		}
		if fmt.Sprint(goSaw) != fmt.Sprint(want) {
			t.Fatalf("round %d: Go's parser saw %v, want %v", round, goSaw, want)
		}
		for _, max := range []int{1, 7, 64, 4096} {
			rc, q := followStream(stream.String(), max, rng)
			var got []string
			for _, m := range q {
				if m.reason != "" || !m.complete {
					t.Errorf("round %d (pieces ≤ %d): %s: reason %q complete %v", round, max, m.line, m.reason, m.complete)
				}
				got = append(got, string(m.line[m.tStart:m.tEnd]))
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || rc.f.state != stHead || rc.f.poisoned {
				t.Fatalf("round %d (pieces ≤ %d): followed %v (state %d, poisoned %v), want %v\n%q",
					round, max, got, rc.f.state, rc.f.poisoned, want, stream.String())
			}
		}
	}
}

// TestFramingStopsFollowing: HTTP/2 prior knowledge and what is not HTTP
// make the follower stop, without a verdict on anything.
func TestFramingStopsFollowing(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range []string{
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00\x00\x00\x00\x00",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nbroken line\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n",
	} {
		rc, _ := followStream(s, 5, rng)
		if rc.f.state != stOff || rc.f.poisoned {
			t.Errorf("%q: state %d poisoned %v, want off", s, rc.f.state, rc.f.poisoned)
		}
	}
}
