package h2server

import (
	"context"
	"errors"
	"net/http"
	"net/textproto"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"

	"github.com/meshgate/meshgate/internal/gateway/reqctx"
	"github.com/meshgate/meshgate/internal/gateway/reqtarget"
)

// stream is one request and its response.
type stream struct {
	c       *conn
	id      uint32
	ctx     reqctx.Ctx
	request http.Request // the handler's
	url     url.URL      // the request's
	body    *requestBody // nil when the request had no body
	// values holds the request's field values when they are few: the
	// header map's slices point into it.
	values [8]string

	// Guarded by c.mu.
	remoteClosed bool
	localClosed  bool
	gone         bool // out of the table
	handling     bool // its handler holds one of the connection's slots

	// Owned by the reading goroutine.
	gotTrailers bool

	// Guarded by c.wmu.
	send      int64 // send window
	reset     bool  // RST_STREAM sent or received: nothing more is written
	sentFinal bool  // the final response's HEADERS are written

	// w is the response's writer: one allocation for the stream and it.
	w responseWriter
}

// abort ends a stream's request for its handler: its context is
// cancelled and its body fails with err; later writes are dropped.
func (st *stream) abort(err error) {
	st.ctx.Cancel(err)
	if st.body != nil {
		st.body.fail(err)
	}
	c := st.c
	c.wmu.Lock()
	st.reset = true
	c.wcond.Broadcast()
	c.wmu.Unlock()
}

// startStream validates a request's header block, builds its
// http.Request and starts its handler.
func (c *conn) startStream(id uint32, f *headerBlock, headerErr error) error {
	var method, scheme, path, authority, protocol string
	for _, hf := range f.pseudoFields() {
		switch hf.Name {
		case ":method":
			method = hf.Value
		case ":scheme":
			scheme = hf.Value
		case ":path":
			path = hf.Value
		case ":authority":
			authority = hf.Value
		case ":protocol":
			protocol = hf.Value
		default:
			return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
		}
	}
	protocolErr := http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	// Extended CONNECT (RFC 8441) is not offered: no :protocol.
	if protocol != "" || !httpguts.ValidHostHeader(authority) && authority != "" {
		return protocolErr
	}
	if method == "CONNECT" {
		if scheme != "" || path != "" || authority == "" {
			return protocolErr
		}
	} else if method == "" || scheme == "" || path == "" || !validMethod(method) {
		return protocolErr
	}
	st := &stream{c: c, id: id, send: c.peerInit}
	regular := f.regularFields()
	header := make(http.Header, len(regular))
	values := st.values[:0] // one array for every field's values
	if len(regular) > len(st.values) {
		values = make([]string, len(regular))
	}
	values = values[:len(regular)]
	// The fields looked at below, noted as they go by instead of looked
	// up: most requests have none of them.
	var has struct{ host, contentLength, expect, cookie, trailer bool }
	te := 0
	for i, hf := range regular {
		switch hf.Name { // HTTP/2 sends names in lower case
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
			return protocolErr // connection-specific (RFC 9113 §8.2.2)
		case "te":
			if te++; te > 1 || hf.Value != "trailers" {
				return protocolErr
			}
		case "host":
			has.host = true
		case "content-length":
			has.contentLength = true
		case "expect":
			has.expect = true
		case "cookie":
			has.cookie = true
		case "trailer":
			has.trailer = true
		}
		key := textproto.CanonicalMIMEHeaderKey(hf.Name)
		values[i] = hf.Value
		if vv, ok := header[key]; ok {
			header[key] = append(vv, hf.Value) // copies: vv's capacity is 1
		} else {
			header[key] = values[i : i+1 : i+1]
		}
	}
	if authority == "" && has.host {
		authority = header.Get("Host")
	}
	if strings.IndexByte(authority, '@') >= 0 && (scheme == "http" || scheme == "https") {
		return protocolErr // no userinfo in :authority (RFC 9113 §8.3.1)
	}
	var u url.URL
	requestURI := path
	if method == "CONNECT" {
		u.Host, requestURI = authority, authority
	} else {
		// origin-form, or "*" for OPTIONS (RFC 9113 §8.3.1); an absolute
		// URI in :path would name a host other than :authority.
		if path[0] != '/' && (path != "*" || method != "OPTIONS") {
			return protocolErr
		}
		if reqtarget.Parse(path, &u) != nil {
			return protocolErr
		}
	}
	contentLength := int64(-1)
	if has.contentLength {
		cl := header["Content-Length"]
		n, err := strconv.ParseUint(cl[0], 10, 63)
		for _, v := range cl[1:] {
			if v != cl[0] {
				err = errors.New("differing Content-Length values")
			}
		}
		if err != nil {
			return protocolErr
		}
		contentLength = int64(n)
	}
	if f.endStream {
		if contentLength > 0 {
			return protocolErr // a length its DATA can't have (RFC 9113 §8.1.1)
		}
		contentLength = 0
	}
	needsContinue := has.expect && httpguts.HeaderValuesContainsToken(header["Expect"], "100-continue")
	if needsContinue {
		delete(header, "Expect")
	}
	if has.cookie && len(header["Cookie"]) > 1 {
		header["Cookie"] = []string{strings.Join(header["Cookie"], "; ")} // RFC 9113 §8.2.3
	}
	var trailer http.Header
	if has.trailer {
		for _, v := range header["Trailer"] {
			for key := range strings.SplitSeq(v, ",") {
				switch key = textproto.CanonicalMIMEHeaderKey(textproto.TrimString(key)); key {
				case "Transfer-Encoding", "Trailer", "Content-Length", "":
				default:
					if trailer == nil {
						trailer = make(http.Header)
					}
					trailer[key] = nil
				}
			}
		}
		delete(header, "Trailer")
	}

	st.url = u
	st.ctx.Init(c.ctx, time.Now())
	st.ctx.DeferTimeouts(2 * armPeriod) // armTimeouts
	st.request = *(&http.Request{
		Method:        method,
		URL:           &st.url,
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        header,
		ContentLength: contentLength,
		Host:          authority,
		RemoteAddr:    c.remoteAddr,
		RequestURI:    requestURI,
		Trailer:       trailer,
		Body:          http.NoBody,
	}).WithContext(&st.ctx) // WithContext's copy stays on the stack
	req := &st.request
	if scheme == "https" {
		req.TLS = c.tlsState
	}
	if !f.endStream {
		st.body = newRequestBody(st, contentLength, trailer, needsContinue)
		req.Body = st.body
	}
	c.mu.Lock()
	c.streams[id] = st
	c.open++
	c.handlers++
	st.handling = true
	if c.idle != nil {
		c.idle.Stop()
	}
	st.remoteClosed = f.endStream
	c.mu.Unlock()
	handler := c.srv.Handler
	switch {
	case headerErr != nil:
		handler = http.HandlerFunc(headerListTooLarge)
	case requestURI == "*" && method == "OPTIONS":
		handler = http.HandlerFunc(optionsStar)
	}
	c.srv.workers.run(job{c: c, st: st, req: req, h: handler})
	return nil
}

