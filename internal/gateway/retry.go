package gateway

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/meshgate/meshgate/internal/gateway/accesslog"
	"github.com/meshgate/meshgate/internal/gateway/metrics"
	"github.com/meshgate/meshgate/internal/ir"
)

// maxRetryBody is the largest request body kept in memory so a retry can
// send it again; larger or unknown-length bodies are streamed, and such a
// request is attempted once.
const maxRetryBody = 64 << 10

// Envoy's default retry back-off: 25 ms base, exponential, jittered,
// capped at ten times the base.
const (
	retryBase = 25 * time.Millisecond
	retryMax  = 250 * time.Millisecond
)

// grpcCodes maps App Mesh's gRPC retry events to status codes.
var grpcCodes = map[string]string{
	"cancelled": "1", "deadline-exceeded": "4", "resource-exhausted": "8", "internal": "13", "unavailable": "14",
}

// retryable reports whether an attempt's outcome calls for another one
// under the policy, as the Envoy translation's retry_on does
// (translate/envoy/retry.go): server-error is Envoy's 5xx, gateway-error
// its gateway-error and reset, stream-error refused-stream and reset,
// connection-error connect-failure.
func retryable(p *ir.RetryPolicy, resp *http.Response, err error) bool {
	has := func(events []string, e string) bool { return slices.Contains(events, e) }
	if err != nil {
		// Each of 5xx, gateway-error and reset retries an attempt the
		// upstream did not answer: a failed connect, a reset or closed
		// connection, a protocol error, a per-try timeout. No healthy
		// endpoint is no attempt, and the route timeout ends the request.
		reset := has(p.HTTPEvents, "server-error") || has(p.HTTPEvents, "gateway-error") || has(p.HTTPEvents, "stream-error")
		switch {
		case errors.Is(err, errNoHealthyUpstream):
			return false
		case isConnectFailure(err):
			return reset || has(p.TCPEvents, "connection-error")
		case errors.Is(err, errPerTryTimeout):
			return reset
		}
		return reset && !isDeadline(err)
	}
	code := resp.StatusCode
	switch {
	case code >= 500 && has(p.HTTPEvents, "server-error"):
		return true
	case (code == 502 || code == 503 || code == 504) && has(p.HTTPEvents, "gateway-error"):
		return true
	case code == 409 && has(p.HTTPEvents, "client-error"):
		return true
	case slices.Contains(p.StatusCodes, uint32(code)):
		return true
	}
	if len(p.GRPCEvents) > 0 {
		// Only a trailers-only answer carries grpc-status in the headers;
		// once a body streams the attempt is committed.
		if gs := resp.Header.Get("Grpc-Status"); gs != "" {
			for _, e := range p.GRPCEvents {
				if grpcCodes[e] == gs {
					return true
				}
			}
		}
	}
	return false
}

func backoff(attempt int) time.Duration {
	d := retryBase << attempt
	if d > retryMax || d <= 0 {
		d = retryMax
	}
	return rand.N(d) + time.Millisecond
}

// roundTrip runs the attempts of the exchange against its cluster. ctx
// is req's context: the request's with the route timeout.
func (ex *exchange) roundTrip(ctx context.Context, req *http.Request) (*http.Response, error) {
	max := 0
	var perTry time.Duration
	if ex.retry != nil && ex.body != nil {
		max = int(ex.retry.MaxRetries)
		perTry = ex.retry.PerTryTimeout.D()
	}
	for n := 0; ; n++ {
		try := req
		if n > 0 {
			// The transport may still hold the previous attempt's request
			// (writing its body): each retry gets its own.
			try = req.WithContext(ctx)
		}
		if ex.body != nil {
			try.Body = http.NoBody
			if len(ex.body) > 0 {
				try.Body = newBytesBody(ex.body)
			}
		}
		ex.attempts = n + 1
		ex.clusterMetrics.RequestStarted()
		start := time.Now()
		if n == 0 {
			ex.firstAttemptStart = start
		}
		resp, err := attempt(ctx, ex.cluster, try, perTry)
		ex.upstream = req.URL.Host // the endpoint the cluster chose
		last := n >= max || ctx.Err() != nil || !retryable(ex.retry, resp, err)
		ex.attemptDone(ctx, start, resp, err, last)
		if last {
			if err != nil && n > 0 && max > 0 {
				ex.flags |= accesslog.UpstreamRetryLimitExceeded
			}
			return resp, err
		}
		if resp != nil {
			drainAndClose(resp)
		}
		t := time.NewTimer(backoff(n))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}

// attemptDone ends an attempt in the cluster's metrics. A response
// passed on (the last attempt's) ends with the request, after its body.
func (ex *exchange) attemptDone(ctx context.Context, start time.Time, resp *http.Response, err error, last bool) {
	cm := ex.clusterMetrics
	switch {
	case errors.Is(err, errNoHealthyUpstream):
		cm.RequestNotSent()
	case err != nil:
		cm.RequestDone(0, time.Since(start))
		if reason, ok := upstreamError(ctx, err); ok {
			cm.Error(reason)
		}
	case last:
		ex.lastAttemptStart, ex.lastAttemptStatus = start, resp.StatusCode
		ex.responseStart = time.Now()
	default:
		cm.RequestDone(resp.StatusCode, time.Since(start))
	}
}

// upstreamError is why an attempt failed, in the metrics' terms; ok is
// false when the client went away, which is not the upstream's failure.
func upstreamError(ctx context.Context, err error) (reason metrics.UpstreamError, ok bool) {
	if clientGone(ctx, err) {
		return 0, false
	}
	reason, _ = failure(err)
	return reason, true
}

// clientGone reports whether err, an upstream exchange's under ctx, is
// the client's going away (ctx cancelled) rather than the upstream's
// failure or a timeout.
func clientGone(ctx context.Context, err error) bool {
	return errors.Is(ctx.Err(), context.Canceled) && !isDeadline(err)
}

// attempt runs one try with a per-try timeout that covers the wait for the
// response headers; once they arrive the body streams under the request's
// own deadline. Without a per-try timeout there is no timer and no context
// of its own.
func attempt(ctx context.Context, rt http.RoundTripper, req *http.Request, perTry time.Duration) (*http.Response, error) {
	if perTry <= 0 {
		if req.Context() != ctx {
			req = req.WithContext(ctx)
		}
		return rt.RoundTrip(req)
	}
	actx, cancel := context.WithCancel(ctx)
	var timedOut atomic.Bool
	t := time.AfterFunc(perTry, func() { timedOut.Store(true); cancel() })
	resp, err := rt.RoundTrip(req.WithContext(actx))
	if !t.Stop() && timedOut.Load() {
		if resp != nil {
			resp.Body.Close()
		}
		cancel()
		return nil, errPerTryTimeout
	}
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "upstream per-try timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

var errPerTryTimeout error = timeoutError{}
