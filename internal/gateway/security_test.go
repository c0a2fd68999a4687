package gateway

// Edge-hardening tests (docs/security.md, "Edge hardening"; S8–S17 and
// S21 of the reliability and security test plan). Each writes exact
// bytes to a gateway listener over a raw TCP connection and reads what
// comes back; a recording backend proves what was forwarded, and that a
// refused request was not.

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/testutil/wait"
)

// oneRecorder is a gateway whose only route ("/") goes to one recording
// backend.
func oneRecorder(t *testing.T, opts Options) (*recordingBackend, string) {
	t.Helper()
	be := startRecorder(t, "backend")
	cfg := secGateway(t, ir.HTTP, secRoute{name: "all", m: ir.Match{Prefix: "/"}, backend: be})
	_, addr := startGatewayOpts(t, opts, cfg)
	return be, addr
}

// wantRefused asserts that req was answered with status and the
// connection closed, and that nothing reached the backend.
func wantRefused(t *testing.T, be *recordingBackend, addr, req string, status int) {
	t.Helper()
	be.reset()
	res := rawRoundTripClose(t, addr, req)
	if res.err != nil || res.status != status || !res.closed {
		t.Errorf("got %v; want %d and the connection closed", res, status)
	}
	if rs := be.requests(); len(rs) > 0 {
		t.Errorf("the refused request was forwarded: %+v", rs[0])
	}
}

// wantForwarded asserts a 200 from the backend and returns what it got.
func wantForwarded(t *testing.T, be *recordingBackend, addr, req string) recorded {
	t.Helper()
	be.reset()
	res := rawRoundTrip(t, addr, req)
	if res.err != nil || res.status != http.StatusOK {
		t.Fatalf("got %v; want 200 from the backend", res)
	}
	return be.last(t)
}

// TestSecurityConnectionHeaderAbuse (S8): a client naming the gateway's
// own headers in Connection, or sending several (and empty) Connection
// headers — the CVE-2021-33197 shape — cannot make the gateway drop the
// X-Forwarded-For, X-Forwarded-Proto and x-request-id it sets; every
// hop-by-hop header, and every header named in any Connection header, is
// stripped.
func TestSecurityConnectionHeaderAbuse(t *testing.T) {
	be, addr := oneRecorder(t, Options{})
	cases := []struct{ name, headers string }{
		{"named-forwarded-headers", "Connection: close, X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto, X-Request-Id, X-Hop\n"},
		{"empty-then-named", "Connection:\nConnection: X-Forwarded-For, X-Forwarded-Proto, X-Hop\n"},
		{"duplicate-named", "Connection: X-Forwarded-For\nConnection: X-Request-Id, X-Hop\nConnection: keep-alive\n"},
		{"empty-members", "Connection: ,, X-Forwarded-For ,X-Hop,\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := wantForwarded(t, be, addr, crlf("GET /s8 HTTP/1.1\nHost: edge.example\n"+c.headers+
				"X-Forwarded-For: 10.9.9.9\nX-Forwarded-Host: evil.example\nX-Forwarded-Proto: https\n"+
				"X-Request-Id: client-chosen\nX-Hop: secret\nKeep-Alive: timeout=5\nX-Keep: yes\n\n"))
			if xff := got.Header.Values("X-Forwarded-For"); len(xff) != 1 || !strings.HasSuffix(xff[0], ", 127.0.0.1") {
				t.Errorf("x-forwarded-for %q: the gateway's client address is missing", xff)
			}
			if xfp := got.Header.Values("X-Forwarded-Proto"); len(xfp) != 1 || xfp[0] != "http" {
				t.Errorf("x-forwarded-proto %q, want the gateway's http", xfp)
			}
			if id := got.Header.Get("X-Request-Id"); uuid.Validate(id) != nil {
				t.Errorf("x-request-id %q is not the gateway's UUID", id)
			}
			if v := got.Header.Get("X-Forwarded-Host"); v != "" {
				t.Errorf("x-forwarded-host %q reached the backend", v)
			}
			for _, h := range []string{"Connection", "Keep-Alive", "X-Hop"} {
				if v, ok := got.Header[h]; ok {
					t.Errorf("hop-by-hop header %s reached the backend: %q", h, v)
				}
			}
			if got.Header.Get("X-Keep") != "yes" {
				t.Errorf("end-to-end header X-Keep was dropped")
			}
		})
	}
}

