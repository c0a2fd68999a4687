package accesslog

import (
	"io"
	"testing"

	"github.com/meshgate/meshgate/internal/ir"
)

func BenchmarkAppend(b *testing.B) {
	text, err := Compile(DefaultFormat)
	if err != nil {
		b.Fatal(err)
	}
	js, err := CompileJSON([]ir.JSONField{
		{Key: "start_time", Value: "%START_TIME%"},
		{Key: "method", Value: "%REQ(:METHOD)%"},
		{Key: "path", Value: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"},
		{Key: "protocol", Value: "%PROTOCOL%"},
		{Key: "response_code", Value: "%RESPONSE_CODE%"},
		{Key: "response_flags", Value: "%RESPONSE_FLAGS%"},
		{Key: "bytes_received", Value: "%BYTES_RECEIVED%"},
		{Key: "bytes_sent", Value: "%BYTES_SENT%"},
		{Key: "duration", Value: "%DURATION%"},
		{Key: "upstream_service_time", Value: "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%"},
		{Key: "x_forwarded_for", Value: "%REQ(X-FORWARDED-FOR)%"},
		{Key: "user_agent", Value: "%REQ(USER-AGENT)%"},
		{Key: "request_id", Value: "%REQ(X-REQUEST-ID)%"},
		{Key: "authority", Value: "%REQ(:AUTHORITY)%"},
		{Key: "upstream_host", Value: "%UPSTREAM_HOST%"},
		{Key: "upstream_cluster", Value: "%UPSTREAM_CLUSTER%"},
		{Key: "route", Value: "%ROUTE_NAME%"},
	})
	if err != nil {
		b.Fatal(err)
	}
	e := fixture()
	for _, bc := range []struct {
		name string
		f    *Format
	}{{"text-default", text}, {"json", js}} {
		b.Run(bc.name, func(b *testing.B) {
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				buf = bc.f.Append(buf[:0], e)
			}
			b.SetBytes(int64(len(buf)))
		})
	}
	b.Run("logger", func(b *testing.B) {
		l := NewLogger(io.Discard, Options{})
		defer l.Close()
		b.ReportAllocs()
		for b.Loop() {
			l.Log(text, e)
		}
	})
}
