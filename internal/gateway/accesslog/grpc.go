package accesslog

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// grpcFormat is GRPC_STATUS's parameter.
type grpcFormat uint8

const (
	grpcCamel  grpcFormat = iota // "DeadlineExceeded"
	grpcSnake                    // "DEADLINE_EXCEEDED"
	grpcNumber                   // "4"
)

func parseGrpcFormat(s string) (grpcFormat, error) {
	switch s {
	case "", "CAMEL_STRING":
		return grpcCamel, nil
	case "SNAKE_STRING":
		return grpcSnake, nil
	case "NUMBER":
		return grpcNumber, nil
	}
	return 0, errors.New("GRPC_STATUS only supports CAMEL_STRING, SNAKE_STRING or NUMBER")
}

// Names as Envoy prints them: Grpc::Utility::grpcStatusToString (note
// "OK" and "Canceled") and absl::StatusCodeToString.
var (
	grpcCamelNames = [...]string{"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded",
		"NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
		"Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"}
	grpcSnakeNames = [...]string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
		"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}
)

func (g grpcFormat) append(dst []byte, code uint64) []byte {
	switch {
	case g == grpcCamel && code < uint64(len(grpcCamelNames)):
		return append(dst, grpcCamelNames[code]...)
	case g == grpcSnake && code < uint64(len(grpcSnakeNames)):
		return append(dst, grpcSnakeNames[code]...)
	}
	return strconv.AppendUint(dst, code, 10)
}

// grpcStatus is Envoy's Grpc::Common::getGrpcStatus for logging: only for
// gRPC requests; the grpc-status trailer, else the header (trailers-only
// responses), else the status inferred from the HTTP code.
func grpcStatus(e *Entry) (uint64, bool) {
	if !isGRPC(first(e.RequestHeader, "Content-Type")) {
		return 0, false
	}
	for _, h := range [2]http.Header{e.ResponseTrailer, e.ResponseHeader} {
		if v, ok := first(h, "Grpc-Status"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	if e.ResponseCode == 0 {
		return 0, false
	}
	return httpToGrpc(e.ResponseCode), true
}

func isGRPC(ct string, ok bool) bool {
	const g = "application/grpc"
	return ok && strings.HasPrefix(ct, g) && (len(ct) == len(g) || ct[len(g)] == '+' || ct[len(g)] == ';')
}

// httpToGrpc maps an HTTP status to a gRPC code the way gRPC clients do
// (doc/http-grpc-status-mapping.md), as Envoy does.
func httpToGrpc(code int) uint64 {
	switch code {
	case 400:
		return 13 // Internal
	case 401:
		return 16 // Unauthenticated
	case 403:
		return 7 // PermissionDenied
	case 404:
		return 12 // Unimplemented
	case 429, 502, 503, 504:
		return 14 // Unavailable
	}
	return 2 // Unknown
}

// first is a header's first value; canon must be canonical.
func first(h http.Header, canon string) (string, bool) {
	if vs := h[canon]; len(vs) > 0 {
		return vs[0], true
	}
	return "", false
}
