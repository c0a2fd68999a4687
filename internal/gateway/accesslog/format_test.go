package accesslog

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
)

var t0 = time.Date(2016, 4, 15, 20, 17, 0, 310_123_456, time.UTC)

// fixture is the Envoy docs' example request, with a prefix rewrite.
func fixture() *Entry {
	return &Entry{
		StartTime:             t0,
		RequestEnd:            t0.Add(5 * time.Millisecond),
		UpstreamRequestEnd:    t0.Add(6*time.Millisecond + 900*time.Microsecond),
		UpstreamResponseStart: t0.Add(100 * time.Millisecond),
		EndTime:               t0.Add(226*time.Millisecond + 999*time.Microsecond),
		Method:                "POST",
		Path:                  "/api/v1/locations?x=1",
		OriginalPath:          "/color1/api/v1/locations?x=1",
		Authority:             "locations",
		Scheme:                "http",
		Protocol:              "HTTP/2",
		RequestHeader: http.Header{
			"X-Forwarded-For": {"10.0.35.28"},
			"User-Agent":      {"nsq2http"},
			"X-Request-Id":    {"cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2"},
			"X-Multi":         {"first", "second"},
			"X-Empty":         {""},
		},
		ResponseCode:                   204,
		ResponseCodeDetails:            "via_upstream",
		ResponseHeader:                 http.Header{"X-Envoy-Upstream-Service-Time": {"100"}, "Content-Type": {"text/plain"}},
		ResponseTrailer:                http.Header{"X-Checksum": {"abc123"}},
		BytesReceived:                  154,
		BytesSent:                      0,
		RouteName:                      "color-route",
		UpstreamCluster:                "cds_egress_mesh_colorteller-white_http_9080",
		UpstreamHost:                   "10.0.2.1:80",
		UpstreamLocalAddress:           "10.0.0.5:41234",
		UpstreamTransportFailureReason: "",
		UpstreamProtocol:               "HTTP/1.1",
		UpstreamAttempts:               2,
		DownstreamRemoteAddress:        "192.0.2.7:55000",
		DownstreamLocalAddress:         "[2001:db8::1]:8080",
		ConnectionID:                   42,
	}
}

func render(t *testing.T, format string, e *Entry) string {
	t.Helper()
	f, err := Compile(format)
	if err != nil {
		t.Fatalf("Compile(%q): %v", format, err)
	}
	return string(f.Append(nil, e))
}

