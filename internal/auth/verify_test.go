package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/meshgate/meshgate/internal/appmesh"
)

const (
	testRegion  = "us-west-2"
	testAccount = "111122223333"
	testKeyID   = "AKIDMESHGATETEST0001"
	testSecret  = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	tokenKeyID  = "ASIAMESHGATETEST0002"
	testToken   = "FwoGZXIvYXdzEXAMPLETOKEN"
)

var testCredentials = `{"credentials":[
	{"accessKeyId":"` + testKeyID + `","secretAccessKey":"` + testSecret + `","accountId":"` + testAccount + `",
	 "policy":[{"effect":"Allow","action":"appmesh:*","resource":"*"}]},
	{"accessKeyId":"` + tokenKeyID + `","secretAccessKey":"` + testSecret + `","sessionToken":"` + testToken + `","accountId":"` + testAccount + `"}
]}`

// signingTime is the clock of every test: requests are signed at it and the
// verifier's clock reads it, unless a case moves one of them.
var signingTime = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// verifyServer is an HTTP server whose handler authenticates every request
// and answers {"ok":AKID} or {"code":..., "message":...}: the verifier sees
// requests exactly as they arrive off the wire.
func verifyServer(t *testing.T, now time.Time) string {
	t.Helper()
	keys, err := ParseKeys([]byte(testCredentials))
	if err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Region: testRegion, AccountID: testAccount, Keys: keys, Now: func() time.Time { return now }}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		out := map[string]string{}
		if c, err := v.Authenticate(r, body); err != nil {
			var ae *appmesh.Error
			if !errors.As(err, &ae) {
				t.Errorf("Authenticate returned %T %v, want *appmesh.Error", err, err)
				return
			}
			out["code"], out["message"] = ae.Code, ae.Message
			if ae.Status != http.StatusForbidden {
				t.Errorf("%s has status %d, want 403", ae.Code, ae.Status)
			}
		} else {
			out["ok"] = c.AccessKeyID
		}
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// send sends req and returns the verifier's verdict.
func send(t *testing.T, req *http.Request) map[string]string {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("sending: %v", err)
	}
	defer resp.Body.Close()
	var out map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decoding the verdict: %v", err)
	}
	return out
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// sdkSign signs req with aws-sdk-go-v2's signer the way the App Mesh
// client does.
func sdkSign(t *testing.T, req *http.Request, body []byte, keyID, secret, token, service, region string, at time.Time) {
	t.Helper()
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret, SessionToken: token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, sha256Hex(body), service, region, at); err != nil {
		t.Fatalf("SignHTTP: %v", err)
	}
}

// sdkPresign turns req into a presigned URL valid for expires.
func sdkPresign(t *testing.T, req *http.Request, expires time.Duration, at time.Time) *http.Request {
	t.Helper()
	q := req.URL.Query()
	q.Set("X-Amz-Expires", strconv.Itoa(int(expires.Seconds())))
	req.URL.RawQuery = q.Encode()
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	u, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, sha256Hex(nil), "appmesh", testRegion, at)
	if err != nil {
		t.Fatalf("PresignHTTP: %v", err)
	}
	out, err := http.NewRequest(req.Method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		if k != "Host" {
			out.Header[k] = vs
		}
	}
	return out
}

// verifyCase builds a request against base, signs it, may tamper with it,
// and expects a verdict: want is "ok" or an error code, msg a fragment of
// the message.
type verifyCase struct {
	name    string
	method  string
	path    string // escaped path and query, e.g. /v20190125/meshes?limit=1
	body    string
	header  map[string][]string // set before signing
	keyID   string              // default testKeyID
	secret  string              // default testSecret
	token   string
	service string // default appmesh
	region  string // default testRegion
	at      time.Time
	presign time.Duration // > 0: a presigned URL with this X-Amz-Expires
	tamper  func(r *http.Request)
	want    string
	msg     string
}

