package gateway

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/meshgate/meshgate/internal/gateway/accesslog"
	"github.com/meshgate/meshgate/internal/gateway/metrics"
	"github.com/meshgate/meshgate/internal/gateway/reqctx"
	"github.com/meshgate/meshgate/internal/gateway/router"
	"github.com/meshgate/meshgate/internal/gateway/upstream"
	"github.com/meshgate/meshgate/internal/ir"
)

// exchange is what one proxied request carries from routing to the
// transport and back. It is allocated once per request and holds what
// would otherwise be separate allocations: the response recorder, the
// forwarded request and its URL. It receives the upstream's 1xx
// responses (Got1xx) through the request's context (reqctx), or, for a
// request that has none, through an httptrace hook.
type exchange struct {
	st       *state
	decision router.Decision
	cluster  upstreamCluster
	// The metrics of the request's listener and of its cluster (nil: none).
	listenerMetrics *metrics.ListenerMetrics
	clusterMetrics  *metrics.ClusterMetrics
	// The last attempt, when its response is being passed on: it ends
	// when the request does (observe).
	lastAttemptStart  time.Time
	lastAttemptStatus int
	// When the first attempt started and when the head of the response
	// passed on arrived: x-envoy-upstream-service-time and the access
	// log's RESPONSE_DURATION.
	firstAttemptStart time.Time
	responseStart     time.Time
	serviceTime       [1]string  // the header's value
	idle              *idleTimer // the route's idle timeout; nil: none
	retry             *ir.RetryPolicy
	body              []byte // kept for retries, nil when not retryable
	attempts          int
	flags             accesslog.ResponseFlags // Envoy response flags of the outcome
	upstream          string                  // upstream host of the last attempt
	out               *http.Request           // the request as forwarded, for the access log

	rec         recorder
	outReq      http.Request
	outURL      url.URL
	addedValues [4]string // forwardHeader's

	// 1xx responses of the upstream are passed on until RoundTrip returns.
	mu1xx  sync.Mutex
	done1x bool
}

// proxy serves one listener.
type proxy struct {
	g        *Gateway
	port     uint32
	protocol ir.Protocol
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := requestStart(r)
	ex := &exchange{st: p.g.state.Load()}
	if ex.st != nil {
		ex.listenerMetrics = ex.st.observers.listeners[p.port]
		ex.listenerMetrics.RequestStarted()
	}
	ex.rec.ResponseWriter = w
	var body *countingBody
	if r.Body != nil && r.Body != http.NoBody {
		body = &countingBody{ReadCloser: r.Body}
		r.Body = body
	}
	// Observed also when serve aborts a response it began
	// (http.ErrAbortHandler), as Envoy logs a reset stream.
	defer func() { p.g.observe(r, &ex.rec, body, ex, start) }()
	p.serve(&ex.rec, r, ex)
}

func (p *proxy) serve(w *recorder, r *http.Request, ex *exchange) {
	st := ex.st
	if p.g.draining.Load() {
		// HTTP/1: the connection closes after this response. HTTP/2: the
		// server sends GOAWAY after it instead of the field, and the
		// connection closes once its streams are done, as Envoy drains.
		w.Header().Set("Connection", "close")
	}
	if !p.screen(w, r, ex) { // edge checks: hygiene.go
		return
	}
	if st == nil {
		ex.flags |= accesslog.NoHealthyUpstream
		localReply(w, r, http.StatusServiceUnavailable, bodyNoHealthy)
		return
	}
	path, query, ok := requestPath(r)
	if !ok {
		localReply(w, r, http.StatusBadRequest, "bad request path")
		return
	}
	req := router.Request{Port: p.port, Method: r.Method, Path: router.NormalizePath(path), RawQuery: query,
		Host: r.Host, Scheme: scheme(r), Header: r.Header}
	d := st.table.Route(&req, pickWeight)
	ex.decision = d
	switch d.Status {
	case 0:
	case http.StatusNotFound:
		ex.flags |= accesslog.NoRouteFound
		localReply(w, r, http.StatusNotFound, "")
		return
	default:
		ex.flags |= accesslog.NoHealthyUpstream
		localReply(w, r, d.Status, bodyNoHealthy)
		return
	}
	ex.clusterMetrics = st.observers.clusters[d.Cluster]
	c, ok := p.g.upstreams.Cluster(d.Cluster)
	if !ok {
		ex.flags |= accesslog.NoClusterFound
		localReply(w, r, http.StatusServiceUnavailable, bodyNoHealthy)
		return
	}
	lim := st.limits[p.port]
	if !lim.acquire(r.Context()) {
		ex.flags |= accesslog.UpstreamOverflow
		w.Header().Set("X-Envoy-Overloaded", "true")
		localReply(w, r, http.StatusServiceUnavailable, bodyOverflow)
		return
	}
	defer lim.release()

	ex.cluster, ex.retry = c, d.Route.Retry
	ctx := r.Context()
	upgrade := isUpgrade(r)
	timeout, idle := d.Route.Timeout.D(), d.Route.IdleTimeout.D()
	if timeout > 0 && !upgrade {
		// An upgraded connection (websocket) outlives the route timeout,
		// as in Envoy, where it only bounds the upgrade's response.
		var cancel context.CancelFunc
		ctx, cancel = reqctx.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if idle > 0 && (timeout <= 0 || idle < timeout || upgrade) {
		// An idle timeout no shorter than the route timeout cannot run out
		// first (App Mesh's defaults: 300 and 15 s): it costs nothing then.
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		ex.idle = startIdle(idle, func() { cancel(errStreamIdle) })
		defer ex.idle.stop()
		w.idle = ex.idle
		if b, ok := r.Body.(*countingBody); ok {
			b.idle = ex.idle
		}
	}
	if ex.retry != nil && ex.retry.MaxRetries > 0 && !upgrade {
		if err := ex.keepBody(r); err != nil {
			localReply(w, r, http.StatusBadRequest, "request body could not be read")
			return
		}
	}
	p.g.forward(w, r, ctx, ex)
}

// keepBody reads a small request body into memory so it can be sent again;
// a large or streamed body makes the request non-retryable.
func (ex *exchange) keepBody(r *http.Request) error {
	switch {
	case r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0:
		ex.body = []byte{}
		return nil
	case r.ContentLength < 0 || r.ContentLength > maxRetryBody:
		ex.retry = nil
		return nil
	}
	b := make([]byte, r.ContentLength)
	if _, err := readFull(r.Body, b); err != nil {
		return err
	}
	ex.body = b
	return nil
}

// requestPath is the raw (still escaped) path and query as the client sent
// them; ok is false for a request target that is not a path.
func requestPath(r *http.Request) (path, query string, ok bool) {
	raw := r.RequestURI
	if !strings.HasPrefix(raw, "/") {
		if r.URL == nil || r.URL.Path == "" && r.URL.RawPath == "" {
			return "", "", false
		}
		return r.URL.EscapedPath(), r.URL.RawQuery, true
	}
	path, query, _ = strings.Cut(raw, "?")
	return path, query, true
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func isUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" && headerHasToken(r.Header, "Connection", "upgrade")
}

// headerHasToken reports whether a comma-separated header has token
// (case-insensitive, surrounding white space ignored).
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h[name] {
		for v != "" {
			t, rest, _ := strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
			v = rest
		}
	}
	return false
}

