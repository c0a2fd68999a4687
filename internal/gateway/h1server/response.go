package h1server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meshgate/meshgate/internal/gateway/httpdate"
	"github.com/meshgate/meshgate/internal/gateway/reqctx"
	"golang.org/x/net/http/httpguts"
)

// bufferBeforeChunking is how much of a response without a
// Content-Length is held back in the hope that the handler finishes and
// the length can be sent instead of chunking (net/http's 2 KiB).
const bufferBeforeChunking = 2 << 10

// maxPostHandlerRead is how much of a request body the handler left is
// read to keep the connection (net/http's 256 KiB).
const maxPostHandlerRead = 256 << 10

// response is the http.ResponseWriter of one request.
type response struct {
	c    *conn
	req  http.Request // the handler's
	rc   reqctx.Ctx   // its context
	url  url.URL      // the request's
	q    request
	body body

	status        int
	wroteHeader   bool  // the final status was given
	committed     bool  // the head went to the connection's buffer
	contentLength int64 // declared, or -1
	written       int64 // body bytes the handler wrote
	chunked       bool
	noBody        bool // HEAD, 1xx, 204, 304
	closeAfter    bool
	aborted       bool // the handler panicked: leave the response as it is
	err           error
	trailers      []string    // declared in the "Trailer" header
	adopted       http.Header // the header map the handler handed over, if any

	// "100 Continue" is sent by the body's first read, which may run on
	// another goroutine than the handler's: cmu orders it with the head.
	cmu         sync.Mutex
	continue100 bool // still to be sent before the body is read
	headSent    bool
}

// sendContinue answers "Expect: 100-continue" when the body is first
// read, unless the response has begun.
func (w *response) sendContinue() error {
	w.cmu.Lock()
	defer w.cmu.Unlock()
	if !w.continue100 {
		return nil
	}
	w.continue100 = false
	if w.headSent {
		return nil
	}
	_, err := io.WriteString(w.c.rwc, "HTTP/1.1 100 Continue\r\n\r\n")
	return err
}

// beginHead marks the response begun: no "100 Continue" after this. It
// reports whether "100 Continue" was sent.
func (w *response) beginHead() (continued bool) {
	w.cmu.Lock()
	defer w.cmu.Unlock()
	w.headSent = true
	return !w.continue100
}

// Header is the connection's map, cleared after each response, unless
// the handler adopted one (AdoptHeader).
func (w *response) Header() http.Header {
	if w.adopted != nil {
		return w.adopted
	}
	return w.c.header
}

// AdoptHeader makes h the response's header map, unless the handler has
// already set fields or the status: a proxy hands over the map of the
// upstream's response rather than copying it. It reports whether it did;
// h is the writer's from then on.
func (w *response) AdoptHeader(h http.Header) bool {
	if len(w.c.header) != 0 || w.wroteHeader || h == nil {
		return false
	}
	w.adopted = h
	return true
}

