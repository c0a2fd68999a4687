package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/net/http/httpguts"

	"github.com/meshgate/meshgate/internal/gateway/accesslog"
	"github.com/meshgate/meshgate/internal/gateway/reqctx"
	"github.com/meshgate/meshgate/internal/gateway/requestid"
	"github.com/meshgate/meshgate/internal/gateway/upstream"
)

// The forwarding engine. It does what httputil.ReverseProxy (with the
// Rewrite hook the gateway used to give it) does, step for step, with
// less work per request:
//
//   - the forwarded header map is the client's, edited in place in one
//     pass that drops the hop-by-hop headers, the headers named in
//     Connection, the client's Forwarded / X-Forwarded-* and x-envoy-*
//     headers, instead of a deep copy followed by deletions;
//   - the exchange travels as an argument, not as a context value, and the
//     request is copied once, not three times;
//   - a response of known length is written with its headers in one
//     write: ReverseProxy with FlushInterval -1 flushed the headers from a
//     timer goroutine as soon as they arrived and then flushed again after
//     every body write, two writes (syscalls) per small response. Bodies
//     of unknown length (gRPC, chunked), server-sent events and anything
//     not yet complete are still flushed at once after every write, and
//     their headers as soon as they arrive;
//   - the Content-Type of the response is not parsed with
//     mime.ParseMediaType (a map per response) to find event streams.

// Values of forwarded headers that never change. Nothing writes to the
// elements of a header's value slice, so they can be shared.
var (
	valueHTTP     = []string{"http"}
	valueHTTPS    = []string{"https"}
	valueTrailers = []string{"trailers"}
	valueUpgrade  = []string{"Upgrade"}
	valueEmpty    = []string{""}
)

// forward proxies r (whose route, cluster and retry policy ex holds) to
// the cluster and streams the answer to w. ctx is the request's context
// with the route timeout.
func (g *Gateway) forward(w *recorder, r *http.Request, ctx context.Context, ex *exchange) {
	in := r.Header
	reqUpType := upgradeType(in)
	if !isPrint(reqUpType) { // the client's error, not the upstream's
		setFlag(ex, accesslog.DownstreamProtocolError)
		localReply(w, r, http.StatusBadRequest, http.StatusText(http.StatusBadRequest))
		return
	}
	var out *http.Request
	if rc := reqctx.From(ctx); rc != nil && ctx == r.Context() {
		// The request's own context carries the 1xx receiver, and the
		// forwarded request is the exchange's copy of r.
		rc.SetInformational(ex)
		ex.outReq = *r
		out = &ex.outReq
	} else {
		trace := &httptrace.ClientTrace{Got1xxResponse: ex.Got1xx}
		out = r.WithContext(httptrace.WithClientTrace(ctx, trace))
	}
	ex.outURL = *r.URL
	out.URL = &ex.outURL
	out.Header = forwardHeader(r, ex.decision.Path, reqUpType, ex.addedValues[:0])
	out.Trailer = r.Trailer.Clone()
	out.Close = false
	if r.ContentLength == 0 {
		out.Body = nil // as ReverseProxy: a nil Body lets the cluster's client retry
	}
	if out.Body != nil {
		// The cluster's client (like http.Transport) closes the body it
		// was given, even when it fails to connect; that must not close
		// the client's body. Reading it after the handler returned is
		// refused.
		b := &noCloseBody{rc: out.Body}
		out.Body = b
		defer b.Close()
	}

	d := ex.decision
	u := out.URL
	u.Scheme, u.Host = "http", d.Host
	u.RawPath = d.Path
	if p, err := url.PathUnescape(d.Path); err == nil {
		u.Path = p
	} else {
		u.Path, u.RawPath = d.Path, ""
	}
	u.RawQuery = r.URL.RawQuery
	out.Host = d.Host
	ex.out = out

	ctx = out.Context() // with the 1xx trace, if any
	res, err := ex.roundTrip(ctx, out)
	ex.roundTripDone()
	if err != nil {
		errorReply(w, out, ctx, ex, err)
		return
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		g.switchProtocols(w, out, res, ctx, ex)
		return
	}
	removeHopByHopHeaders(res.Header)
	if a, ok := w.ResponseWriter.(headerAdopter); !ok || !a.AdoptHeader(res.Header) {
		h := w.Header()
		if len(h) == 0 {
			for k, vv := range res.Header {
				if len(vv) > 0 { // as copyHeader: no value, no key
					h[k] = vv[:len(vv):len(vv)] // an Add to h reallocates
				}
			}
		} else {
			copyHeader(h, res.Header)
		}
	}
	h := w.Header()
	// As Envoy's router: the time from the request to the upstream's
	// answer, retries included, replacing any the upstream sent.
	ex.serviceTime[0] = strconv.FormatInt(ex.responseStart.Sub(ex.firstAttemptStart).Milliseconds(), 10)
	h["X-Envoy-Upstream-Service-Time"] = ex.serviceTime[:]
	// The "Trailer" header isn't in the Transport's response: announce
	// the trailers the upstream announced.
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, len(res.Trailer))
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		h.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(res.StatusCode)

	if readErr, writeErr := g.copyResponse(w, res); readErr != nil || writeErr != nil {
		defer res.Body.Close()
		ex.responseCut(ctx, readErr)
		// Streaming has begun: all that can be done is to abort the
		// request, as ReverseProxy does (http.ErrAbortHandler).
		if r.Context().Value(underServerKey{}) == nil {
			g.errorLog.Printf("suppressing panic for copyResponse error in test; copy error: %v", cmp.Or(readErr, writeErr))
			return
		}
		panic(http.ErrAbortHandler)
	}
	res.Body.Close() // now, to populate res.Trailer

	if len(res.Trailer) > 0 {
		// Force chunking when the response has trailers, so net/http does
		// not compute a Content-Length for a short body.
		flush(w.ResponseWriter)
	}
	if len(res.Trailer) == announced {
		copyHeader(h, res.Trailer)
		return
	}
	for k, vv := range res.Trailer {
		k = http.TrailerPrefix + k
		for _, v := range vv {
			h.Add(k, v)
		}
	}
}

