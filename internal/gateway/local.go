package gateway

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/meshgate/meshgate/internal/gateway/upstream"
)

// Bodies of Envoy's local replies, kept so clients and runbooks see the
// same text (those of a failed upstream attempt: upstream.LocalReply).
const (
	bodyNoHealthy = upstream.BodyNoHealthyUpstream
	bodyTimeout   = "upstream request timeout"
	bodyOverflow  = "upstream connect error or disconnect/reset before headers. reset reason: overflow"
)

func isGRPC(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc")
}

// grpcStatusFor maps the gateway's HTTP answer to the gRPC status a gRPC
// client gets, as Envoy's local replies do (and as gRPC maps HTTP codes).
func grpcStatusFor(httpStatus int) int {
	switch httpStatus {
	case http.StatusBadRequest:
		return 13 // INTERNAL
	case http.StatusUnauthorized:
		return 16 // UNAUTHENTICATED
	case http.StatusForbidden:
		return 7 // PERMISSION_DENIED
	case http.StatusNotFound:
		return 12 // UNIMPLEMENTED
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return 14 // UNAVAILABLE
	}
	return 2 // UNKNOWN
}

// localReply is the gateway's own answer. gRPC requests get a trailers-only
// response (HTTP 200, grpc-status and grpc-message in the headers), as
// gRPC requires; others get the status with a plain-text body.
func localReply(w http.ResponseWriter, r *http.Request, status int, body string) {
	h := w.Header()
	if isGRPC(r) {
		h.Set("Content-Type", "application/grpc")
		h.Set("Grpc-Status", strconv.Itoa(grpcStatusFor(status)))
		h.Set("Grpc-Message", body)
		w.WriteHeader(http.StatusOK)
		return
	}
	h.Set("Content-Type", "text/plain")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write([]byte(body))
}