func TestAuthenticate(t *testing.T) {
	base := verifyServer(t, signingTime)
	cases := []verifyCase{
		{name: "valid GET", want: "ok"},
		{name: "valid PUT with a body", method: "PUT", body: `{"meshName":"m"}`, want: "ok"},
		{name: "valid query", path: "/v20190125/meshes?limit=5&nextToken=a%2Fb%20c", want: "ok"},
		{name: "valid repeated query key", path: "/v20190125/tags?resourceArn=b&resourceArn=a", want: "ok"},
		{name: "valid name needing escapes", path: "/v20190125/meshes/with%20space%2Fslash%25pct%3Fq%C3%BC", want: "ok"},
		{name: "valid literal escape-looking name", path: "/v20190125/meshes/%2541literal", want: "ok"},
		{name: "valid extra signed headers", header: map[string][]string{"X-Custom": {"a", "b  c"}, "Content-Type": {"application/json"}}, want: "ok"},
		{name: "valid session token", keyID: tokenKeyID, token: testToken, want: "ok"},
		{name: "valid skew under 5 min", at: signingTime.Add(-4*time.Minute - 59*time.Second), want: "ok"},
		{name: "valid future under 5 min", at: signingTime.Add(4 * time.Minute), want: "ok"},
		{name: "valid x-amz-content-sha256", method: "PUT", body: `{}`, header: map[string][]string{"X-Amz-Content-Sha256": {sha256Hex([]byte(`{}`))}}, want: "ok"},

		{name: "missing auth", tamper: func(r *http.Request) { r.Header.Del("Authorization") },
			want: CodeMissingAuthenticationToken, msg: "Missing Authentication Token"},
		{name: "unknown key", keyID: "AKIDUNKNOWNKEY000000", want: CodeUnrecognizedClient,
			msg: "The security token included in the request is invalid."},
		{name: "wrong secret", secret: "not the secret at all, really", want: CodeInvalidSignature, msg: msgSignatureMismatch},
		{name: "tampered body", method: "PUT", body: `{"meshName":"a"}`,
			tamper: func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader(`{"meshName":"b"}`)) },
			want:   CodeInvalidSignature, msg: "does not match the signature you provided"},
		{name: "tampered path", path: "/v20190125/meshes/a",
			tamper: func(r *http.Request) { r.URL.Path, r.URL.RawPath = "/v20190125/meshes/b", "" },
			want:   CodeInvalidSignature, msg: "does not match"},
		{name: "tampered path escaping", path: "/v20190125/meshes/a%20b",
			tamper: func(r *http.Request) { r.URL.RawPath = "/v20190125/meshes/a+b"; r.URL.Path = "/v20190125/meshes/a+b" },
			want:   CodeInvalidSignature, msg: "does not match"},
		{name: "tampered query", path: "/v20190125/meshes?limit=1",
			tamper: func(r *http.Request) { r.URL.RawQuery = "limit=2" },
			want:   CodeInvalidSignature, msg: "does not match"},
		{name: "added query parameter", path: "/v20190125/meshes?limit=1",
			tamper: func(r *http.Request) { r.URL.RawQuery += "&meshOwner=999999999999" },
			want:   CodeInvalidSignature, msg: "does not match"},
		{name: "tampered method", method: "GET",
			tamper: func(r *http.Request) { r.Method = "DELETE" },
			want:   CodeInvalidSignature, msg: "does not match"},
		{name: "tampered signed header", header: map[string][]string{"Content-Type": {"application/json"}},
			tamper: func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") },
			want:   CodeInvalidSignature, msg: "does not match"},
		{name: "duplicated signed header", header: map[string][]string{"X-Custom": {"a"}},
			tamper: func(r *http.Request) { r.Header.Add("X-Custom", "b") },
			want:   CodeInvalidSignature, msg: "does not match"},
		{name: "duplicated X-Amz-Date", tamper: func(r *http.Request) { r.Header.Add("X-Amz-Date", r.Header.Get("X-Amz-Date")) },
			want: CodeIncompleteSignature, msg: "more than one X-Amz-Date"},
		{name: "duplicated Authorization", tamper: func(r *http.Request) { r.Header.Add("Authorization", r.Header.Get("Authorization")) },
			want: CodeIncompleteSignature, msg: "more than one Authorization"},
		{name: "tampered host", tamper: func(r *http.Request) { r.Host = "evil.example:80" },
			want: CodeInvalidSignature, msg: "does not match"},
		{name: "tampered signature", tamper: func(r *http.Request) {
			a := r.Header.Get("Authorization")
			flipped := "0"
			if a[len(a)-1] == '0' {
				flipped = "1"
			}
			r.Header.Set("Authorization", a[:len(a)-1]+flipped)
		}, want: CodeInvalidSignature, msg: "does not match"},
		{name: "wrong region", region: "eu-west-1", want: CodeInvalidSignature,
			msg: "Credential should be scoped to a valid region, not 'eu-west-1'"},
		{name: "wrong service", service: "ec2", want: CodeInvalidSignature,
			msg: "Credential should be scoped to correct service: 'appmesh'"},
		{name: "skew over 5 min", at: signingTime.Add(-5*time.Minute - time.Second), want: CodeInvalidSignature,
			msg: "Signature expired: 20240301T115459Z is now earlier than 20240301T115500Z (20240301T120000Z - 5 min.)"},
		{name: "future over 5 min", at: signingTime.Add(5*time.Minute + time.Second), want: CodeInvalidSignature,
			msg: "Signature not yet current: 20240301T120501Z is still later than 20240301T120500Z"},
		{name: "token on a key without one", token: testToken, want: CodeUnrecognizedClient, msg: "security token"},
		{name: "wrong token", keyID: tokenKeyID, token: "FwoGZXIvYXdzEXAMPLEOTHER", want: CodeUnrecognizedClient},
		{name: "missing token", keyID: tokenKeyID, want: CodeUnrecognizedClient},
		{name: "x-amz-content-sha256 of another body", method: "PUT", body: `{"meshName":"a"}`,
			header: map[string][]string{"X-Amz-Content-Sha256": {sha256Hex([]byte(`{"meshName":"a"}`))}},
			tamper: func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader(`{"meshName":"b"}`)) },
			want:   CodeInvalidSignature, msg: "x-amz-content-sha256"},
		{name: "UNSIGNED-PAYLOAD", method: "PUT", body: `{}`, header: map[string][]string{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}},
			want: CodeInvalidSignature, msg: "x-amz-content-sha256"},
		{name: "header and query signature", tamper: func(r *http.Request) { r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256" },
			want: CodeInvalidSignature, msg: "Only one auth mechanism"},
		{name: "not SigV4", tamper: func(r *http.Request) { r.Header.Set("Authorization", "Basic dXNlcjpwYXNz") },
			want: CodeIncompleteSignature, msg: "only AWS4-HMAC-SHA256"},
		{name: "no Signature parameter", tamper: func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
		}, want: CodeIncompleteSignature, msg: "requires 'Signature' parameter"},
		{name: "short credential", tamper: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/appmesh/aws4_request", "/appmesh", 1))
		}, want: CodeIncompleteSignature, msg: "exactly 5 slash-delimited elements"},
		{name: "no date", tamper: func(r *http.Request) { r.Header.Del("X-Amz-Date") },
			want: CodeIncompleteSignature, msg: "either a 'X-Amz-Date' or a 'Date' header"},

		{name: "presigned valid", presign: 15 * time.Minute, want: "ok"},
		{name: "presigned valid late in its window", presign: time.Hour, at: signingTime.Add(-59 * time.Minute), want: "ok"},
		{name: "presigned expired", presign: 15 * time.Minute, at: signingTime.Add(-15*time.Minute - time.Second),
			want: CodeInvalidSignature, msg: "Signature expired: 20240301T114459Z is now earlier than 20240301T114500Z (20240301T120000Z - 900 sec.)"},
		{name: "presigned not yet current", presign: 15 * time.Minute, at: signingTime.Add(6 * time.Minute),
			want: CodeInvalidSignature, msg: "Signature not yet current"},
		{name: "presigned tampered query", presign: 15 * time.Minute, path: "/v20190125/meshes?limit=1",
			tamper: func(r *http.Request) { r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "limit=1", "limit=2", 1) },
			want:   CodeInvalidSignature, msg: "does not match"},
		{name: "presigned tampered expiry", presign: 15 * time.Minute,
			tamper: func(r *http.Request) {
				r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Expires=900", "X-Amz-Expires=3600", 1)
			},
			want: CodeInvalidSignature, msg: "does not match"},
		{name: "presigned without signature", presign: 15 * time.Minute,
			tamper: func(r *http.Request) {
				q := r.URL.Query()
				q.Del("X-Amz-Signature")
				r.URL.RawQuery = q.Encode()
			},
			want: CodeIncompleteSignature, msg: "query-string parameters must include"},
		{name: "presigned over a week", presign: 8 * 24 * time.Hour, want: CodeInvalidSignature, msg: "less than a week"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := send(t, tc.request(t, base))
			if tc.want == "ok" {
				if got["ok"] == "" {
					t.Fatalf("refused with %s: %s", got["code"], got["message"])
				}
				return
			}
			if got["code"] != tc.want || !strings.Contains(got["message"], tc.msg) {
				t.Fatalf("got %s %q, want %s containing %q", got["code"], got["message"], tc.want, tc.msg)
			}
		})
	}
}

