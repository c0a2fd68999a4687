package auth

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"
)

// FuzzCanonicalRequest: the canonicalizer and the whole verifier never
// panic on arbitrary methods, paths, queries and headers (including the
// Authorization header itself), and whatever request aws-sdk-go-v2's
// signer can sign, the verifier accepts.
func FuzzCanonicalRequest(f *testing.F) {
	f.Add("GET", "/v20190125/meshes", "limit=1", "a  b", "AWS4-HMAC-SHA256 Credential=AKIDMESHGATETEST0001/20240301/us-west-2/appmesh/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
	f.Add("PUT", "/v20190125/meshes/a%20b/virtualNodes", "meshOwner=111122223333&x=%2F", "\tv\t", "")
	f.Add("DELETE", "/v20190125/meshes/%2541", "a=b&a=a&c", "", "AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f")
	f.Add("GET", "/ሴ/../x//y", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb", "ü", "Basic x")
	f.Add("GET", "", "%zz=%zz&;", "", "AWS4-HMAC-SHA256 ,,,=,Signature=zz,Credential=////")
	keys, err := ParseKeys([]byte(testCredentials))
	if err != nil {
		f.Fatal(err)
	}
	v := &Verifier{Region: testRegion, AccountID: testAccount, Keys: keys, Now: func() time.Time { return signingTime }}

	f.Fuzz(func(t *testing.T, method, path, query, value, authz string) {
		// Anything at all: no panic.
		h := http.Header{"Authorization": {authz}, "X-Fuzz": {value}, "X-Amz-Date": {value}}
		_ = canonicalRequest(canonicalInput{method: method, escapedPath: path, rawQuery: query, host: value, header: h,
			signed: strings.Split(value, ";"), payloadHash: value, presigned: true})
		raw := &http.Request{Method: method, URL: &url.URL{Path: path, RawPath: path, RawQuery: query}, Host: value, Header: h}
		_, _ = v.Authenticate(raw, []byte(value))
		_ = HasSignature(raw)
		_ = ClaimedKeyID(raw)

		// What the SDK signs, the verifier accepts.
		if !validMethod(method) || !httpguts.ValidHeaderFieldValue(value) {
			return
		}
		req, err := http.NewRequest(method, "http://meshgate.test"+path+"?"+query, nil)
		if err != nil || req.URL.Host != "meshgate.test" || isPresigned(req.URL.Query()) {
			return
		}
		req.Header.Set("X-Fuzz", value)
		sdkSign(t, req, nil, testKeyID, testSecret, "", "appmesh", testRegion, signingTime)
		if _, err := v.Authenticate(req, nil); err != nil {
			t.Fatalf("%s %s?%s (X-Fuzz %q) signed by the SDK: %v", method, req.URL.EscapedPath(), req.URL.RawQuery, value, err)
		}
	})
}

func validMethod(m string) bool {
	if m == "" || len(m) > 16 {
		return false
	}
	for i := 0; i < len(m); i++ {
		if m[i] < 'A' || m[i] > 'Z' {
			return false
		}
	}
	return true
}

// FuzzPolicyMatch: the wildcard matcher never panics, and on valid UTF-8
// agrees with a reference built on the regexp package.
func FuzzPolicyMatch(f *testing.F) {
	f.Add("arn:aws:appmesh:*:111122223333:mesh/prod/*", "arn:aws:appmesh:us-west-2:111122223333:mesh/prod/virtualNode/a")
	f.Add("appmesh:describe*", "appmesh:describemesh")
	f.Add("a?c", "aüc")
	f.Add("*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	f.Add("**?*", "")
	f.Add("\xff?", "\xfe\xfd")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		got := match(pattern, s)
		if len(pattern) > 512 || !utf8.ValidString(pattern) || !utf8.ValidString(s) {
			return
		}
		if want := referenceMatch(pattern, s); got != want {
			t.Fatalf("match(%q, %q) = %v, reference says %v", pattern, s, got, want)
		}
	})
}

// referenceMatch is the obvious translation of an IAM pattern into an
// anchored regular expression.
func referenceMatch(pattern, s string) bool {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`)$`)
	return regexp.MustCompile(b.String()).MatchString(s)
}