// TestSecurityXFFTrust (S9): the gateway behaves as Envoy with
// use_remote_address: true and xff_num_trusted_hops: 0. What a client
// claims in X-Forwarded-For is kept, and the peer address it really
// connects from is appended as the last (the only trustworthy) element;
// X-Real-IP is passed through untouched and never used by the gateway.
func TestSecurityXFFTrust(t *testing.T) {
	be, addr := oneRecorder(t, Options{})
	c := dialRaw(t, addr, "127.0.0.2")
	br := bufio.NewReader(c)
	res := rawOn(t, c, br, crlf("GET /s9 HTTP/1.1\nHost: edge.example\nX-Forwarded-For: 1.2.3.4, 10.0.0.1\n"+
		"X-Real-IP: 1.2.3.4\n\n"), false)
	if res.status != http.StatusOK {
		t.Fatalf("got %v", res)
	}
	got := be.last(t)
	if xff := got.Header.Values("X-Forwarded-For"); len(xff) != 1 || xff[0] != "1.2.3.4, 10.0.0.1, 127.0.0.2" {
		t.Errorf("x-forwarded-for %q, want the claimed chain with the peer 127.0.0.2 appended", xff)
	}
	if v := got.Header.Get("X-Real-Ip"); v != "1.2.3.4" {
		t.Errorf("x-real-ip %q, want it passed through unchanged", v)
	}
	// Without a claim, the peer address alone.
	res = rawOn(t, c, br, crlf("GET /s9 HTTP/1.1\nHost: edge.example\n\n"), false)
	if res.status != http.StatusOK {
		t.Fatalf("got %v", res)
	}
	if xff := be.last(t).Header.Get("X-Forwarded-For"); xff != "127.0.0.2" {
		t.Errorf("x-forwarded-for %q, want 127.0.0.2", xff)
	}
}

// TestSecurityHostInjection (S10): a Host with CR, control characters or
// white space, several Host headers, and an absolute-form request target
// whose authority is not the Host are refused with 400 and nothing is
// forwarded; the Host the backend sees is the route's rewrite (the
// virtual service name), never bytes from the client.
func TestSecurityHostInjection(t *testing.T) {
	be, addr := oneRecorder(t, Options{})
	refused := map[string]string{
		"bare-CR-injection":  "GET / HTTP/1.1\r\nHost: good.example\rX-Injected: 1\r\n\r\n",
		"NUL":                "GET / HTTP/1.1\r\nHost: good\x00.example\r\n\r\n",
		"control-char":       "GET / HTTP/1.1\r\nHost: good\x01.example\r\n\r\n",
		"space":              "GET / HTTP/1.1\r\nHost: good example\r\n\r\n",
		"two-hosts":          "GET / HTTP/1.1\r\nHost: good.example\r\nHost: evil.example\r\n\r\n",
		"absolute-mismatch":  "GET http://evil.example/ HTTP/1.1\r\nHost: good.example\r\n\r\n",
		"absolute-port":      "GET http://good.example:8443/ HTTP/1.1\r\nHost: good.example\r\n\r\n",
		"absolute-userinfo":  "GET http://good.example@evil.example/ HTTP/1.1\r\nHost: good.example\r\n\r\n",
		"missing-host-http1": "GET / HTTP/1.1\r\nX-A: b\r\n\r\n",
	}
	for name, req := range refused {
		t.Run(name, func(t *testing.T) { wantRefused(t, be, addr, req, http.StatusBadRequest) })
	}
	accepted := map[string]string{
		"plain":             "GET /h HTTP/1.1\r\nHost: good.example\r\n\r\n",
		"port":              "GET /h HTTP/1.1\r\nHost: good.example:1234\r\n\r\n",
		"trailing-dot":      "GET /h HTTP/1.1\r\nHost: good.example.\r\n\r\n",
		"absolute-agreeing": "GET http://Good.Example/h HTTP/1.1\r\nHost: good.example\r\n\r\n",
	}
	for name, req := range accepted {
		t.Run(name, func(t *testing.T) {
			got := wantForwarded(t, be, addr, req)
			if got.Host != "backend.local" || got.URI != "/h" {
				t.Errorf("backend got Host %q target %q, want backend.local /h", got.Host, got.URI)
			}
		})
	}
}

