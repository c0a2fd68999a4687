package xds

import (
	"context"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"
)

// go-control-plane gives callbacks no way to end a stream except by
// failing the proxy's next request, and a proxy with nothing to ACK may
// send none for hours. The interceptor below wraps each stream so the
// server can end it with a status of its choosing (a deleted gateway gets
// App Mesh's "resource not found"), and the stats handler numbers
// connections so that the streams of one proxy (one per type when it does
// not use ADS) count as one proxy.

type ctxKey int

const (
	handleKey ctxKey = iota
	connKey
)

// streamHandle ends one stream.
type streamHandle struct {
	cancel context.CancelCauseFunc
	err    atomic.Pointer[error]
}

// kill ends the stream; the proxy sees err (a gRPC status error).
func (h *streamHandle) kill(err error) {
	h.err.CompareAndSwap(nil, &err)
	h.cancel(err)
}

func handleFrom(ctx context.Context) *streamHandle {
	h, _ := ctx.Value(handleKey).(*streamHandle)
	return h
}

// connFrom returns the connection number of a stream or unary call (0 when
// the stats handler is not installed).
func connFrom(ctx context.Context) uint64 {
	n, _ := ctx.Value(connKey).(uint64)
	return n
}

// streamInterceptor makes every stream killable.
func streamInterceptor(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, cancel := context.WithCancelCause(ss.Context())
	defer cancel(nil)
	h := &streamHandle{cancel: cancel}
	ctx = context.WithValue(ctx, handleKey, h)
	err := handler(srv, &killableStream{ServerStream: ss, ctx: ctx})
	if e := h.err.Load(); e != nil {
		return *e
	}
	return err
}

// killableStream returns from a blocked RecvMsg when its context ends.
// go-control-plane's reader goroutine sits in RecvMsg; returning an error
// there closes its request channel, and the handler returns.
type killableStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *killableStream) Context() context.Context { return s.ctx }

func (s *killableStream) RecvMsg(m any) error {
	if err := s.ctx.Err(); err != nil {
		return context.Cause(s.ctx)
	}
	done := make(chan error, 1)
	// The goroutine outlives a kill only until the handler returns: gRPC
	// then ends the stream and the underlying RecvMsg returns. Nobody reads
	// m after an error, so its late write is harmless.
	go func() { done <- s.ServerStream.RecvMsg(m) }()
	select {
	case err := <-done:
		return err
	case <-s.ctx.Done():
		return context.Cause(s.ctx)
	}
}

// connTagger numbers connections.
type connTagger struct{ last atomic.Uint64 }

func (c *connTagger) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return context.WithValue(ctx, connKey, c.last.Add(1))
}
func (c *connTagger) HandleConn(context.Context, stats.ConnStats) {}
func (c *connTagger) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	return ctx
}
func (c *connTagger) HandleRPC(context.Context, stats.RPCStats) {}