func (w *response) WriteHeader(code int) {
	if w.wroteHeader {
		w.c.logf("http: superfluous response.WriteHeader call with status %d", code)
		return
	}
	if code < 100 || code > 999 {
		panic("invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		w.writeInformational(code)
		return
	}
	w.wroteHeader, w.status = true, code
	h := w.Header()
	if cl := h["Content-Length"]; len(cl) > 0 {
		if n, err := strconv.ParseUint(strings.TrimSpace(cl[0]), 10, 63); err == nil {
			w.contentLength = int64(n)
		} else {
			w.c.logf("http: invalid Content-Length of %q", cl[0])
			delete(h, "Content-Length")
		}
	}
	w.noBody = w.req.Method == "HEAD" || !bodyAllowed(code)
	if !bodyAllowed(code) {
		// As net/http: no body, so no framing (RFC 9112 §6.1), nor a
		// Content-Type for a 304 (RFC 9110 §15.4.5).
		if code == http.StatusNotModified {
			delete(h, "Content-Type")
		}
		delete(h, "Content-Length")
		delete(h, "Transfer-Encoding")
		w.contentLength = -1
	}
	if httpguts.HeaderValuesContainsToken(h["Connection"], "close") {
		w.closeAfter = true
	}
	w.trailers = w.trailers[:0]
	for _, v := range h["Trailer"] {
		for _, k := range strings.Split(v, ",") {
			if k = http.CanonicalHeaderKey(strings.TrimSpace(k)); k != "" {
				w.trailers = append(w.trailers, k)
			}
		}
	}
	w.startHead()
	// The framing is known now, unless the length of a body (or of the
	// body a HEAD response stands for) is still to be learned.
	if w.contentLength >= 0 || w.noBody && !(w.req.Method == "HEAD" && bodyAllowed(code)) {
		w.commit(false)
	}
}

// writeInformational sends a 1xx response at once, with the header
// fields set so far.
func (w *response) writeInformational(code int) {
	if w.req.ProtoMajor == 1 && w.req.ProtoMinor == 0 {
		return // HTTP/1.0 clients don't know 1xx
	}
	c := w.c
	w.cmu.Lock() // ordered with a "100 Continue" of the body's first read
	defer w.cmu.Unlock()
	if code == http.StatusContinue {
		if !w.continue100 {
			return // sent already, or not expected
		}
		w.continue100 = false
	}
	out := appendStatusLine(c.out[:0], &w.req, code)
	out = w.appendFields(out, false)
	out = append(out, "\r\n"...)
	c.out = out
	c.bw.Write(out)
	if err := c.bw.Flush(); err != nil {
		w.fail(err)
	}
}

// startHead assembles the status line and the handler's header fields;
// the framing fields are added when the head is committed.
func (w *response) startHead() {
	c := w.c
	out := appendStatusLine(c.out[:0], &w.req, w.status)
	c.out = w.appendFields(out, true)
}

// appendStatusLine appends the status line, in the request's version as
// net/http answers (HTTP/1.0 to HTTP/1.0).
func appendStatusLine(b []byte, r *http.Request, code int) []byte {
	if r.ProtoMinor == 0 {
		b = append(b, "HTTP/1.0 "...)
	} else {
		b = append(b, "HTTP/1.1 "...)
	}
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	if text := http.StatusText(code); text != "" {
		b = append(b, text...)
	} else {
		b = append(b, "status code "...)
		b = strconv.AppendInt(b, int64(code), 10)
	}
	return append(b, "\r\n"...)
}

// appendFields appends the handler's header fields, sorted by name as
// net/http writes them. final leaves out the fields the server writes
// itself (framing, and Connection when it adds to it).
func (w *response) appendFields(b []byte, final bool) []byte {
	c := w.c
	h := w.Header()
	fields := c.fields[:0]
	for k, vv := range h {
		if final {
			switch k {
			case "Content-Length", "Transfer-Encoding":
				continue
			}
			if strings.HasPrefix(k, http.TrailerPrefix) {
				continue
			}
		}
		fields = append(fields, headerField{k, vv})
	}
	slices.SortFunc(fields, func(a, b headerField) int { return strings.Compare(a.name, b.name) })
	for _, f := range fields {
		if !httpguts.ValidHeaderFieldName(f.name) {
			continue // as net/http: an invalid name is not written
		}
		for _, v := range f.values {
			b = appendValueField(b, f.name, v)
		}
	}
	clear(fields)
	c.fields = fields[:0]
	return b
}

// headerField is one name of a header with its values, taken from the
// map once: sorted, they are written without looking each name up again.
type headerField struct {
	name   string
	values []string
}

// appendValueField appends a field whose value comes from the handler,
// its CR and LF replaced by spaces and surrounding white space trimmed, as
// net/http writes it.
func appendValueField(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	b = appendValue(b, v)
	return append(b, "\r\n"...)
}

func appendValue(b []byte, v string) []byte {
	v = strings.TrimSpace(v)
	start := len(b)
	b = append(b, v...)
	if strings.IndexByte(v, '\r') < 0 && strings.IndexByte(v, '\n') < 0 {
		return b // nearly always: appended whole, not byte by byte
	}
	for i := start; i < len(b); i++ {
		if b[i] == '\r' || b[i] == '\n' {
			b[i] = ' '
		}
	}
	return b
}

// commit finishes the head with the framing fields and puts it in the
// connection's buffer, followed by the body held back so far. done: the
// handler has returned, so a held-back body's length is known.
func (w *response) commit(done bool) {
	if w.committed {
		return
	}
	w.committed = true
	if w.q.continue100 && !w.beginHead() {
		// The client was told to wait before sending its body and never
		// told to send it: what follows on the connection is unknown
		// (net/http closes too).
		w.closeAfter = true
	}
	c := w.c
	h := w.Header()
	out := c.out
	switch {
	case w.noBody:
		if w.contentLength >= 0 {
			out = appendLength(out, w.contentLength)
		} else if done && w.req.Method == "HEAD" && w.written > 0 && w.written <= bufferBeforeChunking && bodyAllowed(w.status) && !w.hasTrailers() {
			out = appendLength(out, w.written)
		}
	case w.contentLength >= 0:
		out = appendLength(out, w.contentLength)
	case done && !w.hasTrailers() && !chunkedTE(h):
		w.contentLength = int64(len(c.pending))
		out = appendLength(out, w.contentLength)
	case w.req.ProtoMinor >= 1 && !identityTE(h):
		w.chunked = true
		out = appendField(out, "Transfer-Encoding", "chunked")
	default:
		w.closeAfter = true // HTTP/1.0 without a length: the close delimits the body
	}
	if w.c.s.shutdown.Load() || !w.body.arrived() {
		// A response to a request whose body has not all arrived ends
		// the connection, as in Envoy: waiting for the rest (net/http
		// reads up to 256 KiB first) would hold the response back.
		w.closeAfter = true
	}
	// HTTP/1.0 closes unless told otherwise; HTTP/1.1 keeps alive.
	http10 := w.req.ProtoMinor == 0
	switch {
	case w.closeAfter && !http10 && !httpguts.HeaderValuesContainsToken(h["Connection"], "close"):
		out = appendField(out, "Connection", "close")
	case !w.closeAfter && http10 && !httpguts.HeaderValuesContainsToken(h["Connection"], "keep-alive"):
		out = appendField(out, "Connection", "keep-alive")
	}
	if _, ok := h["Date"]; !ok {
		out = appendField(out, "Date", httpdate.Now())
	}
	out = append(out, "\r\n"...)
	c.out = out
	if _, err := c.bw.Write(out); err != nil {
		w.fail(err)
	}
	if len(c.pending) > 0 {
		p := c.pending
		c.pending = c.pending[:0]
		w.writeBody(p)
	}
}

func appendLength(b []byte, n int64) []byte {
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, n, 10)
	return append(b, "\r\n"...)
}