// TestSecurityRequestSmuggling (S11): every framing ambiguity is refused
// before routing, the connection is closed and nothing reaches the
// backend. Go's parser refuses most shapes itself; the gateway adds the
// ones Go accepts and Envoy does not (Content-Length with
// Transfer-Encoding, repeated equal Content-Length, obs-fold) and refuses
// a malformed chunked body it has already received instead of starting to
// forward the request. An unsupported transfer coding gets 501, as from
// Go's server and Envoy (RFC 9112 §6.1).
func TestSecurityRequestSmuggling(t *testing.T) {
	be, addr := oneRecorder(t, Options{})
	const post = "POST /smuggle HTTP/1.1\r\nHost: edge.example\r\n"
	cases := []struct {
		name   string
		req    string
		status int
	}{
		{"CL-then-TE", post + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX", 400},
		{"TE-then-CL", post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400},
		{"CL-TE-http10", "POST /smuggle HTTP/1.0\r\nHost: edge.example\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"duplicate-CL-differing", post + "Content-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400},
		{"duplicate-CL-equal", post + "Content-Length: 4\r\nContent-Length: 4\r\n\r\nabcd", 400},
		{"CL-list", post + "Content-Length: 4, 4\r\n\r\nabcd", 400},
		{"CL-plus-sign", post + "Content-Length: +4\r\n\r\nabcd", 400},
		{"CL-hex", post + "Content-Length: 0x4\r\n\r\nabcd", 400},
		{"CL-space-before-colon", post + "Content-Length : 4\r\n\r\nabcd", 400},
		{"chunk-line-bare-LF", post + "Transfer-Encoding: chunked\r\n\r\n4\nabcd\r\n0\r\n\r\n", 400},
		{"chunk-data-bare-LF", post + "Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\n0\r\n\r\n", 400},
		{"chunk-size-invalid", post + "Transfer-Encoding: chunked\r\n\r\nzz\r\nabcd\r\n0\r\n\r\n", 400},
		{"chunk-size-negative", post + "Transfer-Encoding: chunked\r\n\r\n-4\r\nabcd\r\n0\r\n\r\n", 400},
		{"chunk-size-0x", post + "Transfer-Encoding: chunked\r\n\r\n0x4\r\nabcd\r\n0\r\n\r\n", 400},
		{"chunk-size-overflow", post + "Transfer-Encoding: chunked\r\n\r\n10000000000000004\r\nabcd\r\n0\r\n\r\n", 400},
		{"chunk-size-empty", post + "Transfer-Encoding: chunked\r\n\r\n\r\nabcd\r\n0\r\n\r\n", 400},
		{"chunk-data-too-long", post + "Transfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n", 400},
		{"obs-fold", post + "Content-Length: 0\r\nX-Folded: a\r\n b\r\n\r\n", 400},
		{"obs-fold-TE", post + "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400},
		{"obs-fold-tab", "GET /smuggle HTTP/1.1\r\nHost: edge.example\r\nX-Folded: a\r\n\tb\r\n\r\n", 400},
		{"leading-space-header", "GET /smuggle HTTP/1.1\r\n Host: edge.example\r\n\r\n", 400},
		{"bare-CR-in-value", "GET /smuggle HTTP/1.1\r\nHost: edge.example\r\nX-A: a\rb\r\n\r\n", 400},
		{"TE-chunked-identity", post + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 501},
		{"TE-identity", post + "Transfer-Encoding: identity\r\n\r\n", 501},
		{"TE-twice", post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501},
		{"TE-xchunked", post + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 501},
		{"TE-gzip-chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantRefused(t, be, addr, c.req, c.status) })
	}

	// Well-formed framing still works, on one keep-alive connection:
	// chunked with extensions and trailers, Content-Length, and a request
	// pipelined behind each.
	t.Run("well-formed-pipelined", func(t *testing.T) {
		be.reset()
		c := dialRaw(t, addr, "")
		br := bufio.NewReader(c)
		reqs := post + "Transfer-Encoding: chunked\r\n\r\n4;ext=1\r\nabcd\r\n2\r\nef\r\n0\r\nX-Trailer: t\r\n\r\n" +
			post + "Content-Length: 3\r\n\r\nxyz" +
			"GET /third HTTP/1.1\r\nHost: edge.example\r\n\r\n"
		if _, err := c.Write([]byte(reqs)); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("response %d: %v", i, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("response %d: %d", i, resp.StatusCode)
			}
		}
		rs := be.requests()
		if len(rs) != 3 || rs[0].Body != "abcdef" || rs[1].Body != "xyz" || rs[2].URI != "/third" {
			t.Errorf("backend got %+v", rs)
		}
	})

	// A malformed chunk that arrives after the request was forwarded:
	// the upstream request is aborted (the backend never gets a complete
	// body) and the client gets 400, the connection closed.
	t.Run("malformed-chunk-later", func(t *testing.T) {
		be.reset()
		c := dialRaw(t, addr, "")
		if _, err := c.Write([]byte(post + "Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // forwarded meanwhile
		res := rawOn(t, c, bufio.NewReader(c), "4\nefgh\r\n0\r\n\r\n", true)
		if res.status != http.StatusBadRequest || !res.closed {
			t.Errorf("got %v, want 400 and closed", res)
		}
		wait.For(t, 5*time.Second, "the backend to see the aborted body", func() bool { return be.count() == 1 })
		if r := be.last(t); r.BodyErr == nil {
			t.Errorf("the backend got a complete request: %+v", r)
		}
	})

	// Go's server answers "OPTIONS *" itself, without the gateway's
	// handler: the requests after it are still checked as their own, and
	// a malformed "OPTIONS *" taints the rest of the connection.
	pipelined := func(t *testing.T, reqs string) (statuses []int) {
		t.Helper()
		be.reset()
		c := dialRaw(t, addr, "")
		br := bufio.NewReader(c)
		if _, err := c.Write([]byte(reqs)); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				return statuses
			}
			resp.Body.Close()
			statuses = append(statuses, resp.StatusCode)
			if resp.Close {
				return statuses
			}
		}
	}
	t.Run("options-star-then-smuggle", func(t *testing.T) {
		got := pipelined(t, "OPTIONS * HTTP/1.1\r\nHost: edge.example\r\n\r\n"+
			post+"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
		if fmt.Sprint(got) != "[200 400]" || be.count() != 0 {
			t.Errorf("statuses %v, backend hits %d; want [200 400] and nothing forwarded", got, be.count())
		}
	})
	t.Run("malformed-options-star", func(t *testing.T) {
		// "OPTIONS *" is answered by the server, not routed; a malformed
		// one is refused like any request, and nothing after it is read.
		got := pipelined(t, "OPTIONS * HTTP/1.1\r\nHost: edge.example\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+
			"GET /after HTTP/1.1\r\nHost: edge.example\r\n\r\n")
		if fmt.Sprint(got) != "[400]" || be.count() != 0 {
			t.Errorf("statuses %v, backend hits %d; want [400] and nothing forwarded", got, be.count())
		}
	})

	// A smuggling attempt behind a good request on the same connection:
	// the good one is served, the bad one refused, nothing more forwarded.
	t.Run("pipelined-smuggle", func(t *testing.T) {
		be.reset()
		c := dialRaw(t, addr, "")
		br := bufio.NewReader(c)
		reqs := "GET /first HTTP/1.1\r\nHost: edge.example\r\n\r\n" +
			post + "Content-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
			"GET /smuggled HTTP/1.1\r\nHost: edge.example\r\n\r\n"
		if _, err := c.Write([]byte(reqs)); err != nil {
			t.Fatal(err)
		}
		var statuses []int
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				break
			}
			resp.Body.Close()
			statuses = append(statuses, resp.StatusCode)
		}
		if fmt.Sprint(statuses) != "[200 400]" {
			t.Errorf("statuses %v, want [200 400] and the connection closed", statuses)
		}
		rs := be.requests()
		if len(rs) != 1 || rs[0].URI != "/first" {
			t.Errorf("backend got %+v, want /first only", rs)
		}
	})
}

// TestSecuritySizeLimits (S14): request headers above 60 KiB and more
// than 100 header fields get 431 (and the connection closed), as from
// Envoy's defaults; a request target above 8 KiB gets 414. Below the
// limits requests pass, the query byte for byte.
func TestSecuritySizeLimits(t *testing.T) {
	be, addr := oneRecorder(t, Options{})
	get := func(target, headers string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: edge.example\r\n" + headers + "\r\n"
	}
	many := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "X-H%d: v\r\n", i)
		}
		return b.String()
	}
	params := func(n int) string { // "a=1&a=1…": 4 bytes a parameter
		return strings.TrimSuffix(strings.Repeat("a=1&", n), "&")
	}
	t.Run("header-61KiB", func(t *testing.T) {
		wantRefused(t, be, addr, get("/", "X-Big: "+strings.Repeat("a", 61<<10)+"\r\n"), 431)
	})
	t.Run("header-1MiB", func(t *testing.T) {
		wantRefused(t, be, addr, get("/", "X-Big: "+strings.Repeat("a", 1<<20)+"\r\n"), 431)
	})
	t.Run("200-headers", func(t *testing.T) { wantRefused(t, be, addr, get("/", many(200)), 431) })
	t.Run("100-headers", func(t *testing.T) { wantRefused(t, be, addr, get("/", many(100)), 431) }) // + Host = 101
	t.Run("200-repeats-of-one", func(t *testing.T) {
		wantRefused(t, be, addr, get("/", strings.Repeat("X-Same: v\r\n", 200)), 431)
	})
	t.Run("99-headers", func(t *testing.T) { wantForwarded(t, be, addr, get("/", many(99))) })
	t.Run("header-50KiB", func(t *testing.T) {
		wantForwarded(t, be, addr, get("/", "X-Big: "+strings.Repeat("a", 50<<10)+"\r\n"))
	})
	t.Run("path-10k", func(t *testing.T) {
		res := rawRoundTrip(t, addr, get("/"+strings.Repeat("a", 10000), ""))
		if res.status != http.StatusRequestURITooLong {
			t.Errorf("got %v, want 414", res)
		}
	})
	t.Run("query-10k-params", func(t *testing.T) {
		be.reset()
		res := rawRoundTrip(t, addr, get("/q?"+params(10000), ""))
		if res.status != http.StatusRequestURITooLong || be.count() != 0 {
			t.Errorf("got %v (backend hits %d), want 414", res, be.count())
		}
	})
	t.Run("query-1k-params", func(t *testing.T) {
		q := params(1750) // 7 KiB
		got := wantForwarded(t, be, addr, get("/q?"+q, ""))
		if got.URI != "/q?"+q {
			t.Errorf("query changed on the way")
		}
	})
}

