package gateway

import (
	"bufio"
	"crypto/tls"
	"net"
	"sync"
	"time"
)

// sniffTimeout bounds how long a PERMISSIVE connection may take to send its
// first byte before it is closed.
const sniffTimeout = 10 * time.Second

// sniff sends a PERMISSIVE connection to TLS or plaintext, as Envoy's
// tls_inspector does: a first byte that starts a TLS handshake record
// (0x16) means TLS. TLS connections arrive at the server as *tls.Conn, so
// it runs the handshake and ALPN. A client that sends nothing within
// sniffTimeout is closed.
func sniff(c net.Conn, cfg *tls.Config, secure, plain *chanListener) {
	br := bufio.NewReaderSize(c, 1024)
	c.SetReadDeadline(time.Now().Add(sniffTimeout))
	b, err := br.Peek(1)
	c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return
	}
	bc := &bufferedConn{Conn: c, r: br}
	if b[0] == 0x16 {
		secure.deliver(tls.Server(bc, cfg))
	} else {
		plain.deliver(bc)
	}
}

// bufferedConn reads through the bufio.Reader that holds the peeked byte.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// chanListener is a net.Listener fed by another goroutine.
type chanListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	err   error
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) deliver(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, l.err
	}
}

func (l *chanListener) close(err error) {
	l.once.Do(func() {
		if err == nil {
			err = net.ErrClosed
		}
		l.err = err
		close(l.done)
	})
}

func (l *chanListener) Close() error   { l.close(net.ErrClosed); return nil }
func (l *chanListener) Addr() net.Addr { return l.addr }
