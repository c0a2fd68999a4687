package accesslog

import (
	"errors"
	"strings"
	"testing"
)

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		format string
		// operator is the text the error must name, reason a fragment of
		// why.
		operator, reason string
	}{
		{"%", "%", "must start a command operator"},
		{"100% sure", "% ", "must start a command operator"},
		{"%req(:path)%", "%r", "must start a command operator"},
		{"abc %REQ(X", "%REQ(X", "missing ')'"},
		{"%REQ(X)", "%REQ(X)", "missing closing '%'"},
		{"%DURATION", "%DURATION", "missing closing '%'"},
		{"%DURATION x%", "%DURATION ", "expected closing '%'"},
		{"%FOO%", "%FOO%", "unknown command operator FOO"},
		{"a %START_TIMES% b", "%START_TIMES%", "unknown command operator"},
		{"%REQ(X):abc%", "%REQ(X):abc%", `bad length "abc"`},
		{"%REQ(X):%", "%REQ(X):%", "bad length"},
		{"%REQ(X):-1%", "%REQ(X):-1%", "bad length"},
		{"%REQ(X):99999999999999999999999%", "%REQ(X):99999999999999999999999%", "out of range"},
		{"%DURATION:3%", "%DURATION:3%", "takes no parameters or length"},
		{"%RESPONSE_CODE(x)%", "%RESPONSE_CODE(x)%", "takes no parameters or length"},
		{"%REQ%", "%REQ%", "requires parameters"},
		{"%REQ()%", "%REQ()%", "requires parameters"},
		{"%START_TIME:10%", "%START_TIME:10%", "does not allow a length"},
		{"%REQ(A?B?C)%", "%REQ(A?B?C)%", "more than one alternative"},
		{"%REQ(?B)%", "%REQ(?B)%", "empty header name"},
		{"%GRPC_STATUS(FOO)%", "%GRPC_STATUS(FOO)%", "CAMEL_STRING, SNAKE_STRING or NUMBER"},
		{"%START_TIME(%Y%n)%", "%START_TIME(%Y%n)%", "newline"},
		{"%REQ(A\nB)%", "%REQ(A\nB)%", "newline"},
	}
	for _, tc := range tests {
		_, err := Compile(tc.format)
		if err == nil {
			t.Errorf("Compile(%q): no error", tc.format)
			continue
		}
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("Compile(%q): %T, want *FormatError", tc.format, err)
			continue
		}
		if fe.Operator != tc.operator {
			t.Errorf("Compile(%q): operator %q, want %q", tc.format, fe.Operator, tc.operator)
		}
		if !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("Compile(%q): %q lacks %q", tc.format, err, tc.reason)
		}
	}
}

func TestCompileAccepts(t *testing.T) {
	// Formats Envoy accepts, including App Mesh's documented examples.
	for _, f := range []string{
		"%LOCAL_REPLY_BODY%:%RESPONSE_CODE%:path=%REQ(:path)%\n",
		"%REQ_WITHOUT_QUERY(X-ENVOY-ORIGINAL-PATH?:PATH):10%",
		"%DURATION()%",
		"%START_TIME()%",
		"%DYNAMIC_METADATA(com.test:a:b):5%",
		"%COMMON_DURATION(DS_RX_BEG:DS_TX_END:ms)%",
		"%START_TIME(%Y-%m-%d %%)%",
		"no operators at all",
		"%%%%",
		"trailing %%",
		DefaultFormat,
	} {
		if _, err := Compile(f); err != nil {
			t.Errorf("Compile(%q): %v", f, err)
		}
	}
}
