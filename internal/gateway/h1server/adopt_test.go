package h1server

import (
	"io"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestAdoptHeader: a handler may hand its response a header map (the
// proxy hands over the upstream's), unless it has set fields or the
// status already; the adopted map is the response's to its end, and the
// connection's own map, used again by the next request, stays clean.
func TestAdoptHeader(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := w.(interface{ AdoptHeader(http.Header) bool })
		switch r.URL.Path {
		case "/after-set":
			w.Header().Set("X-Own", "1")
		case "/after-status":
			w.WriteHeader(202)
		case "/plain":
			io.WriteString(w, "plain")
			return
		}
		upstream := http.Header{"X-Up": {"a", "b"}, "Content-Length": {"2"}}
		adopted := a.AdoptHeader(upstream)
		w.Header().Set("X-Adopted", strconv.FormatBool(adopted))
		upstream.Set("X-Late", "1") // the adopted map is the writer's
		io.WriteString(w, "ok")
	})
	ts := startServer(t, &Server{Handler: h})
	cl := dialClient(t, ts.addr)
	for _, tc := range []struct {
		path  string
		check func(resp *http.Response, body string) bool
	}{
		{"/adopted", func(resp *http.Response, body string) bool {
			h := resp.Header
			return h.Get("X-Adopted") == "true" && slices.Equal(h.Values("X-Up"), []string{"a", "b"}) &&
				h.Get("X-Late") == "1" && resp.ContentLength == 2 && body == "ok"
		}},
		{"/plain", func(resp *http.Response, body string) bool { // nothing left over from the adopted map
			return resp.Header.Get("X-Up") == "" && resp.Header.Get("X-Adopted") == "" && body == "plain"
		}},
		{"/after-set", func(resp *http.Response, body string) bool {
			h := resp.Header
			return h.Get("X-Adopted") == "false" && h.Get("X-Own") == "1" && h.Get("X-Up") == "" && body == "ok"
		}},
		{"/after-status", func(resp *http.Response, body string) bool {
			return resp.StatusCode == 202 && resp.Header.Get("X-Up") == "" && resp.Header.Get("X-Adopted") == ""
		}},
		{"/plain", func(resp *http.Response, body string) bool {
			return resp.Header.Get("X-Own") == "" && resp.Header.Get("X-Up") == "" && body == "plain"
		}},
	} {
		cl.write("GET " + tc.path + " HTTP/1.1\r\nHost: h\r\n\r\n")
		resp, body := cl.response("GET", 2*time.Second)
		if !tc.check(resp, body) {
			t.Errorf("%s: %d %v %q", tc.path, resp.StatusCode, resp.Header, body)
		}
	}
}
