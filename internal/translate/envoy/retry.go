package envoy

import (
	"fmt"
	"slices"
	"strings"

	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/meshgate/meshgate/internal/ir"
)

// retryOn maps App Mesh retry events onto Envoy retry_on conditions.
// server-error and gateway-error include resets, as App Mesh documents
// ("Both server-error and gateway-error include the Envoy reset policy");
// Envoy's 5xx already does. stream-error is a refused or reset stream (the
// IR's definition; UG:routes says "Retry on refused stream").
var retryOn = map[string][]string{
	"server-error":     {"5xx"},
	"gateway-error":    {"gateway-error", "reset"},
	"client-error":     {"retriable-4xx"},
	"stream-error":     {"refused-stream", "reset"},
	"connection-error": {"connect-failure"},
	// gRPC status names are Envoy conditions of the same name.
	"cancelled":          {"cancelled"},
	"deadline-exceeded":  {"deadline-exceeded"},
	"internal":           {"internal"},
	"resource-exhausted": {"resource-exhausted"},
	"unavailable":        {"unavailable"},
}

func retryPolicy(r *ir.RetryPolicy) (*route.RetryPolicy, error) {
	if r == nil {
		return nil, nil
	}
	var on []string
	add := func(kind string, events []string, allowed ...string) error {
		for _, e := range events {
			conds, ok := retryOn[e]
			if !ok || !slices.Contains(allowed, e) {
				return fmt.Errorf("unknown %s retry event %q", kind, e)
			}
			for _, c := range conds {
				if !slices.Contains(on, c) {
					on = append(on, c)
				}
			}
		}
		return nil
	}
	if err := add("HTTP", r.HTTPEvents, "server-error", "gateway-error", "client-error", "stream-error"); err != nil {
		return nil, err
	}
	if err := add("TCP", r.TCPEvents, "connection-error"); err != nil {
		return nil, err
	}
	if err := add("gRPC", r.GRPCEvents, "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"); err != nil {
		return nil, err
	}
	p := &route.RetryPolicy{NumRetries: u32(r.MaxRetries)}
	for _, c := range r.StatusCodes {
		if c < 100 || c > 599 {
			return nil, fmt.Errorf("retry status code %d is not an HTTP status", c)
		}
		p.RetriableStatusCodes = append(p.RetriableStatusCodes, c)
	}
	if len(p.RetriableStatusCodes) > 0 {
		on = append(on, "retriable-status-codes")
	}
	p.RetryOn = strings.Join(on, ",")
	if r.PerTryTimeout > 0 {
		p.PerTryTimeout = dur(r.PerTryTimeout.D())
	}
	return p, nil
}