// TestSecurityPathNormalization (S15): the gateway normalizes the path
// once (router.NormalizePath: unreserved escapes decoded, dot segments
// resolved, slashes merged, %2F kept) and both matches and forwards the
// result, so what the backend is sent is what the route decision saw.
// Matching is case-sensitive, as Envoy's.
func TestSecurityPathNormalization(t *testing.T) {
	admin, public := startRecorder(t, "admin"), startRecorder(t, "public")
	cfg := secGateway(t, ir.HTTP,
		secRoute{name: "admin", m: ir.Match{Prefix: "/admin"}, backend: admin},
		secRoute{name: "public", m: ir.Match{Prefix: "/public"}, backend: public})
	_, addr := startGatewayOpts(t, Options{}, cfg)
	cases := []struct {
		target  string
		backend *recordingBackend // nil: 404
		want    string            // the target the backend receives
	}{
		{"/admin/../public", public, "/public"},
		{"/public/../admin", admin, "/admin"},
		{"/public/./x", public, "/public/x"},
		{"/%2e%2e/admin", admin, "/admin"},
		{"/public/%2e%2e/admin", admin, "/admin"},
		{"/public/%2E%2e/admin/x", admin, "/admin/x"},
		{"/public/.%2e/admin", admin, "/admin"},
		{"//admin", admin, "/admin"},
		{"/public//x//y", public, "/public/x/y"},
		{"/%61dmin/x", admin, "/admin/x"},
		{"/admin%2Fx", admin, "/admin%2Fx"},
		{"/public%2F..%2Fadmin", public, "/public%2F..%2Fadmin"},
		{"/public%2f..%2fadmin", public, "/public%2F..%2Fadmin"},
		{"/Admin", nil, ""},
		{"/ADMIN/../public", public, "/public"},
		{"/../../admin", admin, "/admin"},
		{"/admin/../public?x=%zz&y=/../admin", public, "/public?x=%zz&y=/../admin"},
		{"/other", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.target, func(t *testing.T) {
			admin.reset()
			public.reset()
			res := rawRoundTrip(t, addr, "GET "+c.target+" HTTP/1.1\r\nHost: edge.example\r\n\r\n")
			if c.backend == nil {
				if res.status != http.StatusNotFound || admin.count()+public.count() != 0 {
					t.Errorf("got %v (backend hits %d), want 404 and nothing forwarded", res, admin.count()+public.count())
				}
				return
			}
			other := admin
			if c.backend == admin {
				other = public
			}
			if res.status != http.StatusOK || other.count() != 0 {
				t.Fatalf("got %v; want 200 from %s only", res, c.backend.node)
			}
			if got := c.backend.last(t).URI; got != c.want {
				t.Errorf("%s got %q, want %q", c.backend.node, got, c.want)
			}
		})
	}
}

