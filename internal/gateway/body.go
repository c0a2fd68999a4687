package gateway

import (
	"bytes"
	"io"
	"net/http"
)

func readFull(r io.Reader, b []byte) (int, error) { return io.ReadFull(r, b) }

// newBytesBody is a request body that can be sent again for a retry.
func newBytesBody(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

// drainAndClose discards a little of an abandoned response so its
// connection can be reused, then closes it.
func drainAndClose(resp *http.Response) {
	io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
}
