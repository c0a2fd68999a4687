package auth

import (
	"encoding/hex"
	"net/http"
	"testing"
)

// TestSigV4TestSuite checks the canonicalizer and the key derivation
// against vectors of AWS's SigV4 test suite (service "service",
// us-east-1, 20150830T123600Z). The suite writes paths unencoded, as
// they would be before a client encodes them once for the wire.
func TestSigV4TestSuite(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	cases := []struct {
		name, path, query, canonical, signature string
	}{
		{"get-vanilla", "/", "",
			"GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{"get-vanilla-query-order-key-case", "/", "Param2=value2&Param1=value1",
			"GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			"b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
		{"get-utf8", "/ሴ", "",
			"GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			"8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
		{"get-space", "/example space/", "",
			"GET\n/example%20space/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			"652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"X-Amz-Date": {"20150830T123600Z"}}
			got := canonicalRequest(canonicalInput{method: "GET", escapedPath: tc.path, rawQuery: tc.query, host: "example.amazonaws.com",
				header: h, signed: []string{"host", "x-amz-date"}, payloadHash: sha256Hex(nil)})
			if got != tc.canonical {
				t.Fatalf("canonical request\n%s\nwant\n%s", got, tc.canonical)
			}
			c := &claim{scopeDate: "20150830", scopeRegion: "us-east-1", scopeService: "service", term: "aws4_request", dateStamp: "20150830T123600Z"}
			if sig := hex.EncodeToString(hmacSHA256(signingKey(secret, c), stringToSign(c, got))); sig != tc.signature {
				t.Errorf("signature %s, want %s", sig, tc.signature)
			}
		})
	}
}

func TestCanonicalPieces(t *testing.T) {
	uris := map[string]string{
		"":                            "/",
		"/v20190125/meshes":           "/v20190125/meshes",
		"/v20190125/meshes/a%20b":     "/v20190125/meshes/a%2520b",
		"/v20190125/meshes/%2541":     "/v20190125/meshes/%252541",
		"/v20190125/meshes/a~b.c_d-e": "/v20190125/meshes/a~b.c_d-e",
		"/v20190125/meshes/a+b":       "/v20190125/meshes/a%2Bb",
	}
	for in, want := range uris {
		if got := canonicalURI(in); got != want {
			t.Errorf("canonicalURI(%q) = %q, want %q", in, got, want)
		}
	}
	queries := []struct {
		raw       string
		presigned bool
		want      string
	}{
		{"", false, ""},
		{"b=2&a=1", false, "a=1&b=2"},
		{"a=2&a=1&a=10", false, "a=1&a=10&a=2"},
		{"k=a+b&k2=a%20b", false, "k=a%20b&k2=a%20b"},
		{"flag&x=", false, "flag=&x="},
		{"a=%2F%7e*", false, "a=%2F~%2A"},
		{"bad=%zz", false, "bad=%25zz"},
		{"X-Amz-Signature=abc&X-Amz-Date=1", true, "X-Amz-Date=1"},
		{"X-Amz-Signature=abc&X-Amz-Date=1", false, "X-Amz-Date=1&X-Amz-Signature=abc"},
		// Sorted after encoding: "%2F" sorts before "-".
		{"v=a-b&v=a/b", false, "v=a%2Fb&v=a-b"},
	}
	for _, q := range queries {
		if got := canonicalQuery(q.raw, q.presigned); got != q.want {
			t.Errorf("canonicalQuery(%q, %v) = %q, want %q", q.raw, q.presigned, got, q.want)
		}
	}
	values := map[string]string{"a": "a", "  a  b   c ": "a b c", "\ta\t": "a", "a \t  b": "a \t b"}
	for in, want := range values {
		if got := trimAll(in); got != want {
			t.Errorf("trimAll(%q) = %q, want %q", in, got, want)
		}
	}
}