// TestSecurityUnderscoreHeaders (S16): header names with underscores pass
// by default, as with Envoy's and App Mesh's default
// (headers_with_underscores_action: ALLOW; App Mesh's own examples route
// on "color_header"), except the underscore spellings of the headers the
// gateway sets (x_forwarded_for, x_request_id, x_envoy_*), which CGI-style
// backends would read as the real ones: those are always dropped. The
// gateway can instead drop every such header before routing (DROP_HEADER)
// or refuse the request (REJECT_REQUEST: 400).
func TestSecurityUnderscoreHeaders(t *testing.T) {
	req := crlf("GET /u HTTP/1.1\nHost: edge.example\nx_forwarded_for: 6.6.6.6\nX_Request_Id: mine\n" +
		"x_envoy_original_path: /admin\nX_Forwarded_Proto: https\nX_User_Id: admin\nX-User-Id: alice\n\n")
	wantGatewayHeaders := func(t *testing.T, got recorded) {
		t.Helper()
		if got.Header.Get("X-Forwarded-For") != "127.0.0.1" || got.Header.Get("X-Forwarded-Proto") != "http" ||
			uuid.Validate(got.Header.Get("X-Request-Id")) != nil || got.Header.Get("X-User-Id") != "alice" {
			t.Errorf("backend headers %v", got.Header)
		}
	}
	t.Run("allow-default", func(t *testing.T) {
		be, addr := oneRecorder(t, Options{})
		got := wantForwarded(t, be, addr, req)
		for k := range got.Header {
			if strings.Contains(k, "_") && k != "X_user_id" {
				t.Errorf("header %s reached the backend", k)
			}
		}
		if got.Header.Get("X_user_id") != "admin" {
			t.Errorf("x_user_id %q, want it passed", got.Header.Get("X_user_id"))
		}
		wantGatewayHeaders(t, got)
	})
	t.Run("allow-routes-on-underscore-header", func(t *testing.T) {
		be := startRecorder(t, "backend")
		admin := "admin"
		cfg := secGateway(t, ir.HTTP, secRoute{name: "by-header", backend: be,
			m: ir.Match{Prefix: "/", Headers: []ir.HeaderMatch{{Name: "x_user_id", Exact: &admin}}}})
		_, addr := startGatewayOpts(t, Options{}, cfg)
		wantForwarded(t, be, addr, req)
	})
	t.Run("drop", func(t *testing.T) {
		opts := Options{EdgeLimits: EdgeLimits{UnderscoreHeaders: UnderscoreDrop}}
		be, addr := oneRecorder(t, opts)
		got := wantForwarded(t, be, addr, req)
		for k := range got.Header {
			if strings.Contains(k, "_") {
				t.Errorf("header %s reached the backend", k)
			}
		}
		wantGatewayHeaders(t, got)
		// Dropped before routing: a route can't match on it.
		be2 := startRecorder(t, "backend")
		admin := "admin"
		cfg := secGateway(t, ir.HTTP, secRoute{name: "by-header", backend: be2,
			m: ir.Match{Prefix: "/", Headers: []ir.HeaderMatch{{Name: "x_user_id", Exact: &admin}}}})
		_, addr2 := startGatewayOpts(t, opts, cfg)
		if res := rawRoundTrip(t, addr2, req); res.status != http.StatusNotFound || be2.count() != 0 {
			t.Errorf("got %v; a dropped header must not match a route", res)
		}
	})
	t.Run("reject", func(t *testing.T) {
		be, addr := oneRecorder(t, Options{EdgeLimits: EdgeLimits{UnderscoreHeaders: UnderscoreReject}})
		wantRefused(t, be, addr, req, http.StatusBadRequest)
		wantRefused(t, be, addr, crlf("GET /u HTTP/1.1\nHost: edge.example\nX_User_Id: alice\n\n"), http.StatusBadRequest)
		wantForwarded(t, be, addr, crlf("GET /u HTTP/1.1\nHost: edge.example\nX-User-Id: alice\n\n"))
	})
}