func pickWeight(n uint32) uint32 { return rand.Uint32N(n) }

// errorReply answers a request whose upstream exchange failed before a
// response began, with Envoy's status, text and response flag. ctx is the
// exchange's context (with the route timeout).
func errorReply(w http.ResponseWriter, r *http.Request, ctx context.Context, ex *exchange, err error) {
	if clientBodyFailed(w, r, ex) { // the client's request body, not the upstream, failed (hygiene.go)
		return
	}
	switch {
	case errors.Is(context.Cause(ctx), errStreamIdle):
		// Envoy: 408 when no response head came before the route's idle
		// timeout.
		setFlag(ex, accesslog.StreamIdleTimeout)
		localReply(w, r, http.StatusRequestTimeout, bodyStreamTimeout)
		return
	case clientGone(ctx, err):
		setFlag(ex, accesslog.DownstreamConnectionTermination)
		return // the client went away; there is no one to answer
	case isDeadline(err):
		setFlag(ex, accesslog.UpstreamRequestTimeout)
		localReply(w, r, http.StatusGatewayTimeout, bodyTimeout)
		return
	}
	status, body, ok := upstream.LocalReply(err)
	if !ok { // a cancellation that was not the client's
		status, body = http.StatusServiceUnavailable, upstream.BodyConnectionTermination
	}
	flag := accesslog.NoHealthyUpstream
	if !errors.Is(err, errNoHealthyUpstream) {
		_, flag = failure(err)
	}
	setFlag(ex, flag)
	localReply(w, r, status, body)
}

// failure names a failed attempt's error, the upstream's, as the metrics'
// reason and Envoy's response flag: a failed connect (UF), a timeout
// (UT), a response that is not HTTP (UPE), an HTTP/2 stream the upstream
// reset (UR), or a connection closed or reset before the response (UC).
// upstream.LocalReply gives the reply.
func failure(err error) (metrics.UpstreamError, accesslog.ResponseFlags) {
	switch {
	case isConnectFailure(err):
		return metrics.ErrConnectFailure, accesslog.UpstreamConnectionFailure
	case isDeadline(err):
		return metrics.ErrTimeout, accesslog.UpstreamRequestTimeout
	case errors.As(err, new(*upstream.ProtocolError)):
		return metrics.ErrProtocol, accesslog.UpstreamProtocolError
	case errors.As(err, new(*upstream.RemoteResetError)):
		return metrics.ErrReset, accesslog.UpstreamRemoteReset
	}
	return metrics.ErrReset, accesslog.UpstreamConnectionTermination
}

func setFlag(ex *exchange, f accesslog.ResponseFlags) {
	if ex != nil {
		ex.flags |= f
	}
}

func isDeadline(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// Got1xx passes an upstream's informational response (103 Early Hints,
// 100 Continue) downstream while the exchange's RoundTrip runs.
func (ex *exchange) Got1xx(code int, header textproto.MIMEHeader) error {
	ex.mu1xx.Lock()
	defer ex.mu1xx.Unlock()
	if ex.done1x {
		// RoundTrip has returned: the response writer's header map is
		// no longer ours to change.
		return nil
	}
	h := ex.rec.Header()
	copyHeader(h, http.Header(header))
	ex.rec.WriteHeader(code)
	// A 1xx WriteHeader does not clear the header map.
	clear(h)
	return nil
}

func (ex *exchange) roundTripDone() {
	ex.mu1xx.Lock()
	ex.done1x = true
	ex.mu1xx.Unlock()
}

// bufferPool reuses the 32 KiB copy buffers of response bodies.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// requestStart is when r's first byte arrived, as its server read the
// clock; now for a server without a request context.
func requestStart(r *http.Request) time.Time {
	if rc := reqctx.From(r.Context()); rc != nil {
		if t := rc.Start(); !t.IsZero() {
			return t
		}
	}
	return time.Now()
}
