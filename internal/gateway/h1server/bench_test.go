package h1server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
)

// BenchmarkServe: keep-alive GET requests with a few headers, answered
// with 1 KiB and a Content-Length (the proxy's common case), by this
// server and by net/http's with the same handler. The client reads a
// fixed number of bytes per response, so allocs/op are the server's.
func BenchmarkServe(b *testing.B) {
	body := make([]byte, 1024)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/octet-stream"}
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})
	req := []byte("GET /color/ HTTP/1.1\r\nHost: color.local\r\nUser-Agent: wrk\r\nAccept: */*\r\nX-Request-Id: 0d4b8f0e-9f5c-4d2e-9d1a-3b2c1a0f9e8d\r\n\r\n")
	servers := map[string]func(net.Listener){
		"h1server": func(l net.Listener) { (&Server{Handler: handler}).Serve(l) },
		"net-http": func(l net.Listener) { (&http.Server{Handler: handler}).Serve(l) },
	}
	for _, name := range []string{"h1server", "net-http"} {
		b.Run(name, func(b *testing.B) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			go servers[name](l)
			c, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			// The first response tells the size of every response.
			c.Write(req)
			br := bufio.NewReader(c)
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			size := 0
			for k, vv := range res.Header {
				for _, v := range vv {
					size += len(k) + 2 + len(v) + 2
				}
			}
			size += len("HTTP/1.1 200 OK\r\n\r\n") + len(body)
			buf := make([]byte, size)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(br, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
