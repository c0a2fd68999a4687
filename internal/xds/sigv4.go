package xds

import (
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/grpc/metadata"
)

// SigV4 on the ADS stream, as the App Mesh Envoy image sends it.
//
// The image configures Envoy's envoy.grpc_credentials.aws_iam call
// credentials (service appmesh, the endpoint's region). For each call
// Envoy builds a synthetic request, POST https://HOST/PACKAGE.SERVICE/METHOD
// with no body, signs it with sign(message, false) and sends the headers
// the signer added as gRPC metadata:
//
//   - x-amz-date;
//   - x-amz-content-sha256: the SHA-256 of the empty string, e3b0c442…
//     ("false" means the body is not hashed; the header is still added and
//     signed — it is not UNSIGNED-PAYLOAD, and it is not left out);
//   - x-amz-security-token when the credentials have one;
//   - authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=host;
//     x-amz-content-sha256;x-amz-date[;x-amz-security-token], Signature=….
//
// HOST is the call's :authority without a default port (Envoy's header
// canonicalization drops :443 and :80); it travels as the :authority
// pseudo-header, not as metadata. The server rebuilds that request from the
// call — the method path it is actually serving, the :authority it
// received, the metadata — and verifies it with internal/auth, the API's
// SigV4 verifier and credential file: region, service appmesh, the date
// within 5 minutes, the empty-body hash, and then the policy's
// appmesh:StreamAggregatedResources on the gateway's ARN.

// sigV4Request rebuilds the request Envoy signed from a call's metadata
// and method.
func sigV4Request(md metadata.MD, fullMethod string) *http.Request {
	host := ""
	if v := md.Get(":authority"); len(v) == 1 {
		host = v[0]
		for _, port := range []string{":443", ":80"} {
			host = strings.TrimSuffix(host, port)
		}
	}
	h := http.Header{}
	for k, vs := range md {
		if strings.HasPrefix(k, ":") || k == "host" {
			continue
		}
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	return &http.Request{Method: http.MethodPost, URL: &url.URL{Scheme: "https", Host: host, Path: fullMethod},
		Host: host, Header: h, Body: http.NoBody, Proto: "HTTP/2.0", ProtoMajor: 2, ProtoMinor: 0}
}
