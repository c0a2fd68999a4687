package h2server

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// headerBlock is a HEADERS frame and its CONTINUATIONs, decoded: what
// http2.MetaHeadersFrame holds. Its fields are valid until the next block
// is read.
type headerBlock struct {
	streamID    uint32
	endStream   bool
	hasPriority bool
	priority    http2.PriorityParam
	fields      []hpack.HeaderField // the pseudo-header fields first
	nPseudo     int
	// truncated: the header list was over the size allowed; the fields
	// after the limit were decoded (HPACK state) and dropped.
	truncated bool
}

func (b *headerBlock) pseudoFields() []hpack.HeaderField  { return b.fields[:b.nPseudo] }
func (b *headerBlock) regularFields() []hpack.HeaderField { return b.fields[b.nPseudo:] }

// headerReader decodes header blocks as http2.Framer does with
// ReadMetaHeaders set (the same limits, the same errors, checked in the
// same order), with state that lives as long as the connection: the
// framer allocates a frame, a closure with four captured variables and a
// growing field slice for every block, a third of an h2c request's
// allocations in the server.
type headerReader struct {
	dec *hpack.Decoder
	max uint32 // SETTINGS_MAX_HEADER_LIST_SIZE
	blk headerBlock
	// remain and trailersRemain are what the block may still add to the
	// header list: "trailer" fields have a budget of their own.
	remain, trailersRemain uint32
	sawRegular             bool
	invalid                error // the first malformed field
}

func newHeaderReader(maxHeaderList uint32) *headerReader {
	r := &headerReader{max: maxHeaderList}
	r.dec = hpack.NewDecoder(4096, r.emit)
	if n := int(maxHeaderList); n > 0 {
		r.dec.SetMaxStringLength(n)
	}
	return r
}

// read decodes the block f begins, reading its CONTINUATION frames from
// fr (whose frame order check guarantees them). A connection error leaves
// the HPACK state unusable; a stream error does not.
func (r *headerReader) read(fr *http2.Framer, f *http2.HeadersFrame) (*headerBlock, error) {
	r.blk = headerBlock{streamID: f.StreamID, endStream: f.StreamEnded(),
		hasPriority: f.HasPriority(), priority: f.Priority, fields: r.blk.fields[:0]}
	r.remain, r.trailersRemain = r.max, r.max
	r.sawRegular, r.invalid = false, nil
	r.dec.SetEmitEnabled(true)
	frag, ended := f.HeaderBlockFragment(), f.HeadersEnded()
	for {
		// A fragment far beyond what the list may still hold is not
		// decoded, nor is anything after a malformed field (whose size
		// was not counted).
		if int64(len(frag)) > 2*(int64(r.remain)+int64(r.trailersRemain)) || r.invalid != nil {
			return nil, http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if _, err := r.dec.Write(frag); err != nil {
			return nil, http2.ConnectionError(http2.ErrCodeCompression)
		}
		if ended {
			break
		}
		next, err := fr.ReadFrame()
		if err != nil {
			return nil, err
		}
		cf, ok := next.(*http2.ContinuationFrame)
		if !ok {
			return nil, http2.ConnectionError(http2.ErrCodeProtocol)
		}
		frag, ended = cf.HeaderBlockFragment(), cf.HeadersEnded()
	}
	if err := r.dec.Close(); err != nil {
		return nil, http2.ConnectionError(http2.ErrCodeCompression)
	}
	if r.invalid == nil {
		r.invalid = checkPseudos(r.blk.pseudoFields())
	}
	if r.invalid != nil {
		return nil, http2.StreamError{StreamID: r.blk.streamID, Code: http2.ErrCodeProtocol, Cause: r.invalid}
	}
	return &r.blk, nil
}

var errPseudoAfterRegular = errors.New("h2server: pseudo header field after regular")

func (r *headerReader) emit(hf hpack.HeaderField) {
	if !httpguts.ValidHeaderFieldValue(hf.Value) {
		r.invalid = fmt.Errorf("h2server: invalid value of header field %q", hf.Name)
	}
	if strings.HasPrefix(hf.Name, ":") {
		if r.sawRegular {
			r.invalid = errPseudoAfterRegular
		}
	} else {
		r.sawRegular = true
		if !validWireName(hf.Name) {
			r.invalid = fmt.Errorf("h2server: invalid header field name %q", hf.Name)
		}
	}
	if r.invalid != nil {
		r.dec.SetEmitEnabled(false)
		return
	}
	remain, size := &r.remain, hf.Size()
	if hf.Name == "trailer" {
		// As the framer counts it: each name the field lists as if a
		// field of its own.
		remain = &r.trailersRemain
		n := uint32(strings.Count(hf.Value, ",") + 1)
		size = uint32(len(hf.Value)) - n + 1 + n*hpack.HeaderField{}.Size()
	}
	if size > *remain {
		r.dec.SetEmitEnabled(false)
		r.blk.truncated = true
		r.remain, r.trailersRemain = 0, 0
		return
	}
	*remain -= size
	r.blk.fields = append(r.blk.fields, hf)
	if !r.sawRegular {
		r.blk.nPseudo++
	}
}

// validWireName: a token in lower case, as HTTP/2 sends field names.
func validWireName(v string) bool {
	if v == "" {
		return false
	}
	for _, c := range v {
		if !httpguts.IsTokenRune(c) || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

// checkPseudos rejects unknown and repeated pseudo-header fields, and a
// mix of request and response ones.
func checkPseudos(pf []hpack.HeaderField) error {
	var request, response bool
	for i, hf := range pf {
		switch hf.Name {
		case ":method", ":path", ":scheme", ":authority", ":protocol":
			request = true
		case ":status":
			response = true
		default:
			return fmt.Errorf("h2server: invalid pseudo-header %q", hf.Name)
		}
		for _, prev := range pf[:i] {
			if hf.Name == prev.Name {
				return fmt.Errorf("h2server: duplicate pseudo-header %q", hf.Name)
			}
		}
	}
	if request && response {
		return errors.New("h2server: mix of request and response pseudo headers")
	}
	return nil
}