func TestTextOperators(t *testing.T) {
	host, _ := os.Hostname()
	t.Setenv("MESHGATE_TEST_ENV", "environment-value")
	full := fixture()
	empty := &Entry{}
	flags := fixture()
	flags.ResponseFlags = UpstreamRequestTimeout | UpstreamRetryLimitExceeded
	noResp := fixture()
	noResp.ResponseCode = 0
	noResp.UpstreamResponseStart = time.Time{}
	failed := fixture()
	failed.UpstreamTransportFailureReason = "TLS error: 268435581:SSL routines:CERTIFICATE_VERIFY_FAILED"
	direct := fixture()
	direct.DownstreamDirectRemoteAddress = "10.1.1.1:1234"

	tests := []struct {
		name, format string
		e            *Entry
		want         string
	}{
		{"literal only", "plain text", full, "plain text"},
		{"empty", "", full, ""},
		{"percent escape", "100%% %RESPONSE_CODE%%%", full, "100% 204%"},
		{"start time default", "%START_TIME%", full, "2016-04-15T20:17:00.310Z"},
		{"start time custom", "%START_TIME(%Y/%m/%dT%H:%M:%S%z %s)%", full, "2016/04/15T20:17:00+0000 1460751420"},
		{"start time fractions", "%START_TIME(%s.%3f|%6f|%9f|%f|%1f)%", full, "1460751420.310|310123|310123456|310123456|3"},
		{"start time absl", "%START_TIME(%E3S %E6S %E*S %Ez %Z)%", full, "00.310 00.310123 00.310123456 +00:00 UTC"},
		{"start time words", "%START_TIME(%a %A %b %B %e %j %I%p %F %T %D %R %y %C %u %w)%", full,
			"Fri Friday Apr April 15 106 08PM 2016-04-15 20:17:00 04/15/16 20:17 16 20 5 5"},
		{"start time unknown verb kept", "%START_TIME(%Q%Y)%", full, "%Q2016"},
		{"start time missing", "%START_TIME%", empty, "-"},
		{"method", "%REQ(:METHOD)%", full, "POST"},
		{"path after rewrite", "%REQ(:PATH)%", full, "/api/v1/locations?x=1"},
		{"original path", "%REQ(X-ENVOY-ORIGINAL-PATH)%", full, "/color1/api/v1/locations?x=1"},
		{"original path fallback", "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%", &Entry{Path: "/p"}, "/p"},
		{"authority", "%REQ(:AUTHORITY)% %REQ(HOST)%", full, "locations locations"},
		{"scheme", "%REQ(:SCHEME)%", full, "http"},
		{"header case-insensitive", "%REQ(user-agent)%", full, "nsq2http"},
		{"header fallback", "%REQ(X-MISSING?USER-AGENT)%", full, "nsq2http"},
		{"header fallback main wins", "%REQ(USER-AGENT?X-FORWARDED-FOR)%", full, "nsq2http"},
		{"header both missing", "%REQ(X-MISSING?X-ALSO-MISSING)%", full, "-"},
		{"header first value", "%REQ(X-MULTI)%", full, "first"},
		{"header present but empty", "[%REQ(X-EMPTY)%]", full, "[]"},
		{"truncate", "%REQ(USER-AGENT):3%", full, "nsq"},
		{"truncate zero", "[%REQ(USER-AGENT):0%]", full, "[]"},
		{"truncate longer than value", "%REQ(USER-AGENT):100%", full, "nsq2http"},
		{"truncate fallback", "%REQ(X-MISSING?X-REQUEST-ID):8%", full, "cc21d9b0"},
		{"without query", "%REQ_WITHOUT_QUERY(X-ENVOY-ORIGINAL-PATH?:PATH)%", full, "/color1/api/v1/locations"},
		{"without query truncated", "%REQ_WITHOUT_QUERY(:PATH):4%", full, "/api"},
		{"resp", "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% %RESP(content-type)%", full, "100 text/plain"},
		{"resp status", "%RESP(:STATUS)%", full, "204"},
		{"resp status truncated", "%RESP(:STATUS):1%", full, "2"},
		{"resp status missing", "%RESP(:STATUS)%", noResp, "-"},
		{"resp missing", "%RESP(X-NOPE)%", full, "-"},
		{"trailer", "%TRAILER(X-CHECKSUM)% %TRAILER(X-NOPE?X-CHECKSUM):3%", full, "abc123 abc"},
		{"trailer missing", "%TRAILER(GRPC-STATUS)%", full, "-"},
		{"response code", "%RESPONSE_CODE%", full, "204"},
		{"response code none", "%RESPONSE_CODE%", noResp, "0"},
		{"response code details", "%RESPONSE_CODE_DETAILS%", full, "via_upstream"},
		{"response code details missing", "%RESPONSE_CODE_DETAILS%", empty, "-"},
		{"no flags", "%RESPONSE_FLAGS%", full, "-"},
		{"flags", "%RESPONSE_FLAGS%", flags, "UT,URX"},
		{"flags long", "%RESPONSE_FLAGS_LONG%", flags, "UpstreamRequestTimeout,UpstreamRetryLimitExceeded"},
		{"bytes", "%BYTES_RECEIVED% %BYTES_SENT%", full, "154 0"},
		{"bytes zero entry", "%BYTES_RECEIVED% %BYTES_SENT%", empty, "0 0"},
		{"durations", "%DURATION% %REQUEST_DURATION% %REQUEST_TX_DURATION% %RESPONSE_DURATION% %RESPONSE_TX_DURATION%", full, "226 5 6 100 126"},
		{"durations missing", "%DURATION% %REQUEST_DURATION% %RESPONSE_DURATION%", noResp, "226 5 -"},
		{"durations unset", "%DURATION%", empty, "-"},
		{"upstream", "%UPSTREAM_HOST% %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS%", full,
			"10.0.2.1:80 cds_egress_mesh_colorteller-white_http_9080 10.0.0.5:41234"},
		{"upstream parts", "%UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %UPSTREAM_REMOTE_PORT% %UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT% %UPSTREAM_LOCAL_PORT%", full,
			"10.0.2.1 80 10.0.0.5 41234"},
		{"upstream protocol and attempts", "%UPSTREAM_PROTOCOL% %UPSTREAM_REQUEST_ATTEMPT_COUNT%", full, "HTTP/1.1 2"},
		{"upstream missing", "%UPSTREAM_HOST% %UPSTREAM_CLUSTER% %UPSTREAM_TRANSPORT_FAILURE_REASON% %UPSTREAM_PROTOCOL%", empty, "- - - -"},
		{"transport failure", "%UPSTREAM_TRANSPORT_FAILURE_REASON%", failed, failed.UpstreamTransportFailureReason},
		{"downstream remote", "%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_REMOTE_PORT%", full,
			"192.0.2.7:55000 192.0.2.7 55000"},
		{"downstream direct defaults to remote", "%DOWNSTREAM_DIRECT_REMOTE_ADDRESS%", full, "192.0.2.7:55000"},
		{"downstream direct", "%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_DIRECT_REMOTE_PORT%", direct, "10.1.1.1 1234"},
		{"downstream local v6", "%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_LOCAL_PORT%", full,
			"[2001:db8::1]:8080 2001:db8::1 8080"},
		{"port normalized", "%DOWNSTREAM_LOCAL_PORT% %UPSTREAM_REMOTE_PORT%", &Entry{DownstreamLocalAddress: "[::1]:0080", UpstreamHost: "10.0.0.1:99999"}, "80 -"},
		{"address without port", "%UPSTREAM_HOST% %UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %UPSTREAM_REMOTE_PORT%", &Entry{UpstreamHost: "::1"}, "::1 ::1 -"},
		{"downstream missing", "%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_PORT%", empty, "- -"},
		{"protocol", "%PROTOCOL%", full, "HTTP/2"},
		{"protocol missing", "%PROTOCOL%", empty, "-"},
		{"route name", "%ROUTE_NAME%", full, "color-route"},
		{"route name missing", "%ROUTE_NAME%", empty, "-"},
		{"hostname", "%HOSTNAME%", full, host},
		{"environment", "%ENVIRONMENT(MESHGATE_TEST_ENV)% %ENVIRONMENT(MESHGATE_TEST_ENV):4% %ENVIRONMENT(MESHGATE_NOT_SET)%", full,
			"environment-value envi -"},
		{"connection id", "%CONNECTION_ID%", full, "42"},
		{"connection id zero", "%CONNECTION_ID%", empty, "0"},
		{"grpc status not grpc", "%GRPC_STATUS%", full, "-"},
		{"tls operators without tls", "%REQUESTED_SERVER_NAME% %DOWNSTREAM_TLS_VERSION% %DOWNSTREAM_PEER_URI_SAN%", full, "- - -"},
		{"local reply body empty", "[%LOCAL_REPLY_BODY%]", full, "[]"},
		{"access log type", "%ACCESS_LOG_TYPE%", full, "DownstreamEnd"},
		{"unsupported renders missing", "%DYNAMIC_METADATA(com.test:key):10% %FILTER_STATE(k)% %UPSTREAM_TLS_VERSION% %TRACE_ID%", full, "- - - -"},
		{"header bytes", "%RESPONSE_TRAILERS_BYTES%", full, "16"},
		{"literal around operators", `"%REQ(:METHOD)% %REQ(:PATH)%"` + "\n", full, "\"POST /api/v1/locations?x=1\"\n"},
		{"nil entry", "%RESPONSE_CODE% %DURATION% %REQ(:PATH)%", nil, "0 - -"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(t, tc.format, tc.e); got != tc.want {
				t.Errorf("format %q\n got %q\nwant %q", tc.format, got, tc.want)
			}
		})
	}
}

