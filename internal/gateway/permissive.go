package gateway

import (
	"bufio"
	"errors"
	"net"
	"time"
)

// sniffTimeout bounds how long a PERMISSIVE connection may take to send its
// first byte before it is closed.
const sniffTimeout = 10 * time.Second

// sniff reads the first byte of a PERMISSIVE connection, as Envoy's
// tls_inspector does: 0x16 starts a TLS handshake record. It returns the
// connection with that byte still to be read. A client that sends nothing
// within sniffTimeout is closed (ok=false).
func sniff(c net.Conn) (conn net.Conn, isTLS, ok bool) {
	br := bufio.NewReaderSize(c, 1024)
	c.SetReadDeadline(time.Now().Add(sniffTimeout))
	b, err := br.Peek(1)
	c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return nil, false, false
	}
	return &bufferedConn{Conn: c, r: br}, b[0] == 0x16, true
}

// h2Preface starts every HTTP/2 connection (RFC 9113 §3.4).
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// sniffH2 reads as much of a plaintext connection's first bytes as tells
// HTTP/2 prior knowledge (the preface) from HTTP/1 (anything else), within
// timeout. It returns the connection with those bytes still to be read.
func sniffH2(c net.Conn, timeout time.Duration) (conn net.Conn, isH2, ok bool) {
	br := bufio.NewReaderSize(c, len(h2Preface))
	if timeout > 0 {
		c.SetReadDeadline(time.Now().Add(timeout))
	}
	for n := 1; n <= len(h2Preface); n++ {
		b, err := br.Peek(n)
		if err != nil {
			if len(b) > 0 {
				break // a short HTTP/1 request, or not HTTP: HTTP/1 answers it
			}
			c.Close()
			return nil, false, false
		}
		if b[n-1] != h2Preface[n-1] {
			break
		}
		isH2 = n == len(h2Preface)
	}
	c.SetReadDeadline(time.Time{})
	return &bufferedConn{Conn: c, r: br}, isH2, true
}

// bufferedConn reads through the bufio.Reader that holds the peeked byte.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// NetConn is the connection below, as tls.Conn's.
func (c *bufferedConn) NetConn() net.Conn { return c.Conn }

// CloseWrite half-closes the connection below when it can (an upgraded
// connection's copy and a lingering close use it).
func (c *bufferedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
