package appmesh

// Stateless rules for VirtualRouterSpec and RouteSpec (reference §12.4).
// Matching the route type to the router listener protocol and the port rules
// for routers with several listeners need stored resources: service layer.
//
// Decisions (one line each, for docs/api-compatibility.md):
//   - VirtualRouter: listeners is required with at least 1 item (the current model makes it optional, but the API
//     used to declare min 1 (RM#173) and a router without a listener cannot route); listener ports must be unique;
//     protocols http, http2, grpc and tcp are all allowed (model enum).
//   - Route: exactly one of httpRoute, http2Route, grpcRoute, tcpRoute.
//   - Route: http/http2 match follows the gateway-route path rules (prefix XOR path, prefix starts with "/", path sets
//     exactly one of exact/regex, exact starts with "/", regex compiles) without the reserved /aws-appmesh prefix rule.
//   - Route: a match with no criterion at all is rejected; port alone is enough (multiple listeners walkthrough).
//   - Route: match.scheme is only accepted on http2Route (M-doc "Applicable only for HTTP2 routes").
//   - Route: weightedTargets total weight must be at most 100 (M-doc); a single weight of 0 is allowed (RM#133), but the
//     total must be greater than 0 because a route whose targets all weigh 0 cannot send traffic anywhere.
//   - Route: grpc match.methodName requires serviceName (M-doc); serviceName, when given, must not be empty.
//   - Route: retryPolicy must list at least one retry event (httpRetryEvents or tcpRetryEvents, plus grpcRetryEvents for
//     gRPC; M-doc "Specify at least one value for at least one of the types of RetryEvents"); httpRetryEvents values
//     must be server-error, gateway-error, client-error or stream-error (the model checks only their length).
//   - Route: perRetryTimeout and timeout durations need both value and unit; 0 is allowed (Envoy: disabled).

// Check applies the VirtualRouter rules the model cannot express.
func (s *VirtualRouterSpec) Check() error {
	if s == nil {
		return nil
	}
	var v validator
	if len(s.Listeners) == 0 {
		v.fail("spec.listeners", "must have at least 1 items")
	}
	seen := map[int64]string{}
	for i, l := range s.Listeners {
		if l.PortMapping != nil {
			uniquePort(&v, seen, index("spec.listeners", i)+".portMapping.port", l.PortMapping.Port)
		}
	}
	return v.err
}

// Check applies the Route rules the model cannot express.
func (s *RouteSpec) Check() error {
	if s == nil {
		return nil
	}
	var v validator
	v.union("spec", []string{"grpcRoute", "http2Route", "httpRoute", "tcpRoute"},
		s.GrpcRoute != nil, s.Http2Route != nil, s.HttpRoute != nil, s.TcpRoute != nil)
	s.HttpRoute.checkRules(&v, "spec.httpRoute", false)
	s.Http2Route.checkRules(&v, "spec.http2Route", true)
	s.GrpcRoute.checkRules(&v, "spec.grpcRoute")
	if r := s.TcpRoute; r != nil {
		if r.Action != nil {
			weightedTargets(&v, "spec.tcpRoute.action.weightedTargets", r.Action.WeightedTargets)
		}
		tcpTimeout(&v, "spec.tcpRoute.timeout", r.Timeout)
	}
	return v.err
}

func (r *HttpRoute) checkRules(v *validator, path string, http2 bool) {
	if r == nil {
		return
	}
	if m := r.Match; m != nil {
		mp := path + ".match"
		anyCriterion(v, mp, m.Prefix != nil || m.Path != nil || m.Port != nil || m.Method != nil ||
			m.Scheme != nil || len(m.Headers) > 0 || len(m.QueryParameters) > 0)
		pathCriteria(v, mp, m.Prefix, m.Path, false)
		for i, h := range m.Headers {
			header(v, index(mp+".headers", i), h.Name, h.Match)
		}
		queryParameters(v, mp+".queryParameters", m.QueryParameters)
		if m.Scheme != nil && !http2 {
			v.fail(mp+".scheme", "is only allowed on http2Route")
		}
	}
	if r.Action != nil {
		weightedTargets(v, path+".action.weightedTargets", r.Action.WeightedTargets)
	}
	if rp := r.RetryPolicy; rp != nil {
		retryPolicy(v, path+".retryPolicy", rp.HttpRetryEvents, rp.TcpRetryEvents, nil, false, rp.PerRetryTimeout)
	}
	timeouts(v, path+".timeout", r.Timeout)
}

func (r *GrpcRoute) checkRules(v *validator, path string) {
	if r == nil {
		return
	}
	if m := r.Match; m != nil {
		mp := path + ".match"
		anyCriterion(v, mp, m.ServiceName != nil || m.MethodName != nil || m.Port != nil || len(m.Metadata) > 0)
		nonEmpty(v, mp+".serviceName", m.ServiceName)
		if m.MethodName != nil && m.ServiceName == nil {
			v.fail(mp+".methodName", "requires serviceName")
		}
		for i, md := range m.Metadata {
			header(v, index(mp+".metadata", i), md.Name, (*HeaderMatchMethod)(md.Match))
		}
	}
	if r.Action != nil {
		weightedTargets(v, path+".action.weightedTargets", r.Action.WeightedTargets)
	}
	if rp := r.RetryPolicy; rp != nil {
		retryPolicy(v, path+".retryPolicy", rp.HttpRetryEvents, rp.TcpRetryEvents, rp.GrpcRetryEvents, true, rp.PerRetryTimeout)
	}
	timeouts(v, path+".timeout", (*HttpTimeout)(r.Timeout))
}

func weightedTargets(v *validator, path string, ts []WeightedTarget) {
	if len(ts) == 0 {
		return // the model reports the missing list
	}
	var total int64
	for _, t := range ts {
		if t.Weight != nil && *t.Weight > 0 && *t.Weight <= 100 {
			total += *t.Weight // per-target range is the model's; bounding here keeps the sum from overflowing
		}
	}
	switch {
	case total > 100:
		v.fail(path, "total weight must be at most 100, got %d", total)
	case total == 0:
		v.fail(path, "total weight must be greater than 0")
	}
}

var httpRetryEvents = []string{"server-error", "gateway-error", "client-error", "stream-error"}

func retryPolicy(v *validator, path string, httpEvents, tcpEvents, grpcEvents []string, grpc bool, perRetry *Duration) {
	if len(httpEvents)+len(tcpEvents)+len(grpcEvents) == 0 {
		kinds := "httpRetryEvents, tcpRetryEvents"
		if grpc {
			kinds = "grpcRetryEvents, httpRetryEvents, tcpRetryEvents"
		}
		v.fail(path, "must specify at least one retry event in %s", kinds)
	}
	for i, e := range httpEvents {
		v.enum(index(path+".httpRetryEvents", i), e, httpRetryEvents)
	}
	duration(v, path+".perRetryTimeout", perRetry, false)
}
