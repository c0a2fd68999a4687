package upstream

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// The gRPC health check is one unary call, small enough to write by hand
// on the probe's HTTP/2 transport instead of pulling a gRPC client into the
// data plane: grpc.health.v1.Health/Check with an empty request (the
// server's overall health, as App Mesh sets no service name), healthy when
// grpc-status is 0 and the response's status field is SERVING.
const (
	grpcHealthPath   = "/grpc.health.v1.Health/Check"
	grpcServing      = 1
	grpcMaxResponse  = 16 << 10
	grpcFrameHeader  = 5
	protoVarint      = 0
	protoFixed64     = 1
	protoLengthDelim = 2
	protoFixed32     = 5
)

// emptyGRPCRequest is the length-prefixed frame of an empty
// HealthCheckRequest: not compressed, length 0.
var emptyGRPCRequest = [grpcFrameHeader]byte{}

func (p *prober) checkGRPC(ctx context.Context) (hcResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url(grpcHealthPath), bytes.NewReader(emptyGRPCRequest[:]))
	if err != nil {
		return hcActiveFail, err
	}
	req.Host = p.authority
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	req.Header.Set("User-Agent", hcUserAgent)
	resp, err := p.rt.RoundTrip(req)
	if err != nil {
		return hcNetworkFail, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return hcActiveFail, fmt.Errorf("gRPC health check answered HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, grpcMaxResponse+1))
	if err != nil {
		return hcNetworkFail, fmt.Errorf("gRPC health check: reading the response: %w", err)
	}
	// A trailers-only response carries grpc-status in the headers.
	status := resp.Trailer.Get("Grpc-Status")
	if status == "" {
		status = resp.Header.Get("Grpc-Status")
	}
	if status != "0" {
		return hcActiveFail, fmt.Errorf("gRPC health check: grpc-status %q %s", status,
			firstNonEmpty(resp.Trailer.Get("Grpc-Message"), resp.Header.Get("Grpc-Message")))
	}
	serving, err := parseHealthResponse(body)
	if err != nil {
		return hcActiveFail, fmt.Errorf("gRPC health check: %w", err)
	}
	if serving != grpcServing {
		return hcActiveFail, fmt.Errorf("gRPC health check: status %d, not SERVING", serving)
	}
	return hcPass, nil
}

// parseHealthResponse reads one uncompressed gRPC message holding a
// HealthCheckResponse and returns its status field (1). Unknown fields
// are skipped, as protobuf requires.
func parseHealthResponse(body []byte) (uint64, error) {
	if len(body) > grpcMaxResponse {
		return 0, errors.New("response too large")
	}
	if len(body) < grpcFrameHeader {
		return 0, errors.New("no response message")
	}
	if body[0] != 0 {
		return 0, errors.New("compressed response (none was accepted)")
	}
	n := binary.BigEndian.Uint32(body[1:grpcFrameHeader])
	msg := body[grpcFrameHeader:]
	if uint64(n) > uint64(len(msg)) {
		return 0, errors.New("truncated response message")
	}
	msg = msg[:n]
	var status uint64 // absent = UNKNOWN (0)
	for len(msg) > 0 {
		key, k := binary.Uvarint(msg)
		if k <= 0 {
			return 0, errors.New("malformed response message")
		}
		msg = msg[k:]
		field, wire := key>>3, key&7
		switch wire {
		case protoVarint:
			v, k := binary.Uvarint(msg)
			if k <= 0 {
				return 0, errors.New("malformed response message")
			}
			msg = msg[k:]
			if field == 1 {
				status = v
			}
		case protoFixed64:
			if len(msg) < 8 {
				return 0, errors.New("malformed response message")
			}
			msg = msg[8:]
		case protoFixed32:
			if len(msg) < 4 {
				return 0, errors.New("malformed response message")
			}
			msg = msg[4:]
		case protoLengthDelim:
			l, k := binary.Uvarint(msg)
			if k <= 0 || l > uint64(len(msg)-k) {
				return 0, errors.New("malformed response message")
			}
			msg = msg[k+int(l):]
		default:
			return 0, fmt.Errorf("unsupported protobuf wire type %d", wire)
		}
	}
	return status, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
