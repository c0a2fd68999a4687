package accesslog

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
)

// FuzzCompile: Compile never panics, any format it accepts renders any
// entry without panicking, and the same format as a JSON value always
// renders valid JSON.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		DefaultFormat,
		"%START_TIME(%Y-%m-%dT%H:%M:%S%z %s.%3f %E*S %Ez)%",
		"%REQ(X-ENVOY-ORIGINAL-PATH?:PATH):10% %RESP(:STATUS)% %TRAILER(grpc-status)%",
		"%GRPC_STATUS(SNAKE_STRING)% %GRPC_STATUS_NUMBER% %RESPONSE_FLAGS_LONG%",
		"%DOWNSTREAM_LOCAL_PORT% %UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %%",
		"%REQ_WITHOUT_QUERY(:PATH)% %DOWNSTREAM_TLS_CIPHER% %ENVIRONMENT(HOME):3%",
		"%", "%REQ(", "%REQ(X):", "%A%B%", "\xff%DURATION%\x00",
	} {
		f.Add(s, []byte("GET\x00/p?q\x00host\x00ua \"x\"\x00\xff\xfe\x00application/grpc\x0014\x00[::1]:80"))
	}
	f.Fuzz(func(t *testing.T, format string, data []byte) {
		e := fuzzEntry(data)
		tf, err := Compile(format)
		if err == nil {
			tf.Append(nil, e)
		}
		jf, jerr := CompileJSON([]ir.JSONField{{Key: format, Value: format}, {Key: format + "#code", Value: "%RESPONSE_CODE%"}})
		if (err == nil) != (jerr == nil) {
			t.Fatalf("Compile and CompileJSON disagree on %q: %v / %v", format, err, jerr)
		}
		if jerr == nil {
			if out := jf.Append(nil, e); !json.Valid(out) {
				t.Fatalf("format %q rendered invalid JSON %q", format, out)
			}
		}
	})
}

// fuzzEntry builds an entry from fuzz bytes: NUL-separated strings for
// the text fields, the rest for numbers and times.
func fuzzEntry(data []byte) *Entry {
	parts := bytes.Split(data, []byte{0})
	s := func(i int) string {
		if i < len(parts) {
			return string(parts[i])
		}
		return ""
	}
	n := func(i int) uint64 {
		var b [8]byte
		for j := 0; j < 8 && i*8+j < len(data); j++ {
			b[j] = data[i*8+j]
		}
		return binary.LittleEndian.Uint64(b[:])
	}
	start := time.Unix(int64(n(0)%(1<<40))-(1<<39), int64(n(1)%1e9))
	e := &Entry{
		StartTime:               start,
		EndTime:                 start.Add(time.Duration(n(2) % (1 << 40))),
		UpstreamResponseStart:   start.Add(time.Duration(int64(n(3)%(1<<30)) - (1 << 29))),
		Method:                  s(0),
		Path:                    s(1),
		OriginalPath:            s(1) + s(2),
		Authority:               s(2),
		Protocol:                s(3),
		RequestHeader:           http.Header{"User-Agent": {s(3)}, "Content-Type": {s(5)}, "X-Request-Id": {s(4)}},
		ResponseCode:            int(n(4) % 1000),
		ResponseHeader:          http.Header{"Grpc-Status": {s(6)}},
		ResponseTrailer:         http.Header{"Grpc-Status": {strconv.FormatUint(n(5)%40, 10)}},
		ResponseFlags:           ResponseFlags(n(6)),
		BytesReceived:           n(7),
		BytesSent:               n(8),
		UpstreamHost:            s(7),
		UpstreamLocalAddress:    s(6),
		DownstreamRemoteAddress: s(7) + ":" + s(8),
		DownstreamLocalAddress:  s(8),
		RouteName:               s(4),
		LocalReplyBody:          s(5),
	}
	if n(9)%2 == 1 {
		e.TLS = &tls.ConnectionState{Version: uint16(n(10)), CipherSuite: uint16(n(11)), ServerName: s(2)}
	}
	return e
}