func TestDefaultFormat(t *testing.T) {
	e := fixture()
	e.Path = "/api/v1/locations"
	e.OriginalPath = ""
	// Envoy's documented example line, with our fixture's values.
	want := `[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "10.0.2.1:80"` + "\n"
	if got := render(t, DefaultFormat, e); got != want {
		t.Errorf("default format\n got %q\nwant %q", got, want)
	}
	// A rewritten request logs the path the client sent.
	got := render(t, DefaultFormat, fixture())
	if !strings.Contains(got, `"POST /color1/api/v1/locations?x=1 HTTP/2"`) {
		t.Errorf("default format after rewrite: %q", got)
	}
	// Everything missing: Envoy's dashes, and its zeros where it has them.
	want = `[-] "- - -" 0 - 0 0 - - "-" "-" "-" "-" "-"` + "\n"
	if got := render(t, DefaultFormat, &Entry{}); got != want {
		t.Errorf("default format, empty entry\n got %q\nwant %q", got, want)
	}
}

func TestCompileConfig(t *testing.T) {
	e := fixture()
	tests := []struct {
		name string
		cfg  *ir.AccessLog
		want string
	}{
		{"default", &ir.AccessLog{Path: "/dev/stdout"}, render(t, DefaultFormat, e)},
		{"text gets a newline", &ir.AccessLog{Text: "%RESPONSE_CODE%"}, "204\n"},
		{"text keeps its newline", &ir.AccessLog{Text: "%RESPONSE_CODE%\n"}, "204\n"},
		{"json", &ir.AccessLog{JSON: []ir.JSONField{{Key: "code", Value: "%RESPONSE_CODE%"}}}, "{\"code\":204}\n"},
	}
	for _, tc := range tests {
		f, err := CompileConfig(tc.cfg)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := string(f.Append(nil, e)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	if f, err := CompileConfig(nil); f != nil || err != nil {
		t.Errorf("CompileConfig(nil) = %v, %v; want nil, nil", f, err)
	}
	if _, err := CompileConfig(&ir.AccessLog{Text: "x", JSON: []ir.JSONField{{Key: "k", Value: "v"}}}); err == nil {
		t.Error("text and json together: want an error")
	}
	if _, err := CompileConfig(&ir.AccessLog{Text: "%BOGUS%"}); err == nil || !strings.Contains(err.Error(), "BOGUS") {
		t.Errorf("bad text: %v", err)
	}
	var nilFormat *Format
	if got := nilFormat.Append([]byte("x"), e); string(got) != "x" {
		t.Errorf("nil Format appended %q", got)
	}
}

func TestGRPCStatus(t *testing.T) {
	grpcEntry := func(code int, trailer, header string) *Entry {
		e := &Entry{RequestHeader: http.Header{"Content-Type": {"application/grpc"}}, ResponseCode: code,
			ResponseHeader: http.Header{}, ResponseTrailer: http.Header{}}
		if trailer != "" {
			e.ResponseTrailer.Set("Grpc-Status", trailer)
		}
		if header != "" {
			e.ResponseHeader.Set("Grpc-Status", header)
		}
		return e
	}
	tests := []struct {
		name, format string
		e            *Entry
		want         string
	}{
		{"trailer", "%GRPC_STATUS%", grpcEntry(200, "4", ""), "DeadlineExceeded"},
		{"trailer wins", "%GRPC_STATUS%", grpcEntry(200, "0", "14"), "OK"},
		{"trailers-only", "%GRPC_STATUS%", grpcEntry(200, "", "1"), "Canceled"},
		{"snake", "%GRPC_STATUS(SNAKE_STRING)%", grpcEntry(200, "1", ""), "CANCELLED"},
		{"camel explicit", "%GRPC_STATUS(CAMEL_STRING)%", grpcEntry(200, "16", ""), "Unauthenticated"},
		{"number", "%GRPC_STATUS(NUMBER)% %GRPC_STATUS_NUMBER%", grpcEntry(200, "14", ""), "14 14"},
		{"user-defined code", "%GRPC_STATUS% %GRPC_STATUS(SNAKE_STRING)%", grpcEntry(200, "42", ""), "42 42"},
		{"inferred from 503", "%GRPC_STATUS%", grpcEntry(503, "", ""), "Unavailable"},
		{"inferred from 404", "%GRPC_STATUS%", grpcEntry(404, "", ""), "Unimplemented"},
		{"no response", "%GRPC_STATUS%", grpcEntry(0, "", ""), "-"},
		{"grpc+proto", "%GRPC_STATUS%", &Entry{RequestHeader: http.Header{"Content-Type": {"application/grpc+proto"}},
			ResponseTrailer: http.Header{"Grpc-Status": {"5"}}}, "NotFound"},
		{"grpc-web is not grpc", "%GRPC_STATUS%", &Entry{RequestHeader: http.Header{"Content-Type": {"application/grpc-web"}},
			ResponseTrailer: http.Header{"Grpc-Status": {"5"}}}, "-"},
		{"garbage status", "%GRPC_STATUS%", grpcEntry(200, "abc", ""), "-"},
	}
	for _, tc := range tests {
		if got := render(t, tc.format, tc.e); got != tc.want {
			t.Errorf("%s: %q rendered %q, want %q", tc.name, tc.format, got, tc.want)
		}
	}
}

func TestTLSOperators(t *testing.T) {
	cert := selfSigned(t)
	e := fixture()
	e.TLS = &tls.ConnectionState{
		Version:          tls.VersionTLS12,
		CipherSuite:      tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		ServerName:       "www.example.com",
		PeerCertificates: []*x509.Certificate{cert},
	}
	sha256sum := sha256.Sum256(cert.Raw)
	sha1sum := sha1.Sum(cert.Raw)
	tests := []struct{ format, want string }{
		{"%REQUESTED_SERVER_NAME%", "www.example.com"},
		{"%DOWNSTREAM_TLS_VERSION%", "TLSv1.2"},
		{"%DOWNSTREAM_TLS_CIPHER%", "ECDHE-RSA-AES128-GCM-SHA256"},
		{"%DOWNSTREAM_PEER_URI_SAN%", "spiffe://mesh/ns/default/sa/client,https://client.example"},
		{"%DOWNSTREAM_PEER_DNS_SAN%", "client.example,alt.example"},
		{"%DOWNSTREAM_PEER_IP_SAN%", "10.0.0.9"},
		{"%DOWNSTREAM_PEER_SUBJECT%", "CN=client,O=Meshgate"},
		{"%DOWNSTREAM_PEER_ISSUER%", "CN=client,O=Meshgate"},
		{"%DOWNSTREAM_PEER_SERIAL%", "0abcde"},
		{"%DOWNSTREAM_PEER_FINGERPRINT_256%", hex.EncodeToString(sha256sum[:])},
		{"%DOWNSTREAM_PEER_FINGERPRINT_1%", hex.EncodeToString(sha1sum[:])},
		{"%DOWNSTREAM_PEER_CERT_V_START%", "2026-01-02T03:04:05.000Z"},
		{"%DOWNSTREAM_PEER_CERT_V_END(%Y)%", "2036"},
		{"%DOWNSTREAM_PEER_CERT%", "-"},
	}
	for _, tc := range tests {
		if got := render(t, tc.format, e); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.format, got, tc.want)
		}
	}
	e.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256}
	if got := render(t, "%DOWNSTREAM_TLS_VERSION% %DOWNSTREAM_TLS_CIPHER% %DOWNSTREAM_PEER_SUBJECT% %REQUESTED_SERVER_NAME%", e); got != "TLSv1.3 TLS_AES_128_GCM_SHA256 - -" {
		t.Errorf("TLS 1.3 without a client certificate: %q", got)
	}
}