func appendField(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	b = append(b, v...)
	return append(b, "\r\n"...)
}

// chunkedTE reports whether the handler asked for chunking itself.
func chunkedTE(h http.Header) bool {
	te := h["Transfer-Encoding"]
	return len(te) == 1 && strings.EqualFold(te[0], "chunked")
}

func identityTE(h http.Header) bool {
	te := h["Transfer-Encoding"]
	return len(te) == 1 && strings.EqualFold(te[0], "identity")
}

// hasTrailers reports whether the response has trailers to send: declared
// ones, or http.TrailerPrefix fields. Only a response whose length is not
// known needs to ask (a Content-Length response never chunks).
func (w *response) hasTrailers() bool {
	if len(w.trailers) > 0 {
		return true
	}
	for k := range w.Header() {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return true
		}
	}
	return false
}

func bodyAllowed(code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}

func (w *response) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.c.hijacked {
		return 0, http.ErrHijacked
	}
	if w.noBody {
		if w.req.Method == "HEAD" && bodyAllowed(w.status) {
			w.written += int64(len(p))
			return len(p), nil // HEAD: counted, not sent
		}
		return 0, http.ErrBodyNotAllowed
	}
	if w.contentLength >= 0 && w.written+int64(len(p)) > w.contentLength {
		w.closeAfter = true // as net/http: the handler is not to be trusted
		return 0, http.ErrContentLength
	}
	if w.err != nil {
		return 0, w.err
	}
	w.written += int64(len(p))
	c := w.c
	if !w.committed {
		if len(c.pending)+len(p) <= bufferBeforeChunking {
			c.pending = append(c.pending, p...)
			return len(p), nil
		}
		w.commit(false)
	}
	w.writeBody(p)
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