func (tc verifyCase) request(t *testing.T, base string) *http.Request {
	t.Helper()
	method, path := tc.method, tc.path
	if method == "" {
		method = "GET"
	}
	if path == "" {
		path = "/v20190125/meshes"
	}
	req, err := http.NewRequest(method, base+path, bytes.NewReader([]byte(tc.body)))
	if err != nil {
		t.Fatal(err)
	}
	if tc.body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, vs := range tc.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	at := tc.at
	if at.IsZero() {
		at = signingTime
	}
	if tc.presign > 0 {
		req = sdkPresign(t, req, tc.presign, at)
	} else {
		keyID, secret, service, region := or(tc.keyID, testKeyID), or(tc.secret, testSecret), or(tc.service, "appmesh"), or(tc.region, testRegion)
		sdkSign(t, req, []byte(tc.body), keyID, secret, tc.token, service, region, at)
	}
	if tc.tamper != nil {
		tc.tamper(req)
	}
	return req
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TestAuthenticateHandSigned covers what the SDK's signer never produces:
// signatures over too few headers, the Date header, odd encodings.
func TestAuthenticateHandSigned(t *testing.T) {
	base := verifyServer(t, signingTime)
	u, _ := url.Parse(base)
	amzDate := signingTime.Format(amzDateLayout)
	cases := []struct {
		name   string
		signed []string
		header map[string]string
		want   string
		msg    string
	}{
		{"all required signed", []string{"host", "x-amz-date"}, map[string]string{"X-Amz-Date": amzDate}, "ok", ""},
		{"unsigned host", []string{"x-amz-date"}, map[string]string{"X-Amz-Date": amzDate},
			CodeInvalidSignature, "'Host' or ':authority' must be a 'SignedHeader'"},
		{"unsigned x-amz-date", []string{"host"}, map[string]string{"X-Amz-Date": amzDate},
			CodeInvalidSignature, "'X-Amz-Date' must be a 'SignedHeader'"},
		{"Date header", []string{"date", "host"}, map[string]string{"Date": signingTime.Format(http.TimeFormat)}, "ok", ""},
		{"unsigned Date header", []string{"host"}, map[string]string{"Date": signingTime.Format(http.TimeFormat)},
			CodeInvalidSignature, "'Date' must be a 'SignedHeader'"},
		{"scope date of another day", []string{"host", "x-amz-date"}, map[string]string{"X-Amz-Date": "20240302T000100Z"},
			CodeInvalidSignature, "Date in Credential scope does not match"},
		{"signed header absent from the request", []string{"host", "x-absent", "x-amz-date"}, map[string]string{"X-Amz-Date": amzDate}, "ok", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", base+"/v20190125/meshes", nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			c := &claim{accessKeyID: testKeyID, scopeDate: "20240301", scopeRegion: testRegion, scopeService: "appmesh", term: "aws4_request",
				signedHeaders: tc.signed, dateStamp: amzDate}
			if d := tc.header["X-Amz-Date"]; d != "" {
				c.dateStamp = d
			}
			canonical := canonicalRequest(canonicalInput{method: "GET", escapedPath: "/v20190125/meshes", host: u.Host,
				header: req.Header, signed: tc.signed, payloadHash: sha256Hex(nil)})
			sig := hex.EncodeToString(hmacSHA256(signingKey(testSecret, c), stringToSign(c, canonical)))
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testKeyID+"/"+c.scope()+
				", SignedHeaders="+strings.Join(tc.signed, ";")+", Signature="+sig)
			got := send(t, req)
			if tc.want == "ok" {
				if got["ok"] == "" {
					t.Fatalf("refused with %s: %s", got["code"], got["message"])
				}
				return
			}
			if got["code"] != tc.want || !strings.Contains(got["message"], tc.msg) {
				t.Fatalf("got %s %q, want %s containing %q", got["code"], got["message"], tc.want, tc.msg)
			}
		})
	}
}