// TestSecurityQuerySmuggling (S17): query parameters the gateway cannot
// parse (a ";" separator, a bad escape) never satisfy a query-parameter
// match, so they cannot steer a request to a route; the query is
// forwarded byte for byte as received (Envoy does the same), never
// rewritten from a parsed form, so the backend decides on exactly what the
// gateway routed on.
func TestSecurityQuerySmuggling(t *testing.T) {
	a, b := startRecorder(t, "a"), startRecorder(t, "b")
	one := "1"
	cfg := secGateway(t, ir.HTTP,
		secRoute{name: "q", m: ir.Match{Prefix: "/q", Query: []ir.QueryMatch{{Name: "a", Exact: &one}}}, backend: a},
		secRoute{name: "rest", m: ir.Match{Prefix: "/"}, backend: b})
	_, addr := startGatewayOpts(t, Options{}, cfg)
	cases := []struct {
		target  string
		backend *recordingBackend
	}{
		{"/q?a=1", a},
		{"/q?a=%31", a},
		{"/q?a=1;b=2", b},
		{"/q?b=2;a=1", b},
		{"/q?a=%zz", b},
		{"/q?a=1%zz", b},
		{"/q?%zz&a=1", a},
		{"/q?a=1&b=%zz", a},
		{"/q?a=2&a=1", b},
		{"/q?a%3D1", b},
		{"/q?a=1%26b=2", b},
		{"/q?A=1", b},
	}
	for _, c := range cases {
		t.Run(c.target, func(t *testing.T) {
			a.reset()
			b.reset()
			res := rawRoundTrip(t, addr, "GET "+c.target+" HTTP/1.1\r\nHost: edge.example\r\n\r\n")
			if res.status != http.StatusOK || a.count()+b.count() != 1 {
				t.Fatalf("got %v, backend hits a=%d b=%d", res, a.count(), b.count())
			}
			if c.backend.count() != 1 {
				t.Fatalf("routed to the wrong backend, want %s", c.backend.node)
			}
			if got := c.backend.last(t).URI; got != c.target {
				t.Errorf("forwarded %q, want %q byte for byte", got, c.target)
			}
		})
	}
}

