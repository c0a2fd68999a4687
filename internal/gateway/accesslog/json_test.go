package accesslog

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/meshgate/meshgate/internal/ir"
)

func renderJSON(t *testing.T, e *Entry, kv ...string) string {
	t.Helper()
	var fields []ir.JSONField
	for i := 0; i+1 < len(kv); i += 2 {
		fields = append(fields, ir.JSONField{Key: kv[i], Value: kv[i+1]})
	}
	f, err := CompileJSON(fields)
	if err != nil {
		t.Fatalf("CompileJSON(%v): %v", fields, err)
	}
	out := string(f.Append(nil, e))
	if !strings.HasSuffix(out, "}\n") {
		t.Errorf("JSON line does not end in }\\n: %q", out)
	}
	if !json.Valid([]byte(out)) {
		t.Errorf("invalid JSON: %q", out)
	}
	return out
}

func TestJSONTypedValues(t *testing.T) {
	full := fixture()
	tests := []struct {
		name string
		kv   []string
		e    *Entry
		want string
	}{
		{"numbers stay numbers", []string{
			"code", "%RESPONSE_CODE%", "duration", "%DURATION%", "sent", "%BYTES_SENT%", "received", "%BYTES_RECEIVED%",
			"attempts", "%UPSTREAM_REQUEST_ATTEMPT_COUNT%", "conn", "%CONNECTION_ID%", "port", "%DOWNSTREAM_REMOTE_PORT%",
		}, full, `{"code":204,"duration":226,"sent":0,"received":154,"attempts":2,"conn":42,"port":55000}`},
		{"strings", []string{"method", "%REQ(:METHOD)%", "start", "%START_TIME%", "flags", "%RESPONSE_FLAGS%", "protocol", "%PROTOCOL%"},
			full, `{"method":"POST","start":"2016-04-15T20:17:00.310Z","flags":"-","protocol":"HTTP/2"}`},
		{"missing single operator is null", []string{
			"ua", "%REQ(X-NOPE)%", "duration", "%RESPONSE_DURATION%", "route", "%ROUTE_NAME%", "meta", "%DYNAMIC_METADATA(a:b)%",
		}, &Entry{}, `{"ua":null,"duration":null,"route":null,"meta":null}`},
		{"missing protocol is a dash", []string{"p", "%PROTOCOL%", "up", "%UPSTREAM_PROTOCOL%"}, &Entry{}, `{"p":"-","up":"-"}`},
		{"Envoy zeros stay zeros", []string{"code", "%RESPONSE_CODE%", "bytes", "%BYTES_SENT%"}, &Entry{}, `{"code":0,"bytes":0}`},
		{"mixed text is a string with dashes", []string{"line", "%REQ(:METHOD)% %REQ(X-NOPE)% %RESPONSE_CODE%", "ms", "%DURATION%ms"},
			full, `{"line":"POST - 204","ms":"226ms"}`},
		{"literal", []string{"service", "gateway", "empty", ""}, full, `{"service":"gateway","empty":""}`},
		{"truncation", []string{"ua", "%REQ(USER-AGENT):3%"}, full, `{"ua":"nsq"}`},
		{"grpc number typed", []string{"g", "%GRPC_STATUS(NUMBER)%", "c", "%GRPC_STATUS%"},
			&Entry{RequestHeader: http.Header{"Content-Type": {"application/grpc"}}, ResponseTrailer: http.Header{"Grpc-Status": {"14"}}},
			`{"g":14,"c":"Unavailable"}`},
		{"key order is the configured order", []string{"z", "1", "a", "2", "m", "3"}, full, `{"z":"1","a":"2","m":"3"}`},
		{"nil entry", []string{"code", "%RESPONSE_CODE%", "path", "%REQ(:PATH)%"}, nil, `{"code":0,"path":null}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := renderJSON(t, tc.e, tc.kv...); got != tc.want+"\n" {
				t.Errorf("\n got %q\nwant %q", got, tc.want+"\n")
			}
		})
	}
}

func TestJSONEscaping(t *testing.T) {
	e := fixture()
	e.RequestHeader = http.Header{
		"User-Agent": {`evil "agent" \ with` + "\ttab\x01ctl"},
		"X-Utf8":     {"héllo 世界"},
		"X-Bad":      {"bad\xff\xfebytes"},
	}
	got := renderJSON(t, e,
		`we"ird\key`+"\n", "%REQ(USER-AGENT)%",
		"utf8", "%REQ(X-UTF8)%",
		"bad", "%REQ(X-BAD)%",
		"mixed", `ua=%REQ(USER-AGENT)% "q"`,
	)
	want := `{"we\"ird\\key\n":"evil \"agent\" \\ with\ttab\u0001ctl","utf8":"héllo 世界","bad":"bad\ufffd\ufffdbytes",` +
		`"mixed":"ua=evil \"agent\" \\ with\ttab\u0001ctl \"q\""}` + "\n"
	if got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
	var decoded map[string]string
	if err := json.Unmarshal([]byte(got), &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded[`we"ird\key`+"\n"] != e.RequestHeader.Get("User-Agent") {
		t.Errorf("round trip: %q", decoded)
	}
}

func TestCompileJSONErrors(t *testing.T) {
	if _, err := CompileJSON(nil); err == nil {
		t.Error("no fields: want an error")
	}
	_, err := CompileJSON([]ir.JSONField{{Key: "a", Value: "x"}, {Key: "a", Value: "y"}})
	if err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("duplicate key: %v", err)
	}
	_, err = CompileJSON([]ir.JSONField{{Key: "ok", Value: "%DURATION%"}, {Key: "bad", Value: "x %NOPE% y"}})
	var fe *FormatError
	if err == nil || !errors.As(err, &fe) || fe.Operator != "%NOPE%" || !strings.Contains(err.Error(), `json key "bad"`) {
		t.Errorf("bad value: %v", err)
	}
}