// TestAuthenticateLogsNoSecret: the debug log of a mismatch carries the
// canonical request and nothing secret.
func TestAuthenticateLogsNoSecret(t *testing.T) {
	var logBuf bytes.Buffer
	keys, _ := ParseKeys([]byte(testCredentials))
	v := &Verifier{Region: testRegion, AccountID: testAccount, Keys: keys, Now: func() time.Time { return signingTime },
		Log: newDebugLogger(&logBuf)}
	req := httptest.NewRequest("GET", "http://meshgate.test/v20190125/meshes", nil)
	sdkSign(t, req, nil, tokenKeyID, "the wrong secret, long enough", testToken, "appmesh", testRegion, signingTime)
	authz := req.Header.Get("Authorization")
	if _, err := v.Authenticate(req, nil); err == nil {
		t.Fatal("a wrong secret was accepted")
	}
	logged := logBuf.String()
	if !strings.Contains(logged, "canonicalRequest") {
		t.Fatalf("no canonical request logged: %s", logged)
	}
	sig := authz[strings.Index(authz, "Signature=")+len("Signature="):]
	for _, secret := range []string{testSecret, testToken, sig, "the wrong secret"} {
		if strings.Contains(logged, secret) {
			t.Errorf("the log holds %q:\n%s", secret, logged)
		}
	}
}

func TestRedactSecrets(t *testing.T) {
	in := "GET\n/\nA=1&X-Amz-Security-Token=tok%2Fen&Z=2\nauthorization:AWS4-HMAC-SHA256 Signature=abc\nhost:h\nx-amz-security-token:tok/en\n\nauthorization;host;x-amz-security-token\nhash"
	want := "GET\n/\nA=1&X-Amz-Security-Token=REDACTED&Z=2\nauthorization:REDACTED\nhost:h\nx-amz-security-token:REDACTED\n\nauthorization;host;x-amz-security-token\nhash"
	if got := redactSecrets(in); got != want {
		t.Errorf("redactSecrets:\n%s\nwant\n%s", got, want)
	}
}