// TestSecurityAdminPathsOnTrafficPort (S21): the admin endpoints live on
// the admin listener only (127.0.0.1 by default). On a traffic listener
// their paths are routed like any other: 404 without a matching route,
// forwarded to the backend with one — never answered by the admin handler.
func TestSecurityAdminPathsOnTrafficPort(t *testing.T) {
	paths := []string{"/ready", "/server_info", "/config_dump", "/stats/prometheus", "/stats", "/debug/pprof/",
		"/debug/pprof/goroutine?debug=2", "/clusters", "/quitquitquit", "/healthcheck/fail", "/logging"}
	be := startRecorder(t, "backend")
	cfg := secGateway(t, ir.HTTP, secRoute{name: "api", m: ir.Match{Prefix: "/api"}, backend: be})
	_, addr := startGatewayOpts(t, Options{}, cfg)
	catchAll := startRecorder(t, "catchall")
	cfg2 := secGateway(t, ir.HTTP, secRoute{name: "all", m: ir.Match{Prefix: "/"}, backend: catchAll})
	_, addr2 := startGatewayOpts(t, Options{}, cfg2)
	for _, p := range paths {
		t.Run(strings.TrimPrefix(p, "/"), func(t *testing.T) {
			for _, method := range []string{"GET", "POST"} {
				res := rawRoundTrip(t, addr, method+" "+p+" HTTP/1.1\r\nHost: edge.example\r\nContent-Length: 0\r\n\r\n")
				if res.status != http.StatusNotFound || res.body != "" {
					t.Errorf("%s %s without a route: got %v, want an empty 404", method, p, res)
				}
				catchAll.reset()
				res = rawRoundTrip(t, addr2, method+" "+p+" HTTP/1.1\r\nHost: edge.example\r\nContent-Length: 0\r\n\r\n")
				if res.status != http.StatusOK || res.body != "catchall "+p || catchAll.count() != 1 {
					t.Errorf("%s %s with a catch-all route: got %v, want the backend's answer", method, p, res)
				}
			}
		})
	}
	if be.count() != 0 {
		t.Errorf("the /api backend got %d requests", be.count())
	}
}