// headerAdopter is a response writer that can take the upstream
// response's header map as its own (h1server's and h2server's) instead
// of a copy: the response is the upstream's to the end, and every value
// slice of a response read by a cluster's client has no spare capacity
// that an Add would write into.
type headerAdopter interface {
	AdoptHeader(http.Header) bool
}

// forwardHeader makes r's header the one sent upstream, in place: r's,
// less hop-by-hop headers (and those named in Connection), the client's
// Forwarded, X-Forwarded-* and x-envoy-* headers; plus what the edge adds
// as Envoy does at a gateway: X-Forwarded-For with the client address
// appended to what the client sent, X-Forwarded-Proto, a fresh
// x-request-id, X-Envoy-Original-Path when the path was rewritten; TE:
// trailers and the upgrade headers when the client asked for them.
//
// The map is the server's, made for this request, and routing has read
// it: editing it spares a copy of every field a request. What reads it
// afterwards (the access log, as Envoy's logs the headers its filters
// left) wants the forwarded fields.
//
// added holds the values the edge adds (four at most): the header's
// slices point into its array.
func forwardHeader(r *http.Request, upstreamPath, reqUpType string, added []string) http.Header {
	h := r.Header
	if h == nil {
		h = make(http.Header, 5)
		r.Header = h
	}
	// One pass over the client's fields drops what the edge drops and
	// notes what it reads of them before they go.
	var connection, te, priorXFF []string
	for k, vv := range h {
		switch k {
		case "Connection":
			connection = vv
		case "Te":
			te = vv
		case "X-Forwarded-For":
			priorXFF = vv
		}
		switch {
		case hopByHop(k):
		case k == "Forwarded", k == "X-Forwarded-For", k == "X-Forwarded-Host", k == "X-Forwarded-Proto":
		case len(k) > 8 && strings.EqualFold(k[:8], "X-Envoy-"):
			// At the edge Envoy drops the x-envoy-* headers a client sent.
		default:
			continue
		}
		delete(h, k)
	}
	deleteNamed(h, connection)
	trailers := httpguts.HeaderValuesContainsToken(te, "trailers")
	value := func(v string) []string {
		added = append(added, v)
		return added[len(added)-1 : len(added) : len(added)]
	}
	// ReverseProxy tells the upstream that trailers are supported when
	// the client did.
	if trailers {
		h["Te"] = valueTrailers
	}
	if reqUpType != "" {
		h["Connection"] = valueUpgrade
		h["Upgrade"] = value(reqUpType)
	}
	// A rewritten path is marked with the original one.
	if orig, _, _ := requestPath(r); orig != upstreamPath {
		h["X-Envoy-Original-Path"] = value(r.RequestURI)
	}
	if clientIP, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		xff := clientIP
		if len(priorXFF) > 0 {
			xff = strings.Join(priorXFF, ", ") + ", " + clientIP
		}
		h["X-Forwarded-For"] = value(xff)
	}
	// Envoy does not add X-Forwarded-Host by default.
	if r.TLS == nil {
		h["X-Forwarded-Proto"] = valueHTTP
	} else {
		h["X-Forwarded-Proto"] = valueHTTPS
	}
	h["X-Request-Id"] = value(requestid.New())
	if _, ok := h["User-Agent"]; !ok {
		// Not Go's default User-Agent either.
		h["User-Agent"] = valueEmpty
	}
	return h
}