func selfSigned(t *testing.T) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	name := pkix.Name{CommonName: "client", Organization: []string{"Meshgate"}}
	u1, _ := url.Parse("spiffe://mesh/ns/default/sa/client")
	u2, _ := url.Parse("https://client.example")
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x0abcde),
		Subject:      name,
		Issuer:       name,
		NotBefore:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		NotAfter:     time.Date(2036, 1, 2, 3, 4, 5, 0, time.UTC),
		URIs:         []*url.URL{u1, u2},
		DNSNames:     []string{"client.example", "alt.example"},
		IPAddresses:  []net.IP{net.ParseIP("10.0.0.9")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSetRequest(t *testing.T) {
	r := httptest.NewRequest("GET", "http://example.com/a/b?q=1", nil)
	r.Header.Set("User-Agent", "curl/8")
	r.RemoteAddr = "192.0.2.1:1234"
	var e Entry
	e.SetRequest(r)
	got := render(t, `%REQ(:METHOD)% %REQ(:PATH)% %REQ(:AUTHORITY)% %PROTOCOL% %REQ(USER-AGENT)% %DOWNSTREAM_REMOTE_ADDRESS% %REQ(:SCHEME)%`, &e)
	if want := "GET /a/b?q=1 example.com HTTP/1.1 curl/8 192.0.2.1:1234 http"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, tc := range []struct {
		major, minor int
		want         string
	}{{1, 0, "HTTP/1.0"}, {1, 1, "HTTP/1.1"}, {2, 0, "HTTP/2"}, {3, 0, "HTTP/3"}, {0, 9, ""}} {
		if got := ProtocolName(tc.major, tc.minor); got != tc.want {
			t.Errorf("ProtocolName(%d, %d) = %q, want %q", tc.major, tc.minor, got, tc.want)
		}
	}
}

func TestResponseFlagsString(t *testing.T) {
	if got := ResponseFlags(0).String(); got != "-" {
		t.Errorf("no flags = %q", got)
	}
	all := ResponseFlags(1<<len(flagNames) - 1)
	got := all.String()
	if n := strings.Count(got, ",") + 1; n != len(flagNames) {
		t.Errorf("all flags rendered %d names: %q", n, got)
	}
	for _, want := range []string{"NR", "UH", "UF", "UO", "UT", "URX", "DC", "UC", "LR"} {
		if !strings.Contains(","+got+",", ","+want+",") {
			t.Errorf("all flags %q lacks %s", got, want)
		}
	}
	if got := ResponseFlags(1 << 31).String(); got != "-" {
		t.Errorf("unknown bit = %q", got)
	}
	if got := (NoRouteFound | NoHealthyUpstream).String(); got != "UH,NR" {
		t.Errorf("UH|NR = %q (Envoy's order is UH,NR)", got)
	}
}
