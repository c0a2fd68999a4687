package gateway

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/meshgate/meshgate/internal/gateway/h1server"
	"github.com/meshgate/meshgate/internal/gateway/h2server"
	"github.com/meshgate/meshgate/internal/ir"
)

// listener owns one port's socket for the gateway's lifetime. What serves
// the connections — protocol, TLS mode and certificates — is a serving
// that a configuration change replaces without closing the socket: new
// connections go to the new serving while the old one finishes its
// connections, so no request, websocket or stream is cut.
type listener struct {
	raw     net.Listener
	serving atomic.Pointer[serving]
	wg      sync.WaitGroup
}

// serving is one configuration of a listener. HTTP/1 connections are
// served by h1 (internal/gateway/h1server), HTTP/2 ones by h2
// (internal/gateway/h2server): prior knowledge in plaintext, h2
// negotiated by ALPN under TLS.
type serving struct {
	cfg ir.Listener
	tls *tls.Config
	h1  *h1server.Server
	h2  *h2server.Server
}

// sameAs reports whether l serves cfg without a new serving: only the
// protocol and TLS matter; routes and limits live in the gateway state.
func (s *serving) sameAs(cfg ir.Listener) bool {
	return s.cfg.Protocol == cfg.Protocol && reflect.DeepEqual(s.cfg.TLS, cfg.TLS)
}

func (l *listener) sameAs(cfg ir.Listener) bool { return l.serving.Load().sameAs(cfg) }

// newServing prepares the servers for cfg; nothing listens yet.
func (g *Gateway) newServing(cfg ir.Listener) (*serving, error) {
	tcfg, err := serverTLS(cfg.TLS, cfg.Protocol, cfg.Port, g.log)
	if err != nil {
		return nil, err
	}
	handler := &proxy{g: g, port: cfg.Port, protocol: cfg.Protocol}
	// forward.go aborts a broken response with http.ErrAbortHandler only
	// under a server, as ReverseProxy does.
	connContext := func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, underServerKey{}, true)
	}
	connState := g.connState(cfg.Port)
	// The routes live in the gateway state; kept here, they would hold the
	// configuration the listener was opened with as long as it serves.
	cfg.VirtualHosts = nil
	s := &serving{cfg: cfg, tls: tcfg}
	s.h1 = &h1server.Server{
		Handler:           handler,
		ReadHeaderTimeout: g.opts.ReadHeaderTimeout,
		IdleTimeout:       g.opts.IdleTimeout,
		BodyIdleTimeout:   g.opts.bodyIdleTimeout(),
		MaxHeaderBytes:    g.opts.MaxHeaderBytes,
		ErrorLog:          g.errorLog,
		ConnState:         connState,
		ConnContext:       connContext,
	}
	if cfg.Protocol == ir.HTTP2 || cfg.Protocol == ir.GRPC {
		s.h2 = &h2server.Server{
			Handler:              handler,
			MaxConcurrentStreams: g.opts.maxConcurrentStreams(),
			MaxHeaderBytes:       g.opts.MaxHeaderBytes,
			ReadHeaderTimeout:    g.opts.ReadHeaderTimeout,
			IdleTimeout:          g.opts.IdleTimeout,
			ErrorLog:             g.errorLog,
			ConnState:            connState,
			ConnContext:          connContext,
		}
	}
	return s, nil
}

// openListener binds cfg's port and starts serving it.
func (g *Gateway) openListener(cfg ir.Listener) (*listener, error) {
	raw, err := net.Listen("tcp", net.JoinHostPort(g.opts.ListenHost, strconv.Itoa(int(cfg.Port))))
	if err != nil {
		return nil, err
	}
	s, err := g.newServing(cfg)
	if err != nil {
		raw.Close()
		return nil, err
	}
	l := &listener{raw: raw}
	l.serving.Store(s)
	l.wg.Add(1)
	go l.accept()
	return l, nil
}

