package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/meshgate/meshgate/internal/gateway/accesslog"
)

// recorder notes the status and bytes of a response. It unwraps for
// http.ResponseController, so flushing and hijacking (websockets) reach
// the real connection.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  uint64
	idle   *idleTimer // the route's idle timeout, told of the response's events
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 || r.status == http.StatusSwitchingProtocols {
		r.status = code
	}
	r.idle.touch()
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += uint64(n)
	r.idle.touch()
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Hijack keeps working for callers that type-assert http.Hijacker.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	r.status = http.StatusSwitchingProtocols
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

// Flush flushes the wrapped writer (without allocating a
// ResponseController per call).
func (r *recorder) Flush() { flush(r.ResponseWriter) }

// countingBody counts request body bytes.
type countingBody struct {
	io.ReadCloser
	n    uint64
	end  time.Time  // when the body's end was read
	idle *idleTimer // the route's idle timeout, told of the body's bytes
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += uint64(n)
	if n > 0 {
		b.idle.touch()
	}
	if err == io.EOF && b.end.IsZero() {
		b.end = time.Now()
	}
	return n, err
}

// observe records a finished request in the metrics and the access log.
// body is the request's body (nil: none).
func (g *Gateway) observe(r *http.Request, rec *recorder, body *countingBody, ex *exchange, start time.Time) {
	st := ex.st
	if st == nil {
		return
	}
	end := time.Now()
	status := rec.status
	if status == 0 {
		status = http.StatusOK
		if isUpgrade(r) {
			status = http.StatusSwitchingProtocols // the proxy answered on the hijacked connection
		}
	}
	d := end.Sub(start)
	if lm := ex.listenerMetrics; lm != nil {
		lm.RequestDone(status, d)
		switch {
		case ex.flags&accesslog.NoRouteFound != 0:
			lm.NoRoute()
		case ex.flags&accesslog.UpstreamOverflow != 0:
			lm.Overflow()
		}
	}
	if ex.decision.GatewayRoute != "" {
		st.observers.routes[ex.decision.GatewayRouteID].Observe(status, d)
	}
	if cm := ex.clusterMetrics; cm != nil {
		if !ex.lastAttemptStart.IsZero() {
			cm.RequestDone(ex.lastAttemptStatus, end.Sub(ex.lastAttemptStart))
		}
		if ex.attempts > 1 {
			for range ex.attempts - 1 {
				cm.Retry()
			}
		}
		switch {
		case ex.flags&accesslog.NoHealthyUpstream != 0:
			cm.NoHealthyUpstream()
		case ex.flags&accesslog.UpstreamRetryLimitExceeded != 0:
			cm.RetryLimitExceeded()
		}
	}
	if st.accessFormat == nil || st.accessLog == nil {
		return
	}
	// The request ended with its head, or when its body's end was read;
	// a body not read to its end, with the exchange.
	requestEnd, received := start, uint64(0)
	if body != nil {
		received = body.n
		switch {
		case !body.end.IsZero():
			requestEnd = body.end
		case r.ContentLength != 0:
			requestEnd = end
		}
	}
	e := accesslog.Entry{StartTime: start, EndTime: end, RequestEnd: requestEnd, UpstreamResponseStart: ex.responseStart,
		ResponseCode: status, ResponseHeader: rec.Header(), ResponseFlags: ex.flags, BytesReceived: received,
		BytesSent: rec.bytes, RouteName: ex.decision.GatewayRoute, UpstreamCluster: ex.decision.Cluster,
		UpstreamHost: ex.upstream, UpstreamAttempts: uint32(ex.attempts)}
	e.SetRequest(r)
	if out := ex.out; out != nil {
		// Envoy logs the request as its filters left it: rewritten path and
		// authority, the X-Forwarded-For and x-request-id it set.
		e.Path = out.URL.RequestURI()
		e.Authority = out.Host
		e.RequestHeader = out.Header
		e.OriginalPath = out.Header.Get("X-Envoy-Original-Path")
	}
	st.accessLog.Log(st.accessFormat, &e)
}
