package h2server

import (
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"

	"github.com/meshgate/meshgate/internal/gateway/httpdate"
	"golang.org/x/net/http/httpguts"
)

// bodyBuffer is how much of a response body is held back: a response
// that fits and whose handler returns leaves in one write, with its
// headers and a Content-Length.
const bodyBuffer = 8 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, bodyBuffer); return &b }}

// responseWriter is a stream's http.ResponseWriter (with Flush and
// FlushError). Its fields are the handler goroutine's; the frames it
// writes are written under the connection's wmu.
type responseWriter struct {
	st     *stream
	c      *conn
	header http.Header
	head   bool // a HEAD request's response: no body is sent

	status      int
	wroteHeader bool       // the final status is set
	fields      []string   // the header as of WriteHeader: name, value, ...
	fieldsBuf   [16]string // fields' storage: 8 fields without an allocation
	hasDate     bool
	declared    int64 // Content-Length as of WriteHeader, or -1
	trailers    []string
	closeConn   bool // the handler said Connection: close

	written    int64
	buf        *[]byte
	sentHeader bool
	ended      bool
}

func (st *stream) newResponseWriter(req *http.Request) *responseWriter {
	w := &st.w
	*w = responseWriter{st: st, c: st.c, head: req.Method == "HEAD", declared: -1}
	w.fields = w.fieldsBuf[:0]
	return w
}

// Header is made on first use: a proxy's handler usually adopts the
// upstream's instead (AdoptHeader).
func (w *responseWriter) Header() http.Header {
	if w.header == nil {
		w.header = make(http.Header)
	}
	return w.header
}

// AdoptHeader makes h the response's header map, unless the handler has
// already set fields or the status: a proxy hands over the map of the
// upstream's response rather than copying it into a new one. It reports
// whether it did; h is the writer's from then on.
func (w *responseWriter) AdoptHeader(h http.Header) bool {
	if len(w.header) != 0 || w.wroteHeader {
		return false
	}
	w.header = h
	return true
}

// WriteHeader sends an informational response at once, and takes a
// final status with a snapshot of the header: later changes to it are
// trailers only, as in net/http.
func (w *responseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.wroteHeader {
		return
	}
	if code < 200 {
		if code != http.StatusSwitchingProtocols { // no 101 in HTTP/2 (RFC 9113 §8.6)
			w.writeInformational(code)
		}
		return
	}
	w.wroteHeader = true
	w.status = code
	var final finalHead
	w.fields = appendFields(w.fields[:0], w.header, &final)
	w.declared, w.closeConn, w.hasDate = final.declared, final.close, final.hasDate
	for _, v := range final.trailer {
		for key := range strings.SplitSeq(v, ",") {
			if key = textproto.CanonicalMIMEHeaderKey(textproto.TrimString(key)); key != "" {
				w.declareTrailer(key)
			}
		}
	}
}

func (w *responseWriter) declareTrailer(key string) {
	switch key {
	case "Transfer-Encoding", "Trailer", "Content-Length":
		return // not trailers (RFC 9110 §6.5.1), as net/http
	}
	for _, t := range w.trailers {
		if t == key {
			return
		}
	}
	w.trailers = append(w.trailers, key)
}

// bodyAllowed reports whether the status allows a body.
func (w *responseWriter) bodyAllowed() bool {
	return w.status != http.StatusNoContent && w.status != http.StatusNotModified
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.bodyAllowed() {
		return 0, http.ErrBodyNotAllowed
	}
	if w.declared >= 0 && w.written+int64(len(p)) > w.declared {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if w.head {
		return len(p), nil
	}
	if w.buf == nil {
		w.buf = bufPool.Get().(*[]byte)
	}
	if len(*w.buf)+len(p) <= bodyBuffer {
		*w.buf = append(*w.buf, p...)
		return len(p), nil
	}
	if err := w.send(p, false); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *responseWriter) WriteString(s string) (int, error) {
	if w.buf != nil && len(*w.buf)+len(s) <= bodyBuffer && w.wroteHeader && w.bodyAllowed() && !w.head &&
		(w.declared < 0 || w.written+int64(len(s)) <= w.declared) {
		*w.buf = append(*w.buf, s...)
		w.written += int64(len(s))
		return len(s), nil
	}
	return w.Write([]byte(s))
}

func (w *responseWriter) Flush() { w.FlushError() }

// FlushError sends the headers and what is buffered now.
func (w *responseWriter) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.send(nil, false)
}

