// Package rawh2 is a test backend that speaks HTTP/2 (h2c, prior
// knowledge) frame by frame, so that a test can make it misbehave as no
// well-behaved server would: reset a stream, send invalid fields, answer
// with bytes that are not frames.
package rawh2

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"sync"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Act answers a request: the stream's HEADERS frame has been read, and
// fr writes frames to c.
type Act func(fr *http2.Framer, c net.Conn, stream uint32)

// Start listens on addr (host:port, port 0 for any) and serves each
// connection: the server's SETTINGS, then act for each request. It
// returns the address it listens on and stops at the test's end.
func Start(t testing.TB, addr string, act Act) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	closed := false
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				c.Close()
				return
			}
			conns = append(conns, c)
			mu.Unlock()
			go serve(c, act)
		}
	}()
	return ln.Addr().String()
}

func serve(c net.Conn, act Act) {
	defer c.Close()
	br := bufio.NewReader(c)
	if _, err := io.ReadFull(br, make([]byte, len(http2.ClientPreface))); err != nil {
		return
	}
	fr := http2.NewFramer(c, br)
	if err := fr.WriteSettings(); err != nil {
		return
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.HeadersFrame:
			act(fr, c, f.StreamID)
		}
	}
}

// Fields is an HPACK header block of name, value pairs, written as they
// are: names need not be valid.
func Fields(pairs ...string) []byte {
	var b bytes.Buffer
	enc := hpack.NewEncoder(&b)
	for i := 0; i+1 < len(pairs); i += 2 {
		enc.WriteField(hpack.HeaderField{Name: pairs[i], Value: pairs[i+1]})
	}
	return b.Bytes()
}
