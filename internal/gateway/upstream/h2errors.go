package upstream

import (
	"context"
	"errors"
	"strings"
)

// h2Error gives a failed HTTP/2 attempt the type Envoy's classification
// needs: a stream the upstream reset is a *RemoteResetError (UR); a
// response or frame the client could not accept is a *ProtocolError
// (UPE). Anything else (a closed connection, a context's end) is
// returned as it is. net/http's HTTP/2 client does not export its error
// types, so their texts are read; TestH2Errors pins each against a real
// upstream, so a Go release that changes them fails there.
func h2Error(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := err.Error()
	switch {
	// "stream error: stream ID 1; INTERNAL_ERROR; received from peer"
	case strings.HasPrefix(msg, "stream error: ") && strings.HasSuffix(msg, "; received from peer"):
		return &RemoteResetError{Err: err}
	// A stream error the client raised: an invalid field, no :status.
	case strings.HasPrefix(msg, "stream error: "),
		// A frame the upstream should not have sent.
		strings.HasPrefix(msg, "connection error: "),
		// Bytes that are not HTTP/2 frames, such as an HTTP/1.1 answer.
		strings.Contains(msg, "http2: frame too large"):
		return &ProtocolError{Err: err}
	}
	return err
}
