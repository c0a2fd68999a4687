package upstream

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/meshgate/meshgate/internal/gateway/h1field"
	"golang.org/x/net/http/httpguts"
)

// readSimpleResponse reads, without http.ReadResponse, a response of the
// shape nearly every upstream answer has: a final HTTP/1.1 response to a
// request other than HEAD and CONNECT, whose whole head is already
// buffered, with one Content-Length and no Transfer-Encoding, Trailer,
// Connection or Pragma field, every field well formed. The result is what
// http.ReadResponse returns for it (response_test.go compares them), at a
// fraction of the allocations: one string for the head, one for the
// response with its body and, up to 8 fields, their values, and the
// header map. ok is false, and br untouched, for any other response,
// which ReadResponse then reads.
func readSimpleResponse(br *bufio.Reader, req *http.Request) (resp *simpleResponse, ok bool) {
	if req.Method == http.MethodHead || req.Method == http.MethodConnect {
		return nil, false
	}
	buf, _ := br.Peek(br.Buffered())
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		return nil, false
	}
	head := string(buf[:end+2]) // each line with its CRLF
	line, rest, ok := cutCRLF(head)
	if !ok {
		return nil, false
	}
	// "HTTP/1.1 200 OK": the code is 3 digits, 2xx to 5xx, with a body.
	if len(line) < 13 || line[:9] != "HTTP/1.1 " || line[12] != ' ' || strings.IndexByte(line, '\r') >= 0 {
		return nil, false // a bare CR (a line has no LF): lines as ReadResponse splits them differ
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return nil, false
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 || code > 599 || code == http.StatusNoContent || code == http.StatusNotModified {
		return nil, false
	}
	status := strings.TrimLeft(line[9:], " ") // as ReadResponse keeps it: code and reason
	n := strings.Count(rest, "\n")            // the fields, at most
	resp = new(simpleResponse)
	h := make(http.Header, n)
	vals := resp.values[:0]
	if n > len(resp.values) {
		vals = make([]string, 0, n)
	}
	length := int64(-1)
	for rest != "" {
		if line, rest, ok = cutCRLF(rest); !ok {
			return nil, false
		}
		name, value, found := strings.Cut(line, ":")
		if !found || !httpguts.ValidHeaderFieldName(name) {
			return nil, false // obs-fold, a space before the colon...
		}
		value = h1field.TrimOWS(value)
		if !httpguts.ValidHeaderFieldValue(value) {
			return nil, false
		}
		key := textproto.CanonicalMIMEHeaderKey(name)
		switch key {
		case "Transfer-Encoding", "Trailer", "Connection", "Pragma":
			return nil, false // framing, closing or rewriting: ReadResponse's
		case "Content-Length":
			n, err := strconv.ParseUint(value, 10, 63) // digits only, as net/http
			if err != nil || length >= 0 {
				return nil, false
			}
			length = int64(n)
		}
		if vv, ok := h[key]; ok {
			h[key] = append(vv, value)
			continue
		}
		vals = append(vals, value)
		h[key] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	if length < 0 {
		return nil, false
	}
	br.Discard(end + 4)
	resp.Response = http.Response{
		Status:        status,
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		ContentLength: length,
		Request:       req,
	}
	if length == 0 {
		resp.Body = http.NoBody
	} else {
		resp.length = lengthBody{br: br, remain: length}
		resp.Body = &resp.length
	}
	return resp, true
}

// cutCRLF cuts s after its first line, which must end with CRLF: a bare
// LF (which ReadResponse would take as a line's end) declines the fast
// path. strings.Cut with "\r\n" took a quarter of the function's time
// in a gateway's profile.
func cutCRLF(s string) (line, rest string, ok bool) {
	i := strings.IndexByte(s, '\n')
	if i < 1 || s[i-1] != '\r' {
		return "", "", false
	}
	return s[:i-1], s[i+1:], true
}

// simpleResponse is a response readSimpleResponse read with its body
// reader and the client's wrapper of that: one allocation, not three.
type simpleResponse struct {
	http.Response
	length lengthBody
	h1     h1Body
	// values holds the field values when they are few: the header map's
	// slices point into it.
	values [8]string
}

// lengthBody is a Content-Length response body; like ReadResponse's, it
// returns io.EOF with its last bytes, and io.ErrUnexpectedEOF when the
// connection ends first.
type lengthBody struct {
	br     *bufio.Reader
	remain int64
}

func (b *lengthBody) Read(p []byte) (int, error) {
	if b.remain <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.br.Read(p)
	b.remain -= int64(n)
	switch {
	case b.remain == 0:
		return n, io.EOF
	case err == io.EOF:
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *lengthBody) Close() error { return nil }