// headerListTooLarge answers a request whose header list was over
// MaxHeaderBytes, as net/http's HTTP/2 server does.
func headerListTooLarge(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusRequestHeaderFieldsTooLarge)
	w.Write([]byte("<h1>HTTP Error 431</h1><p>Request Header Field(s) Too Large</p>"))
}

// optionsStar answers "OPTIONS *", which asks about the server, not a
// resource, as net/http's servers do.
func optionsStar(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

func validMethod(m string) bool {
	for i := 0; i < len(m); i++ {
		if !httpguts.IsTokenRune(rune(m[i])) {
			return false
		}
	}
	return m != ""
}

// runHandler runs a stream's handler and ends the stream after it: the
// response is finished (or the stream reset if the handler panicked),
// and a request body still arriving is declined with RST_STREAM NO_ERROR
// (RFC 9113 §8.1).
func (c *conn) runHandler(st *stream, req *http.Request, h http.Handler) {
	w := st.newResponseWriter(req)
	defer func() {
		r := recover()
		if r != nil {
			if r != http.ErrAbortHandler {
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				c.srv.logf("h2server: panic serving %v: %v\n%s", c.remoteAddr, r, buf)
			}
			c.resetOwn(st, http2.ErrCodeInternal)
		} else if err := w.finish(); err != nil {
			c.resetOwn(st, http2.ErrCodeInternal)
		} else {
			c.mu.Lock()
			remoteOpen := !st.remoteClosed
			c.mu.Unlock()
			if remoteOpen {
				c.resetOwn(st, http2.ErrCodeNo)
			}
		}
		w.release()
		st.ctx.Cancel(context.Canceled)
		c.mu.Lock()
		c.closeStreamLocked(st, false, true, true)
		c.mu.Unlock()
	}()
	h.ServeHTTP(w, req)
}

// encodeField adds one field to the header block being written, wmu held.
func (c *conn) encodeField(name, value string) {
	c.henc.encode(name, value)
}

// errStreamClosed fails a write on a stream that was reset.
var errStreamClosed = errors.New("h2server: stream closed")