// hopByHop reports whether k is a field removed from both directions, as
// ReverseProxy does (RFC 7230 §6.1 plus the RFC 2616 list). It is asked
// of every field of every request and response: a switch, not a loop.
func hopByHop(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// deleteNamed deletes the fields the values of a Connection field name:
// they are hop-by-hop too (RFC 9110 §7.6.1).
func deleteNamed(h http.Header, connection []string) {
	for _, f := range connection {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				delete(h, textproto.CanonicalMIMEHeaderKey(sf))
			}
		}
	}
}

// removeHopByHopHeaders strips a response's hop-by-hop headers in place,
// in one pass over its few fields.
func removeHopByHopHeaders(h http.Header) {
	var connection []string
	for k, vv := range h {
		if hopByHop(k) {
			if k == "Connection" {
				connection = vv
			}
			delete(h, k)
		}
	}
	deleteNamed(h, connection)
}

func copyHeader(dst, src http.Header) {
	for k, vv := range src {
		for _, v := range vv {
			dst.Add(k, v)
		}
	}
}

// upgradeType is the protocol a request or response switches to, or "".
func upgradeType(h http.Header) string {
	if !httpguts.HeaderValuesContainsToken(h["Connection"], "Upgrade") {
		return ""
	}
	return h.Get("Upgrade")
}

