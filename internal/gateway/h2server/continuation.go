package h2server

import (
	"errors"
	"io"

	"golang.org/x/net/http2"
)

// errContinuationFlood ends a connection whose header block runs to more
// CONTINUATION frames than a header list of the allowed size needs.
var errContinuationFlood = errors.New("h2server: too many CONTINUATION frames")

// frameCounter follows the frame headers passing from the socket to the
// framer and fails the read once a header block has more CONTINUATION
// frames than allowed. The framer bounds a header block's bytes, not its
// frames: a client sending empty CONTINUATIONs forever would hold the
// connection's reader (CVE-2024-28182 for nghttp2, whose default limit
// is 8; here it grows with the header list allowed, at 16 KiB a frame).
type frameCounter struct {
	r             io.Reader
	limit         int
	skip          int // bytes left of the current frame (or the preface)
	hdr           [9]byte
	hn            int // frame header bytes seen
	continuations int // in the current header block
}

func newFrameCounter(r io.Reader, maxHeaderList uint32) *frameCounter {
	return &frameCounter{r: r, limit: 8 + int(maxHeaderList/16384), skip: len(http2.ClientPreface)}
}

func (fc *frameCounter) Read(p []byte) (int, error) {
	n, err := fc.r.Read(p)
	for b := p[:n]; len(b) > 0; {
		if fc.skip > 0 {
			k := min(fc.skip, len(b))
			fc.skip -= k
			b = b[k:]
			continue
		}
		k := copy(fc.hdr[fc.hn:], b)
		fc.hn += k
		b = b[k:]
		if fc.hn < len(fc.hdr) {
			break
		}
		fc.hn = 0
		fc.skip = int(fc.hdr[0])<<16 | int(fc.hdr[1])<<8 | int(fc.hdr[2])
		switch fc.hdr[3] {
		case 0x1: // HEADERS
			fc.continuations = 0
		case 0x9: // CONTINUATION
			if fc.continuations++; fc.continuations > fc.limit {
				return n, errContinuationFlood
			}
		}
	}
	return n, err
}
