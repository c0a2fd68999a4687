// Package h2server is the gateway's HTTP/2 server: the downstream side of
// an HTTP/2 connection (prior knowledge in plaintext, or h2 negotiated by
// ALPN), from frames on the socket to an http.Handler and back.
//
// It replaces net/http's HTTP/2 server on the gateway's listeners for
// speed (docs/performance.md). net/http's runs every frame through one
// serving goroutine: a handler's headers and data go to it over channels
// and each flush is written by a goroutine of its own. Here one goroutine
// per connection reads frames and answers the connection's control frames
// itself, each stream's handler runs on its own goroutine and writes its
// frames to the connection directly under a lock, and a response that
// fits its buffer (the proxy's common case) leaves in one write with its
// headers.
//
// Framing, HPACK and the limits on header blocks (CONTINUATION floods)
// are golang.org/x/net/http2's Framer; what this package adds is the
// stream states, flow control, request and response mapping of RFC 9113,
// with net/http's HTTP/2 server as the reference for what a handler sees.
package h2server

import (
	"context"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/meshgate/meshgate/internal/gateway/connset"
)

// Server serves HTTP/2 connections with Handler.
type Server struct {
	Handler http.Handler
	// MaxConcurrentStreams is advertised in SETTINGS and enforced: a
	// stream beyond it is refused (REFUSED_STREAM), and so is a stream
	// opened while that many handlers still run (streams the client
	// reset early). Zero: 100, Envoy's default.
	MaxConcurrentStreams uint32
	// MaxHeaderBytes caps a request's decoded header list
	// (SETTINGS_MAX_HEADER_LIST_SIZE, with net/http's slack); a larger one
	// gets 431. Zero: http.DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// ReadHeaderTimeout bounds the wait for the client's connection
	// preface and first SETTINGS.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes (GOAWAY) a connection without streams for this
	// long. Zero: none.
	IdleTimeout time.Duration
	// WriteTimeout bounds one write to the socket: a client that takes
	// no bytes for this long is cut. Zero: 30 s.
	WriteTimeout time.Duration
	// ConnContext, when set, derives the context of a connection's
	// requests from the base context (which holds
	// http.LocalAddrContextKey).
	ConnContext func(ctx context.Context, c net.Conn) context.Context
	// ConnState, when set, is told when a connection is new and when it
	// is closed.
	ConnState func(net.Conn, http.ConnState)
	// ErrorLog receives handler panics and connection errors; nil: the
	// log package's standard logger.
	ErrorLog *log.Logger

	conns   connset.Set[*conn] // and its sweeper (timeouts.go)
	workers workers
}

// ServeConn serves c, which has not sent its connection preface yet, and
// returns when c is closed. It returns false at once, leaving c to the
// caller, when the server has shut down.
func (s *Server) ServeConn(c net.Conn) bool {
	sc := newConn(s, c)
	if !s.conns.Add(sc) {
		return false
	}
	defer s.conns.Remove(sc)
	s.conns.Sweep(armPeriod, armTimeouts)
	sc.serve()
	return true
}

// Shutdown stops the server gracefully: every connection is sent GOAWAY
// naming the last stream it will process, closes once those streams are
// done, and new connections are refused. It returns when no connection
// is left, or with ctx's error when ctx ends first.
func (s *Server) Shutdown(ctx context.Context) error {
	s.workers.close() // handlers still to come run on goroutines of their own
	for _, c := range s.conns.Shut() {
		c.goAway()
	}
	return connset.Wait(ctx, func() bool { return s.conns.Len() == 0 })
}

func (s *Server) maxStreams() uint32 {
	if s.MaxConcurrentStreams == 0 {
		return 100
	}
	return s.MaxConcurrentStreams
}

// maxHeaderListSize is what SETTINGS_MAX_HEADER_LIST_SIZE advertises: the
// header bytes plus HPACK's 32 bytes of overhead per field, as net/http
// counts them.
func (s *Server) maxHeaderListSize() uint32 {
	n := s.MaxHeaderBytes
	if n <= 0 {
		n = http.DefaultMaxHeaderBytes
	}
	const perFieldOverhead, fields = 32, 10
	return uint32(n + perFieldOverhead*fields)
}

func (s *Server) writeTimeout() time.Duration {
	if s.WriteTimeout <= 0 {
		return 30 * time.Second
	}
	return s.WriteTimeout
}

func (s *Server) logf(format string, args ...any) {
	if s.ErrorLog != nil {
		s.ErrorLog.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}