func isPrint(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// flush sends what w buffered, as http.ResponseController.Flush does,
// without allocating a controller.
func flush(w http.ResponseWriter) error {
	for {
		switch t := w.(type) {
		case interface{ FlushError() error }:
			return t.FlushError()
		case http.Flusher:
			t.Flush()
			return nil
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return http.ErrNotSupported
		}
	}
}

// isEventStream reports whether a response is server-sent events, which
// stream whatever their length: the media type of Content-Type as
// mime.ParseMediaType reads it, compared in ASCII case.
func isEventStream(h http.Header) bool {
	ct := h.Get("Content-Type")
	if ct == "" {
		return false
	}
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	const sse = "text/event-stream"
	if len(mt) != len(sse) {
		return false
	}
	for i := 0; i < len(mt); i++ {
		c := mt[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != sse[i] {
			return false
		}
	}
	return true
}

// copyResponse streams res's body to w. Whatever is written is flushed at
// once unless the body is complete, in which case the handler's return
// sends it (with the headers, in one write for a small response). Bodies
// of unknown length and event streams have their headers flushed before
// the first read, and every write flushed.
//
// readErr is the upstream's failure, writeErr the client's.
func (g *Gateway) copyResponse(w *recorder, res *http.Response) (readErr, writeErr error) {
	known := res.ContentLength
	stream := known < 0 || isEventStream(res.Header)
	if stream {
		flush(w.ResponseWriter)
	}
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	var written int64
	for {
		nr, rerr := res.Body.Read(buf)
		if rerr != nil && rerr != io.EOF && rerr != context.Canceled {
			g.errorLog.Printf("httputil: ReverseProxy read error during body copy: %v", rerr)
		}
		if nr > 0 {
			nw, werr := w.Write(buf[:nr])
			if nw > 0 {
				written += int64(nw)
			}
			if werr != nil {
				return nil, werr
			}
			if nr != nw {
				return nil, io.ErrShortWrite
			}
			if stream || rerr != io.EOF && written != known {
				flush(w.ResponseWriter)
			}
		}
		if rerr != nil {
			if rerr == io.EOF {
				rerr = nil
			}
			return rerr, nil
		}
	}
}

// responseCut accounts for a response that ended before its end, as
// Envoy sets its flags after a response began too: the route's idle
// timeout (SI), the client gone (DC: a failed write, or its going
// cancelling the upstream read), or the upstream's failure, counted in
// the cluster's errors by its reason (UC, UR, UT, UPE).
func (ex *exchange) responseCut(ctx context.Context, upstreamErr error) {
	switch {
	case errors.Is(context.Cause(ctx), errStreamIdle):
		setFlag(ex, accesslog.StreamIdleTimeout)
	case upstreamErr == nil || clientGone(ctx, upstreamErr):
		setFlag(ex, accesslog.DownstreamConnectionTermination)
	default:
		reason, flag := failure(upstreamErr)
		setFlag(ex, flag)
		if cm := ex.clusterMetrics; cm != nil {
			cm.Error(reason)
		}
	}
}

// switchProtocols completes an upgrade (websocket) the upstream accepted:
// it hijacks the client's connection, sends the 101 and copies bytes both
// ways until one side is done.
func (g *Gateway) switchProtocols(w *recorder, req *http.Request, res *http.Response, ctx context.Context, ex *exchange) {
	reqUpType := upgradeType(req.Header)
	resUpType := upgradeType(res.Header)
	if !isPrint(resUpType) {
		errorReply(w, req, ctx, ex, &upstream.ProtocolError{Err: fmt.Errorf("backend tried to switch to invalid protocol %q", resUpType)})
		return
	}
	if !strings.EqualFold(reqUpType, resUpType) {
		errorReply(w, req, ctx, ex, &upstream.ProtocolError{Err: fmt.Errorf("backend tried to switch protocol %q when %q was requested", resUpType, reqUpType)})
		return
	}
	backConn, ok := res.Body.(io.ReadWriteCloser)
	if !ok {
		errorReply(w, req, ctx, ex, errors.New("internal error: 101 switching protocols response with non-writable body"))
		return
	}
	conn, brw, hijackErr := w.Hijack()
	if errors.Is(hijackErr, http.ErrNotSupported) {
		errorReply(w, req, ctx, ex, fmt.Errorf("can't switch protocols using non-Hijacker ResponseWriter type %T", w))
		return
	}
	backConnCloseCh := make(chan bool)
	go func() {
		select {
		case <-req.Context().Done():
		case <-backConnCloseCh:
		}
		backConn.Close()
	}()
	defer close(backConnCloseCh)
	if hijackErr != nil {
		errorReply(w, req, ctx, ex, fmt.Errorf("Hijack failed on protocol switch: %v", hijackErr))
		return
	}
	defer conn.Close()

	copyHeader(w.Header(), res.Header)
	res.Header = w.Header()
	res.Body = nil // res.Write writes the head only; the body is backConn
	if err := res.Write(brw); err != nil {
		errorReply(w, req, ctx, ex, fmt.Errorf("response write: %v", err))
		return
	}
	if err := brw.Flush(); err != nil {
		errorReply(w, req, ctx, ex, fmt.Errorf("response flush: %v", err))
		return
	}
	errc := make(chan error, 1)
	var fromBack, fromClient io.Reader = backConn, conn
	if ex.idle != nil {
		fromBack, fromClient = idleReader{backConn, ex.idle}, idleReader{conn, ex.idle}
	}
	go copyUpgraded(conn, fromBack, errc)
	go copyUpgraded(backConn, fromClient, errc)
	if err := <-errc; err == nil {
		<-errc
	}
}

var errCopyDone = errors.New("hijacked connection copy complete")

// copyUpgraded copies one direction of an upgraded connection, then
// half-closes the writing side when it can.
func copyUpgraded(dst io.Writer, src io.Reader, errc chan<- error) {
	if _, err := io.Copy(dst, src); err != nil {
		errc <- err
		return
	}
	if wc, ok := dst.(interface{ CloseWrite() error }); ok {
		errc <- wc.CloseWrite()
		return
	}
	errc <- errCopyDone
}

// noCloseBody is the client's request body as given to the transport:
// Close only marks it closed, and a Read after Close (by a transport
// goroutine that outlived the handler) fails instead of touching a body
// the server has recycled.
type noCloseBody struct {
	rc     io.ReadCloser
	closed atomic.Bool
}

func (b *noCloseBody) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, errors.New("ReverseProxy does an invalid Read on closed Body")
	}
	return b.rc.Read(p)
}

func (b *noCloseBody) Close() error {
	b.closed.Store(true)
	return nil
}
