package gateway

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/meshgate/meshgate/internal/gateway/accesslog"
	"github.com/meshgate/meshgate/internal/gateway/router"
	"github.com/meshgate/meshgate/internal/ir"
)

// exchange is what one proxied request carries from routing to the
// transport and back, in its context.
type exchange struct {
	st       *state
	decision router.Decision
	cluster  upstreamCluster
	retry    *ir.RetryPolicy
	body     []byte // kept for retries, nil when not retryable
	attempts int
	flags    accesslog.ResponseFlags // Envoy response flags of the outcome
	upstream string                  // upstream host of the last attempt
	out      *http.Request           // the request as forwarded, for the access log
}

type exchangeKey struct{}

func exchangeFrom(ctx context.Context) *exchange {
	ex, _ := ctx.Value(exchangeKey{}).(*exchange)
	return ex
}

// proxy serves one listener.
type proxy struct {
	g        *Gateway
	port     uint32
	protocol ir.Protocol
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	st := p.g.state.Load()
	rec := &recorder{ResponseWriter: w}
	body := &countingBody{ReadCloser: r.Body}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = body
	}
	ex := &exchange{st: st}
	p.serve(rec, r, ex)
	p.g.observe(p.port, r, rec, body.n, ex, start)
}

func (p *proxy) serve(w http.ResponseWriter, r *http.Request, ex *exchange) {
	st := ex.st
	if p.g.draining.Load() && r.ProtoMajor == 1 {
		w.Header().Set("Connection", "close")
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
	if d.Route.Timeout > 0 && !upgrade {
		// An upgraded connection (websocket) outlives the route timeout,
		// as in Envoy, where it only bounds the upgrade's response.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Route.Timeout.D())
		defer cancel()
	}
	if ex.retry != nil && ex.retry.MaxRetries > 0 && !upgrade {
		if err := ex.keepBody(r); err != nil {
			localReply(w, r, http.StatusBadRequest, "request body could not be read")
			return
		}
	}
	p.g.rp.ServeHTTP(w, r.WithContext(context.WithValue(ctx, exchangeKey{}, ex)))
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

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h[name] {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func pickWeight(n uint32) uint32 { return rand.Uint32N(n) }

// newReverseProxy is the forwarding engine shared by all listeners: it
// streams bodies both ways, passes trailers, handles upgrades and strips
// hop-by-hop headers (including those named in Connection).
func (g *Gateway) newReverseProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite:       rewrite,
		Transport:     transport{},
		FlushInterval: -1, // stream: gRPC and server-sent events must not wait for a buffer
		ErrorHandler:  errorReply,
		ErrorLog:      g.errorLog,
		BufferPool:    bufferPool{},
	}
}

// rewrite builds the upstream request: the rewritten path and Host, and
// the edge headers Envoy sets at a gateway (X-Forwarded-For appended with
// the client address, X-Forwarded-Proto, a fresh x-request-id).
func rewrite(pr *httputil.ProxyRequest) {
	ex := exchangeFrom(pr.In.Context())
	d := ex.decision
	u := pr.Out.URL
	u.Scheme, u.Host = "http", d.Host
	u.RawPath = d.Path
	if p, err := url.PathUnescape(d.Path); err == nil {
		u.Path = p
	} else {
		u.Path, u.RawPath = d.Path, ""
	}
	u.RawQuery = pr.In.URL.RawQuery
	pr.Out.Host = d.Host
	// At the edge Envoy drops x-envoy-* headers a client sent, and marks a
	// rewritten path with the original one.
	for k := range pr.Out.Header {
		if len(k) > 8 && strings.EqualFold(k[:8], "X-Envoy-") {
			delete(pr.Out.Header, k)
		}
	}
	if orig, _, _ := requestPath(pr.In); orig != d.Path {
		pr.Out.Header.Set("X-Envoy-Original-Path", pr.In.RequestURI)
	}
	if prior := pr.In.Header["X-Forwarded-For"]; len(prior) > 0 {
		pr.Out.Header["X-Forwarded-For"] = prior
	}
	pr.SetXForwarded()
	pr.Out.Header.Del("X-Forwarded-Host") // Envoy does not add it by default
	pr.Out.Header.Set("X-Request-Id", uuid.NewString())
	ex.out = pr.Out
}

// transport runs the attempts of one exchange against its cluster.
type transport struct{}

func (transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	ex := exchangeFrom(ctx)
	max := 0
	var perTry time.Duration
	if ex.retry != nil && ex.body != nil {
		max = int(ex.retry.MaxRetries)
		perTry = ex.retry.PerTryTimeout.D()
	}
	for n := 0; ; n++ {
		if ex.body != nil {
			req.Body = http.NoBody
			if len(ex.body) > 0 {
				req.Body = newBytesBody(ex.body)
			}
		}
		ex.attempts = n + 1
		resp, err := attempt(ctx, ex.cluster, req, perTry)
		ex.upstream = req.URL.Host // the endpoint the cluster chose
		if n >= max || ctx.Err() != nil || !retryable(ex.retry, resp, err) {
			if err != nil && n > 0 && max > 0 {
				ex.flags |= accesslog.UpstreamRetryLimitExceeded
			}
			return resp, err
		}
		if resp != nil {
			drainAndClose(resp)
		}
		select {
		case <-time.After(backoff(n)):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// errorReply answers a request whose upstream exchange failed before a
// response began, with Envoy's status and text.
func errorReply(w http.ResponseWriter, r *http.Request, err error) {
	ex := exchangeFrom(r.Context())
	switch {
	case errors.Is(r.Context().Err(), context.Canceled) && !isDeadline(err):
		setFlag(ex, accesslog.DownstreamConnectionTermination)
		return // the client went away; there is no one to answer
	case isDeadline(err):
		setFlag(ex, accesslog.UpstreamRequestTimeout)
		localReply(w, r, http.StatusGatewayTimeout, bodyTimeout)
	case errors.Is(err, errNoHealthyUpstream):
		setFlag(ex, accesslog.NoHealthyUpstream)
		localReply(w, r, http.StatusServiceUnavailable, bodyNoHealthy)
	default:
		setFlag(ex, accesslog.UpstreamConnectionFailure)
		localReply(w, r, http.StatusServiceUnavailable, bodyConnFail)
	}
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

// bufferPool reuses the 32 KiB copy buffers of the reverse proxy.
type bufferPool struct{}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *copyBuffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { copyBuffers.Put(&b) }
