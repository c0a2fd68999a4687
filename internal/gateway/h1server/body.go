package h1server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/meshgate/meshgate/internal/gateway/h1field"
	"github.com/meshgate/meshgate/internal/gateway/reqctx"
)

var (
	// ErrBodyIdle is the error of a request body read that received
	// nothing for the server's BodyIdleTimeout.
	ErrBodyIdle error = &bodyIdleError{}
	// ErrMalformedBody is the error of a request body whose chunked
	// framing is malformed.
	ErrMalformedBody = errors.New("malformed chunked request body")
)

type bodyIdleError struct{}

func (*bodyIdleError) Error() string   { return "request body idle timeout" }
func (*bodyIdleError) Timeout() bool   { return true }
func (*bodyIdleError) Temporary() bool { return false }

// BodyError is the error r's body reads failed with (ErrBodyIdle,
// ErrMalformedBody, io.ErrUnexpectedEOF...), or nil; nil for requests
// that this package did not serve.
func BodyError(r *http.Request) error {
	c, ok := r.Context().Value(connKey{}).(*conn)
	if !ok || c.cur == nil {
		return nil
	}
	if err := c.cur.body.failure(); err != nil {
		return err
	}
	if c.expired.Load() {
		return ErrBodyIdle
	}
	return nil
}

// Problem is why the edge must refuse r, a request whose header block
// has a shape request smuggling is made of; "" for the others and for
// requests that this package did not serve.
func Problem(r *http.Request) string {
	ctx := r.Context()
	if _, ok := ctx.(*reqctx.Ctx); ok {
		// The request's own context: a problem would be a value over it.
		// (Looking the key up walks every context to the root.)
		return ""
	}
	if p, ok := ctx.Value(problemKey{}).(string); ok {
		return p
	}
	return ""
}

type problemKey struct{}

// Limits of a chunked body's framing, net/http's.
const (
	maxChunkLine    = 4096
	maxTrailerBytes = 8 << 10
)

// body is a request body, read from the connection's buffered reader.
// Reads may come from another goroutine than the handler's (a transport
// writing the request upstream), even after the handler returned: mu
// orders them with the connection's own use of the reader.
type body struct {
	mu       sync.Mutex
	detached bool // the connection is done with the body: reads fail
	w        *response
	r        *http.Request
	chunked  bool
	remain   int64 // of the Content-Length body or the current chunk
	inChunk  bool
	eof      bool
	closed   bool
	err      error
}

func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.detached {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.eof {
		return 0, io.EOF
	}
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	c := b.w.c
	if err := b.w.sendContinue(); err != nil {
		return 0, b.fail(err)
	}
	if len(p) == 0 {
		return 0, nil
	}
	c.inBody = true
	defer func() { c.inBody = false }()
	if b.chunked && !b.inChunk {
		if err := b.nextChunk(); err != nil {
			return 0, b.fail(err)
		}
		if b.eof {
			b.done()
			return 0, io.EOF
		}
	}
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := c.br.Read(p)
	b.remain -= int64(n)
	if b.remain == 0 {
		if b.chunked {
			b.inChunk = false
			if err := b.chunkEnd(); err != nil {
				return n, b.fail(err)
			}
		} else {
			b.eof = true
			b.done()
			return n, io.EOF
		}
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return n, b.fail(err)
	}
	return n, nil
}

func (b *body) fail(err error) error {
	if b.err == nil {
		b.err = err
	}
	return b.err
}

// failure is the error the body's reads failed with, or nil.
func (b *body) failure() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// done: the body was read to its end; the connection can now be watched.
func (b *body) done() {
	b.eof = true
	b.w.c.watch.arm()
}

// nextChunk reads a chunk-size line (as net/http: CRLF-terminated, no
// other CR, trailing white space and extensions ignored, 1 to 16 hex
// digits); a zero size reads the trailer section.
func (b *body) nextChunk() error {
	line, err := b.readLine(maxChunkLine)
	if err != nil {
		return err
	}
	if len(line) == 0 || strings.IndexByte(line, '\r') != len(line)-1 {
		return ErrMalformedBody // no CRLF, or a CR before it
	}
	line = strings.TrimRight(line[:len(line)-1], " \t")
	line, _, _ = strings.Cut(line, ";")
	size, ok := parseHex(line)
	if !ok {
		return ErrMalformedBody
	}
	if size > 0 {
		b.remain, b.inChunk = int64(size), true
		return nil
	}
	return b.readTrailer()
}