func (l *listener) accept() {
	defer l.wg.Done()
	for {
		c, err := l.raw.Accept()
		if err != nil {
			return
		}
		go l.dispatch(c)
	}
}

// mode is the TLS mode the serving applies.
func (s *serving) mode() ir.TLSMode {
	if s.cfg.TLS != nil && s.tls != nil {
		return s.cfg.TLS.Mode
	}
	return ir.TLSDisabled
}

// dispatch hands a connection to the HTTP/1 or HTTP/2 server of the
// current serving. A PERMISSIVE connection is first sniffed (its first
// byte decides TLS or not), a plaintext one of an HTTP/2 or gRPC listener
// too (the HTTP/2 preface decides). The serving is looked up again at delivery, and a
// serving replaced meanwhile passes the connection on to its successor,
// so a client connecting during a configuration change is not dropped.
func (l *listener) dispatch(c net.Conn) {
	sniffed, isTLS, terminated := false, false, false
	h2Sniffed, isH2 := false, false
	for range 5 {
		s := l.serving.Load()
		mode := s.mode()
		if mode == ir.TLSPermissive && !sniffed {
			var ok bool
			if c, isTLS, ok = sniff(c); !ok {
				return
			}
			sniffed = true
			continue // the serving may have changed while we waited
		}
		var delivered bool
		switch {
		case terminated:
			delivered = s.serveTLS(c)
		case mode == ir.TLSStrict, mode == ir.TLSPermissive && isTLS:
			var ok bool
			if c, ok = s.terminateTLS(c); !ok {
				return
			}
			terminated = true
			delivered = s.serveTLS(c)
		case s.cfg.Protocol == ir.HTTP:
			delivered = s.h1.ServeConn(c)
		default:
			if !h2Sniffed {
				var ok bool
				if c, isH2, ok = sniffH2(c, s.h1.ReadHeaderTimeout); !ok {
					return
				}
				h2Sniffed = true
			}
			if isH2 {
				delivered = s.h2.ServeConn(c)
			} else {
				delivered = s.h1.ServeConn(c)
			}
		}
		if delivered {
			return
		}
	}
	c.Close()
}

// serveTLS serves a terminated TLS connection: HTTP/2 when the client
// negotiated h2, else HTTP/1.
func (s *serving) serveTLS(c net.Conn) bool {
	if tc, ok := c.(*tls.Conn); ok && tc.ConnectionState().NegotiatedProtocol == "h2" && s.h2 != nil {
		return s.h2.ServeConn(c)
	}
	return s.h1.ServeConn(c)
}

// swap replaces the serving; the old one stops taking connections and
// finishes its requests in the background.
func (l *listener) swap(next *serving) {
	old := l.serving.Swap(next)
	go old.shutdown(context.Background())
}

func (s *serving) shutdown(ctx context.Context) error {
	if s.h2 == nil {
		return s.h1.Shutdown(ctx)
	}
	h2 := make(chan error, 1)
	go func() { h2 <- s.h2.Shutdown(ctx) }()
	err := s.h1.Shutdown(ctx)
	if err2 := <-h2; err == nil {
		err = err2
	}
	return err
}

// underServerKey marks a request's context as served by a listener.
type underServerKey struct{}

// close stops the listener: the socket closes at once, requests in flight
// finish until ctx ends.
func (l *listener) close(ctx context.Context) error {
	err := l.raw.Close()
	l.wg.Wait()
	if serr := l.serving.Load().shutdown(ctx); serr != nil {
		err = serr
	}
	if err != nil && !isClosedErr(err) {
		return err
	}
	return nil
}

func isClosedErr(err error) bool { return err == net.ErrClosed || err.Error() == net.ErrClosed.Error() }

// connState counts a listener's open downstream connections.
func (g *Gateway) connState(port uint32) func(net.Conn, http.ConnState) {
	lm := g.opts.Metrics.Listener(port)
	return func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			lm.ConnOpened()
		case http.StateClosed, http.StateHijacked:
			lm.ConnClosed()
		}
	}
}
