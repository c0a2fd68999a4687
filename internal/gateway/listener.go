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
// served by h1 (internal/gateway/h1server), HTTP/2 ones by srv, net/http's
// server: plain for prior knowledge, secure for h2 negotiated by ALPN.
type serving struct {
	cfg    ir.Listener
	tls    *tls.Config
	h1     *h1server.Server
	srv    *http.Server
	plain  *chanListener
	secure *chanListener
}

// sameAs reports whether l serves cfg without a new serving: only the
// protocol and TLS matter; routes and limits live in the gateway state.
func (s *serving) sameAs(cfg ir.Listener) bool {
	return s.cfg.Protocol == cfg.Protocol && reflect.DeepEqual(s.cfg.TLS, cfg.TLS)
}

func (l *listener) sameAs(cfg ir.Listener) bool { return l.serving.Load().sameAs(cfg) }

// newServing prepares the servers for cfg; nothing listens yet.
func (g *Gateway) newServing(cfg ir.Listener, addr net.Addr) (*serving, error) {
	tcfg, err := serverTLS(cfg.TLS, cfg.Protocol, cfg.Port, g.log)
	if err != nil {
		return nil, err
	}
	s := &serving{cfg: cfg, tls: tcfg, plain: newChanListener(addr), secure: newChanListener(addr)}
	handler := &proxy{g: g, port: cfg.Port, protocol: cfg.Protocol}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	if cfg.Protocol == ir.HTTP2 || cfg.Protocol == ir.GRPC {
		protocols.SetHTTP2(true)            // ALPN h2 under TLS
		protocols.SetUnencryptedHTTP2(true) // prior knowledge in plaintext
	}
	s.srv = &http.Server{
		Handler:           handler,
		Protocols:         &protocols,
		ReadHeaderTimeout: g.opts.ReadHeaderTimeout,
		IdleTimeout:       g.opts.IdleTimeout,
		MaxHeaderBytes:    g.opts.MaxHeaderBytes,
		ErrorLog:          g.errorLog,
		ConnState:         g.connState(cfg.Port),
		HTTP2:             g.http2Config(), // hygiene.go
	}
	s.h1 = &h1server.Server{
		Handler:           handler,
		ReadHeaderTimeout: g.opts.ReadHeaderTimeout,
		IdleTimeout:       g.opts.IdleTimeout,
		BodyIdleTimeout:   g.opts.bodyIdleTimeout(),
		MaxHeaderBytes:    g.opts.MaxHeaderBytes,
		ErrorLog:          g.errorLog,
		ConnState:         s.srv.ConnState,
		// forward.go aborts a broken response with http.ErrAbortHandler
		// only under a server, as ReverseProxy does.
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, http.ServerContextKey, s.srv)
		},
	}
	if tcfg != nil && cfg.Protocol != ir.HTTP {
		s.srv.TLSConfig = tcfg // lets the server wire h2 for ALPN
	}
	go s.srv.Serve(s.plain)
	go s.srv.Serve(s.secure)
	return s, nil
}

// openListener binds cfg's port and starts serving it.
func (g *Gateway) openListener(cfg ir.Listener) (*listener, error) {
	raw, err := net.Listen("tcp", net.JoinHostPort(g.opts.ListenHost, strconv.Itoa(int(cfg.Port))))
	if err != nil {
		return nil, err
	}
	s, err := g.newServing(cfg, raw.Addr())
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
				if c, isH2, ok = sniffH2(c, s.srv.ReadHeaderTimeout); !ok {
					return
				}
				h2Sniffed = true
			}
			if isH2 {
				delivered = s.plain.deliver(c)
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
	if tc, ok := c.(*tls.Conn); ok && tc.ConnectionState().NegotiatedProtocol == "h2" {
		return s.secure.deliver(c)
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
	s.plain.Close()
	s.secure.Close()
	h1 := make(chan error, 1)
	go func() { h1 <- s.h1.Shutdown(ctx) }()
	err := s.srv.Shutdown(ctx)
	if err1 := <-h1; err == nil {
		err = err1
	}
	return err
}

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
