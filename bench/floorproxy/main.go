// Command floorproxy does the shared harness's HTTP/1.1 job (GET /color/x
// to the upstream as /x with Host: color.local) with little more than a
// Go program on the runtime's poller must do: a goroutine per client connection
// with an upstream connection of its own, heads moved as bytes, no
// http.Request, no header maps, no allocation a request. It is not a proxy
// to use (no limits, no errors answered, HTTP/1.1 bodiless GETs only): it
// measures the floor under any Go proxy built this way, which
// docs/performance.md compares with the gateway and nginx. As a peer of
// ../../../shared/bench/run.sh:
//
//	"floor:18095:18095:/tmp/bench-bin/floorproxy -yield"
//
// With -features (features.go) it does the gateway's per-request work too.
//
// after go build -o /tmp/bench-bin/floorproxy ./bench/floorproxy. It
// listens on $PORT and forwards to $UPSTREAM, which the harness sets.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"io"
	"log"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:"+os.Getenv("PORT"), "address to listen on")
	upstream := flag.String("upstream", os.Getenv("UPSTREAM"), "upstream address")
	flag.BoolVar(&yield, "yield", false, "yield before reads that would likely find nothing yet, as the gateway does with one P")
	features := flag.Bool("features", false, "do the gateway's per-request work too (features.go)")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	var w *work
	if *features {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		p, _ := strconv.ParseUint(port, 10, 32)
		if w, err = newWork(uint32(p), *upstream); err != nil {
			log.Fatal(err)
		}
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		if w != nil {
			go serveFeatures(c, w)
		} else {
			go serve(c, *upstream)
		}
	}
}

// yield gives the other ready goroutines a turn before a read that would
// likely find nothing yet (internal/gateway/yield).
var yield bool

func serve(c net.Conn, upstream string) {
	defer c.Close()
	u, err := net.Dial("tcp", upstream)
	if err != nil {
		return
	}
	defer u.Close()
	cr, ur := bufio.NewReaderSize(c, 4096), bufio.NewReaderSize(u, 4096)
	out := make([]byte, 0, 4096)
	for {
		head, err := nextHead(cr)
		if err != nil {
			return
		}
		// "GET /color/x HTTP/1.1": the path after /color/.
		line, rest, _ := bytes.Cut(head, []byte("\r\n"))
		sp := bytes.IndexByte(line, ' ')
		target, proto, _ := bytes.Cut(line[sp+1:], []byte(" "))
		if !bytes.HasPrefix(target, []byte("/color/")) {
			c.Write([]byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
			continue
		}
		out = append(out[:0], line[:sp+1]...)
		out = append(out, target[len("/color"):]...)
		out = append(out, ' ')
		out = append(out, proto...)
		out = append(out, "\r\nHost: color.local\r\n"...)
		for len(rest) > 2 {
			var f []byte
			f, rest, _ = bytes.Cut(rest, []byte("\r\n"))
			if hasName(f, "host") || hasName(f, "connection") {
				continue
			}
			out = append(out, f...)
			out = append(out, "\r\n"...)
		}
		out = append(out, "\r\n"...)
		if _, err := u.Write(out); err != nil {
			return
		}
		if yield {
			runtime.Gosched()
		}
		rh, err := readHead(ur)
		if err != nil {
			return
		}
		n := contentLength(rh)
		if n < 0 {
			return
		}
		out = append(out[:0], rh...)
		out = slices.Grow(out, n)[:len(rh)+n]
		if _, err := io.ReadFull(ur, out[len(rh):]); err != nil {
			return
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// nextHead reads a client's next request head, yielding first when none
// has arrived yet.
func nextHead(cr *bufio.Reader) ([]byte, error) {
	if yield && cr.Buffered() == 0 {
		runtime.Gosched()
	}
	return readHead(cr)
}

// readHead returns the head up to and with its blank line, consumed from r.
func readHead(r *bufio.Reader) ([]byte, error) {
	for {
		buf, err := r.Peek(r.Buffered())
		if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
			head := buf[: i+4 : i+4]
			r.Discard(i + 4)
			return head, nil
		}
		if err != nil {
			return nil, err
		}
		if _, err := r.Peek(r.Buffered() + 1); err != nil {
			return nil, err
		}
	}
}

func hasName(f []byte, name string) bool {
	return len(f) > len(name) && f[len(name)] == ':' && bytes.EqualFold(f[:len(name)], []byte(name))
}

func contentLength(head []byte) int {
	for len(head) > 0 {
		var f []byte
		f, head, _ = bytes.Cut(head, []byte("\r\n"))
		if hasName(f, "content-length") {
			n, err := strconv.Atoi(string(bytes.TrimSpace(f[len("content-length:"):])))
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}