// finish ends the response after the handler returned: trailers the
// handler named with http.TrailerPrefix join the declared ones. A body
// shorter than its Content-Length is an error: the stream is reset
// rather than ended as if complete.
func (w *responseWriter) finish() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	for k := range w.header {
		if key, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			w.declareTrailer(textproto.CanonicalMIMEHeaderKey(key))
			w.header[textproto.CanonicalMIMEHeaderKey(key)] = w.header[k]
		}
	}
	if w.declared >= 0 && w.written < w.declared && w.bodyAllowed() && !w.head {
		return errors.New("h2server: handler wrote less than its Content-Length")
	}
	if w.closeConn {
		defer w.c.goAway()
	}
	return w.send(nil, true)
}

// release returns the writer's buffer after the handler ended.
func (w *responseWriter) release() {
	if w.buf != nil {
		*w.buf = (*w.buf)[:0]
		bufPool.Put(w.buf)
		w.buf = nil
	}
}

// writeInformational sends a 1xx response with the current header.
func (w *responseWriter) writeInformational(code int) {
	c := w.c
	fields := appendFields(nil, w.header, nil)
	c.startWrite()
	if !w.st.reset && !w.sentHeader {
		c.encodeField(":status", statusString(code))
		for i := 0; i < len(fields); i += 2 {
			if fields[i] != "content-length" {
				c.encodeField(fields[i], fields[i+1])
			}
		}
		c.writeHeaderBlock(w.st.id, false)
	}
	c.endWrite()
}

// writeContinue sends "100 Continue" for a request that expects it,
// when the handler first reads its body.
func (c *conn) writeContinue(st *stream) {
	c.startWrite()
	if !st.reset && !st.sentFinal {
		c.encodeField(":status", "100")
		c.writeHeaderBlock(st.id, false)
	}
	c.endWrite()
}

// send writes what is pending under one hold of the write lock: the
// headers if not sent yet, the buffered body, then p; with end, the
// stream's end (END_STREAM, or the trailers).
func (w *responseWriter) send(p []byte, end bool) error {
	c := w.c
	c.startWrite()
	err := w.sendLocked(p, end)
	var werr error
	if end {
		werr = c.endResponseWrite()
	} else {
		werr = c.endWrite()
	}
	if err == nil {
		err = werr
	}
	return err
}

func (w *responseWriter) sendLocked(p []byte, end bool) error {
	c, st := w.c, w.st
	switch {
	case st.reset:
		return errStreamClosed
	case c.werr != nil:
		return c.werr
	case w.ended:
		return nil
	}
	var buf []byte
	if w.buf != nil {
		buf = *w.buf
	}
	trailers := end && w.hasTrailerValues()
	if !w.sentHeader {
		w.sentHeader = true
		st.sentFinal = true
		c.encodeField(":status", statusString(w.status))
		for i := 0; i < len(w.fields); i += 2 {
			c.encodeField(w.fields[i], w.fields[i+1])
		}
		// A handler that finished with its whole body buffered gets a
		// Content-Length; so does a HEAD response whose body would have
		// fitted (as net/http).
		if w.declared < 0 && end && len(w.trailers) == 0 && w.bodyAllowed() &&
			(!w.head || w.written > 0 && w.written <= bodyBuffer) {
			c.encodeField("content-length", strconv.FormatInt(w.written, 10))
		}
		if !w.hasDate {
			c.encodeField("date", httpdate.Now())
		}
		endStream := w.head || end && len(w.trailers) == 0 && len(buf) == 0 && len(p) == 0
		if err := c.writeHeaderBlock(st.id, endStream); err != nil {
			return err
		}
		if endStream {
			w.ended = true
			c.endLocal(st, end) // a HEAD response can end before its handler
			return nil
		}
	}
	if w.head {
		return nil
	}
	endData := end && !trailers
	if len(buf) > 0 {
		if err := c.writeData(st, buf, endData && len(p) == 0); err != nil {
			return err
		}
		*w.buf = buf[:0]
	}
	if len(p) > 0 || endData && len(buf) == 0 {
		if err := c.writeData(st, p, endData); err != nil {
			return err
		}
	}
	if trailers {
		for _, k := range w.trailers {
			name := lowerHeader(k)
			for _, v := range w.header[k] {
				if httpguts.ValidHeaderFieldValue(v) {
					c.encodeField(name, v)
				}
			}
		}
		if err := c.writeHeaderBlock(st.id, true); err != nil {
			return err
		}
	}
	if end {
		w.ended = true
		c.endLocal(st, true)
	}
	return nil
}