func (w *response) WriteString(s string) (int, error) {
	// The proxy writes []byte; a string is rare enough to convert.
	return w.Write([]byte(s))
}

// writeBody writes body bytes after the head, chunked when chunking.
func (w *response) writeBody(p []byte) {
	if len(p) == 0 || w.err != nil {
		return
	}
	bw := w.c.bw
	if w.chunked {
		var size [16]byte
		bw.Write(strconv.AppendInt(size[:0], int64(len(p)), 16))
		bw.WriteString("\r\n")
		bw.Write(p)
		if _, err := bw.WriteString("\r\n"); err != nil {
			w.fail(err)
		}
		return
	}
	if _, err := bw.Write(p); err != nil {
		w.fail(err)
	}
}

func (w *response) fail(err error) {
	if w.err == nil {
		w.err = err
	}
	w.closeAfter = true
}

func (w *response) Flush() { w.FlushError() }

// FlushError sends what is buffered: the head (chunking a body of
// unknown length from here on) and the body so far.
func (w *response) FlushError() error {
	if w.c.hijacked {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.commit(false)
	if w.err != nil {
		return w.err
	}
	if err := w.c.bw.Flush(); err != nil {
		w.fail(err)
	}
	return w.err
}

// Hijack hands the connection to the handler, with the bytes already
// read and a writer on the connection; the server is done with it.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c := w.c
	if c.hijacked {
		return nil, nil, http.ErrHijacked
	}
	if w.wroteHeader {
		w.commit(false)
		c.bw.Flush()
	}
	c.watch.stop()
	c.hijacked = true
	c.rwc.SetDeadline(time.Time{})
	c.s.conns.Remove(c)
	c.setState(http.StateHijacked)
	return c.rwc, bufio.NewReadWriter(c.br, c.bw), nil
}

// finish completes the response after the handler returned: the held
// back body, the last chunk and trailers, then everything is sent. The
// rest of an unread request body is read to keep the connection.
func (w *response) finish() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.commit(true)
	c := w.c
	if w.chunked && w.err == nil {
		c.bw.WriteString("0\r\n")
		w.writeTrailers()
		c.bw.WriteString("\r\n")
	}
	if w.contentLength >= 0 && !w.noBody && w.written != w.contentLength {
		w.closeAfter = true // the client would wait for the rest
	}
	if err := c.bw.Flush(); err != nil {
		w.fail(err)
	}
	if w.body.failure() != nil {
		w.closeAfter = true
	}
	clear(c.header)
	if len(c.header) == 0 && cap(c.pending) > 64<<10 {
		c.pending = nil
	}
	if !w.closeAfter && w.body.w != nil && !w.body.discard(maxPostHandlerRead) {
		w.closeAfter = true
	}
}

// writeTrailers writes the trailer fields after the last chunk: the
// declared names' values, then the http.TrailerPrefix ones.
func (w *response) writeTrailers() {
	c := w.c
	h := w.Header()
	out := c.out[:0]
	for _, k := range w.trailers {
		for _, v := range h[k] {
			out = appendValueField(out, k, v)
		}
	}
	for k, vv := range h {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			for _, v := range vv {
				out = appendValueField(out, name, v)
			}
		}
	}
	c.out = out
	c.bw.Write(out)
}
