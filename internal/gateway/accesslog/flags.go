package accesslog

// ResponseFlags are Envoy's response flags: why a response is not simply
// the upstream's. The bit order is Envoy's, so several flags render in the
// order Envoy prints them ("UT,URX").
type ResponseFlags uint32

const (
	FailedLocalHealthCheck           ResponseFlags = 1 << iota // LH
	NoHealthyUpstream                                          // UH
	UpstreamRequestTimeout                                     // UT
	LocalReset                                                 // LR
	UpstreamRemoteReset                                        // UR
	UpstreamConnectionFailure                                  // UF
	UpstreamConnectionTermination                              // UC
	UpstreamOverflow                                           // UO: circuit breaker
	NoRouteFound                                               // NR
	DelayInjected                                              // DI
	FaultInjected                                              // FI
	RateLimited                                                // RL
	UnauthorizedExternalService                                // UAEX
	RateLimitServiceError                                      // RLSE
	DownstreamConnectionTermination                            // DC
	UpstreamRetryLimitExceeded                                 // URX
	StreamIdleTimeout                                          // SI
	InvalidEnvoyRequestHeaders                                 // IH
	DownstreamProtocolError                                    // DPE
	UpstreamMaxStreamDurationReached                           // UMSDR
	ResponseFromCacheFilter                                    // RFCF
	NoFilterConfigFound                                        // NFCF
	DurationTimeout                                            // DT
	UpstreamProtocolError                                      // UPE
	NoClusterFound                                             // NC
	OverloadManager                                            // OM
	DNSResolutionFailed                                        // DF
)

// flagNames holds the short (RESPONSE_FLAGS) and long (RESPONSE_FLAGS_LONG)
// name of each bit, in bit order.
var flagNames = [...]struct{ short, long string }{
	{"LH", "FailedLocalHealthCheck"},
	{"UH", "NoHealthyUpstream"},
	{"UT", "UpstreamRequestTimeout"},
	{"LR", "LocalReset"},
	{"UR", "UpstreamRemoteReset"},
	{"UF", "UpstreamConnectionFailure"},
	{"UC", "UpstreamConnectionTermination"},
	{"UO", "UpstreamOverflow"},
	{"NR", "NoRouteFound"},
	{"DI", "DelayInjected"},
	{"FI", "FaultInjected"},
	{"RL", "RateLimited"},
	{"UAEX", "UnauthorizedExternalService"},
	{"RLSE", "RateLimitServiceError"},
	{"DC", "DownstreamConnectionTermination"},
	{"URX", "UpstreamRetryLimitExceeded"},
	{"SI", "StreamIdleTimeout"},
	{"IH", "InvalidEnvoyRequestHeaders"},
	{"DPE", "DownstreamProtocolError"},
	{"UMSDR", "UpstreamMaxStreamDurationReached"},
	{"RFCF", "ResponseFromCacheFilter"},
	{"NFCF", "NoFilterConfigFound"},
	{"DT", "DurationTimeout"},
	{"UPE", "UpstreamProtocolError"},
	{"NC", "NoClusterFound"},
	{"OM", "OverloadManager"},
	{"DF", "DnsResolutionFailed"},
}

// String is the RESPONSE_FLAGS rendering: short names joined by ",", or
// "-" when no flag is set.
func (f ResponseFlags) String() string {
	return string(f.appendTo(nil, false))
}

// appendTo appends the flags; Envoy prints "-" (a value, not a missing
// one) when none is set.
func (f ResponseFlags) appendTo(dst []byte, long bool) []byte {
	if f == 0 {
		return append(dst, '-')
	}
	first := true
	for i, n := range flagNames {
		if f&(1<<uint(i)) == 0 {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		if long {
			dst = append(dst, n.long...)
		} else {
			dst = append(dst, n.short...)
		}
	}
	if first { // only unknown bits set
		dst = append(dst, '-')
	}
	return dst
}