func (w *responseWriter) hasTrailerValues() bool {
	for _, k := range w.trailers {
		if len(w.header[k]) > 0 {
			return true
		}
	}
	return false
}

// writeData writes p as DATA frames on st as the send windows and the
// client's frame size allow, waiting for WINDOW_UPDATEs; the last frame
// carries END_STREAM when end. wmu is held.
func (c *conn) writeData(st *stream, p []byte, end bool) error {
	for {
		for len(p) > 0 && (st.send <= 0 || c.sendConn <= 0) && !st.reset && c.werr == nil {
			c.waitWindow()
		}
		switch {
		case st.reset:
			return errStreamClosed
		case c.werr != nil:
			return c.werr
		}
		n := int64(len(p))
		n = min(n, int64(c.peerMaxFrame), st.send, c.sendConn)
		chunk := p[:n]
		p = p[n:]
		if err := c.fr.WriteData(st.id, end && len(p) == 0, chunk); err != nil {
			c.writeFailed(err)
			return c.werr
		}
		st.send -= n
		c.sendConn -= n
		if len(p) == 0 {
			return nil
		}
	}
}

// finalHead is what a final response's fields tell its writer, noted as
// appendFields goes over them rather than looked up.
type finalHead struct {
	declared int64    // Content-Length, or -1
	close    bool     // Connection: close
	hasDate  bool     // a Date field, which the server then does not add
	trailer  []string // the Trailer field's values
}

// appendFields appends h's fields as HTTP/2 sends them: lower-case
// names, without the connection-specific fields (RFC 9113 §8.2.2),
// invalid ones and trailers named with http.TrailerPrefix. Content-Length
// is left out of an informational response (final nil), and of a final
// one unless it is a valid length, which final notes with the rest.
func appendFields(out []string, h http.Header, final *finalHead) []string {
	if final != nil {
		final.declared = -1
	}
	for k, vv := range h {
		switch k {
		case "Connection":
			if final != nil {
				final.close = httpguts.HeaderValuesContainsToken(vv, "close")
			}
			continue
		case "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade":
			continue
		case "Content-Length":
			if final == nil || len(vv) == 0 {
				continue
			}
			n, err := strconv.ParseUint(vv[0], 10, 63)
			if err != nil {
				continue
			}
			final.declared = int64(n)
			vv = vv[:1]
		case "Trailer":
			if final != nil {
				final.trailer = vv
			}
		case "Date":
			if final != nil {
				final.hasDate = true
			}
		}
		if strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		name := lowerHeader(k)
		if !httpguts.ValidHeaderFieldName(name) {
			continue
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) || name == "te" && v != "trailers" {
				continue
			}
			out = append(out, name, v)
		}
	}
	return out
}

// statusStrings are the :status values of the registered codes, made
// once rather than per response.
var statusStrings = func() (s [600]string) {
	for code := range s {
		if http.StatusText(code) != "" {
			s[code] = strconv.Itoa(code)
		}
	}
	return s
}()

func statusString(code int) string {
	if code < len(statusStrings) && statusStrings[code] != "" {
		return statusStrings[code]
	}
	return strconv.Itoa(code)
}
