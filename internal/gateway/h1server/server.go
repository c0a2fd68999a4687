// Package h1server is the gateway's HTTP/1.1 server: the downstream side
// of an HTTP/1 connection, from the bytes on the socket to an
// http.Handler and back.
//
// It replaces net/http's HTTP/1 server on the gateway's listeners for
// speed (docs/performance.md): one goroutine per connection that reads a
// request, runs the handler and writes the response, with no background
// read per request, one string for a request's whole header block and
// buffers kept per connection. HTTP/2 stays with net/http.
//
// What it accepts is what net/http's server accepts, with the edge
// hardening of an Envoy front proxy on top: header blocks that request
// smuggling is made of (obs-fold continuation lines, Content-Length with
// Transfer-Encoding, repeated Content-Length, an absolute-form target
// whose authority is not the Host) reach the handler with Problem set, so
// that the gateway refuses and logs them; the connection is closed after
// such a request, its body never read.
package h1server

import (
	"context"
	"log"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/meshgate/meshgate/internal/gateway/connset"
)

// Server serves HTTP/1.x connections with Handler.
type Server struct {
	Handler http.Handler
	// ReadHeaderTimeout bounds reading a request's header block, from
	// its first byte (from the connection's start for the first request).
	ReadHeaderTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a kept-alive
	// connection; zero: ReadHeaderTimeout.
	IdleTimeout time.Duration
	// BodyIdleTimeout fails a read of a request body that receives
	// nothing for this long (ErrBodyIdle); the connection closes after
	// the response. Zero: none.
	BodyIdleTimeout time.Duration
	// MaxHeaderBytes caps the request line and header block; above it
	// (with net/http's 4 KiB of slack) the answer is 431 and the
	// connection closes. Zero: http.DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// ConnContext, when set, derives the context of a connection's
	// requests from the base context (which holds
	// http.LocalAddrContextKey).
	ConnContext func(ctx context.Context, c net.Conn) context.Context
	// ConnState, when set, is told of connection state changes, as
	// http.Server's.
	ConnState func(net.Conn, http.ConnState)
	// ErrorLog receives handler panics and connection errors; nil: the
	// log package's standard logger.
	ErrorLog *log.Logger

	conns    connset.Set[*conn] // and its sweeper (deadlines.go)
	shutdown atomic.Bool
}

// ErrServerClosed is what Serve returns after Shutdown.
var ErrServerClosed = http.ErrServerClosed

// Serve accepts connections from l and serves each on its own goroutine
// until l fails or the server shuts down.
func (s *Server) Serve(l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			if s.shutdown.Load() {
				return ErrServerClosed
			}
			return err
		}
		go func() {
			if !s.ServeConn(c) {
				c.Close()
			}
		}()
	}
}

// Shutdown stops the server gracefully: idle connections close at once,
// connections serving a request close after its response (which says
// "Connection: close" when its head is still to be sent); it returns when
// none is left, or with ctx's error when ctx ends first. A connection
// that has not sent a request within 5 s is taken for idle, as in
// net/http.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdown.Store(true)
	s.conns.Shut()
	return connset.Wait(ctx, s.closeIdle)
}

// closeIdle closes the idle connections; it reports whether none is left.
func (s *Server) closeIdle() bool {
	old := time.Now().Unix() - 5
	for _, c := range s.conns.Open() {
		switch http.ConnState(c.state.Load()) {
		case http.StateIdle:
			c.rwc.Close()
		case http.StateNew:
			if c.since.Load() < old {
				c.rwc.Close()
			}
		}
	}
	return s.conns.Len() == 0
}