// TestSecuritySlowHeaders (S13): a client that sends its request headers
// a byte at a time, never finishing, is disconnected once
// ReadHeaderTimeout passes, and nothing is forwarded; other clients are
// served meanwhile.
func TestSecuritySlowHeaders(t *testing.T) {
	const timeout = 400 * time.Millisecond
	be, addr := oneRecorder(t, Options{ReadHeaderTimeout: timeout})
	const slowClients = 20
	done := make(chan time.Duration, slowClients)
	for range slowClients {
		go func() {
			c, err := net_Dial(addr)
			if err != nil {
				done <- -1
				return
			}
			defer c.Close()
			start := time.Now()
			if _, err := c.Write([]byte("GET /slow HTTP/1.1\r\nHost: edge.example\r\n")); err != nil {
				done <- -1
				return
			}
			for i := 0; ; i++ {
				time.Sleep(50 * time.Millisecond)
				if _, err := c.Write([]byte{"X-Slow: abcdef\r\n"[i%16]}); err != nil {
					break // reset by the gateway
				}
				if time.Since(start) > 10*time.Second {
					done <- -1
					return
				}
				c.SetReadDeadline(time.Now().Add(time.Millisecond))
				var b [1]byte
				if _, err := c.Read(b[:]); err != nil && !isTimeout(err) {
					break // closed by the gateway
				}
			}
			done <- time.Since(start)
		}()
	}
	// Normal traffic is unaffected while the slow clients hang on.
	time.Sleep(100 * time.Millisecond)
	for range 5 {
		start := time.Now()
		res := rawRoundTrip(t, addr, "GET /fast HTTP/1.1\r\nHost: edge.example\r\nConnection: close\r\n\r\n")
		if res.status != http.StatusOK || time.Since(start) > time.Second {
			t.Errorf("normal request: %v after %v", res, time.Since(start))
		}
	}
	for range slowClients {
		d := <-done
		if d < 0 || d < timeout-50*time.Millisecond || d > timeout+3*time.Second {
			t.Errorf("slow client closed after %v, want about %v", d, timeout)
		}
	}
	for _, r := range be.requests() {
		if r.URI == "/slow" {
			t.Errorf("a slow request was forwarded")
		}
	}
}

// TestSecuritySlowBody (S13): an HTTP/1 request body that stops arriving
// for BodyIdleTimeout ends the request and the connection: while being
// forwarded, the upstream request is aborted (the backend never gets a
// complete body) and the client gets Envoy's stream idle timeout answer
// (408 "stream timeout"); never read (a request without a route), the
// gateway answers (404) at once and closes the connection, as Envoy does
// with a response that completes before its request. Other clients are
// served meanwhile.
func TestSecuritySlowBody(t *testing.T) {
	const idle = 400 * time.Millisecond
	be := startRecorder(t, "backend")
	cfg := secGateway(t, ir.HTTP, secRoute{name: "up", m: ir.Match{Prefix: "/up"}, backend: be})
	_, addr := startGatewayOpts(t, Options{EdgeLimits: EdgeLimits{BodyIdleTimeout: idle}}, cfg)
	for _, path := range []string{"/up", "/no-route"} {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			be.reset()
			c := dialRaw(t, addr, "")
			start := time.Now()
			if _, err := c.Write([]byte("POST " + path + " HTTP/1.1\r\nHost: edge.example\r\nContent-Length: 100\r\n\r\n0123456789")); err != nil {
				t.Fatal(err)
			}
			// Then nothing. The gateway must give up on its own.
			br := bufio.NewReader(c)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			resp.Body.Close()
			if want := map[string]int{"/up": 408, "/no-route": 404}[path]; resp.StatusCode != want || !resp.Close {
				t.Errorf("got %d (close %v), want %d and Connection: close", resp.StatusCode, resp.Close, want)
			}
			for {
				if _, err := br.ReadByte(); err != nil {
					if isTimeout(err) {
						t.Fatalf("the connection is still open after %v", time.Since(start))
					}
					break
				}
			}
			took := time.Since(start)
			switch {
			case path == "/up" && (took < idle-50*time.Millisecond || took > idle+3*time.Second):
				t.Errorf("closed after %v, want about %v", took, idle)
			case path == "/no-route" && took > idle-50*time.Millisecond:
				t.Errorf("closed after %v, want at once (before the body idle timeout, %v)", took, idle)
			}
			for _, r := range be.requests() {
				if r.BodyErr == nil {
					t.Errorf("the backend got a complete request: %+v", r)
				}
			}
			// The gateway still serves.
			res := rawRoundTrip(t, addr, "POST /up HTTP/1.1\r\nHost: edge.example\r\nContent-Length: 2\r\n\r\nok")
			if res.status != http.StatusOK {
				t.Errorf("normal request: %v", res)
			}
		})
	}

	// A body that keeps arriving, if slowly, is not cut.
	t.Run("slow-but-steady", func(t *testing.T) {
		be.reset()
		c := dialRaw(t, addr, "")
		if _, err := c.Write([]byte("POST /up HTTP/1.1\r\nHost: edge.example\r\nContent-Length: 10\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			time.Sleep(idle / 4)
			if _, err := c.Write([]byte{byte('0' + i)}); err != nil {
				t.Fatal(err)
			}
		}
		res := rawOn(t, c, bufio.NewReader(c), "", false)
		if res.status != http.StatusOK || be.last(t).Body != "0123456789" {
			t.Errorf("got %v, backend body %q", res, be.last(t).Body)
		}
	})
}