// chunkEnd reads the CRLF after a chunk's data.
func (b *body) chunkEnd() error {
	br := b.w.c.br
	crlf, err := br.Peek(2)
	if err != nil {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if crlf[0] != '\r' || crlf[1] != '\n' {
		return ErrMalformedBody
	}
	br.Discard(2)
	return nil
}

// readTrailer reads the trailer fields after the last chunk into the
// request's Trailer, as net/http does.
func (b *body) readTrailer() error {
	total := 0
	var t http.Header
	for {
		line, err := b.readLine(maxTrailerBytes - total)
		if err != nil {
			return err
		}
		total += len(line) + 1
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !validFieldName(name) || line[0] == ' ' || line[0] == '\t' {
			return ErrMalformedBody
		}
		if t == nil {
			t = make(http.Header)
		}
		t.Add(canonicalKey(name), h1field.TrimOWS(value))
	}
	if t != nil {
		if b.r.Trailer == nil {
			b.r.Trailer = t
		} else {
			for k, vv := range t {
				b.r.Trailer[k] = vv
			}
		}
	}
	b.eof = true
	return nil
}

// readLine reads a line of at most max bytes, without its "\n".
func (b *body) readLine(max int) (string, error) {
	line, err := b.w.c.br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull || len(line) > max:
		return "", ErrMalformedBody
	case err == io.EOF:
		return "", io.ErrUnexpectedEOF
	case err != nil:
		return "", err
	}
	return string(line[:len(line)-1]), nil
}

// Close marks the body closed; what is left of it is read (or the
// connection closed) after the handler returns.
func (b *body) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

// unread reports whether bytes of the body may be left on the connection.
func (b *body) unread() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w != nil && !b.eof
}

// arrived reports whether the rest of the body is already buffered (or
// there is none), so the connection can be kept without waiting for it.
func (b *body) arrived() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.w == nil || b.eof {
		return true
	}
	if b.err != nil {
		return false
	}
	n := b.w.c.br.Buffered()
	if !b.chunked {
		return b.remain <= int64(n)
	}
	buf, _ := b.w.c.br.Peek(n)
	if b.inChunk {
		if int64(len(buf)) < b.remain+2 || buf[b.remain] != '\r' || buf[b.remain+1] != '\n' {
			return false
		}
		buf = buf[b.remain+2:]
	}
	valid, complete := scanChunked(buf)
	return valid && complete
}

// discard reads what the handler left of the body, up to max bytes, so
// the connection can serve the next request; false if it can't.
func (b *body) discard(max int64) bool {
	b.mu.Lock()
	if b.w == nil || b.eof {
		b.mu.Unlock()
		return b.err == nil
	}
	if b.err != nil || !b.chunked && b.remain > max {
		b.mu.Unlock()
		return false
	}
	b.closed = false
	b.mu.Unlock()
	n, err := io.Copy(io.Discard, io.LimitReader(b, max+1))
	return err == nil && n <= max
}

// detach ends the body's use of the connection: a read in progress is
// waited for (the connection is closed by then, so it ends), later ones
// fail.
func (b *body) detach() {
	b.mu.Lock()
	b.detached = true
	b.mu.Unlock()
}

func parseHex(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > 16 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		n = n<<4 | uint64(c)
	}
	return n, true
}

// scanChunked checks b, the start of a chunked body (at a chunk-size
// line), without reading it: valid is false when a chunk-size line,
// chunk end or trailer line in it is not as nextChunk, chunkEnd and
// readTrailer require; complete is true when b holds the whole body.
func scanChunked(b []byte) (valid, complete bool) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return len(b) <= maxChunkLine, false
		}
		line := b[:i]
		if len(line) == 0 || bytes.IndexByte(line, '\r') != len(line)-1 || i > maxChunkLine {
			return false, false // no CRLF, or a CR before it
		}
		line = bytes.TrimRight(line[:len(line)-1], " \t")
		line, _, _ = bytes.Cut(line, []byte(";"))
		size, ok := parseHex(string(line))
		if !ok {
			return false, false
		}
		b = b[i+1:]
		if size == 0 {
			return scanTrailer(b)
		}
		if uint64(len(b)) < size+2 {
			return uint64(len(b)) <= size || b[size] == '\r', false
		}
		if b[size] != '\r' || b[size+1] != '\n' {
			return false, false
		}
		b = b[size+2:]
	}
	return true, false
}

// scanTrailer is scanChunked for the trailer section.
func scanTrailer(b []byte) (valid, complete bool) {
	total := 0
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return total+len(b) <= maxTrailerBytes, false
		}
		if total += i + 1; total > maxTrailerBytes {
			return false, false
		}
		line := bytes.TrimSuffix(b[:i], []byte("\r"))
		if len(line) == 0 {
			return true, true
		}
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok || !validFieldName(string(name)) {
			return false, false
		}
		b = b[i+1:]
	}
	return true, false
}
