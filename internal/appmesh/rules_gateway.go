package appmesh

// Stateless rules for VirtualGatewaySpec and GatewayRouteSpec (reference §4.2
// and §5.6). Rules that need other resources (listener ports of the gateway,
// target virtual service, provider listeners) live in the service layer.
//
// Decisions (one line each, for docs/api-compatibility.md):
//   - VirtualGateway: listeners must have at least 1 item (the model only requires the member; a gateway without a
//     listener cannot receive traffic; CDK refuses it too).
//   - VirtualGateway: listener ports must be unique (each port becomes one Envoy listener).
//   - VirtualGateway: the connectionPool member must be the listener protocol (http, http2 or grpc).
//   - VirtualGateway: healthCheck.protocol grpc needs an http2 or grpc listener; healthCheck.port, when set, must equal
//     the listener port.
//   - VirtualGateway: listener tls.certificate.acm and backendDefaults.clientPolicy.tls.validation.trust.acm are rejected
//     (no ACM in a self-hosted deployment; use file or sds).
//   - GatewayRoute: exactly one of httpRoute, http2Route, grpcRoute (V1).
//   - GatewayRoute: match.prefix and match.path are mutually exclusive (V3); a match with no criterion at all is
//     rejected, a port-only (or hostname/header/method/query-only) match is accepted (§5.2 "minimum match").
//   - GatewayRoute: prefix starts with "/" and not with "/aws-appmesh" or "/aws-app-mesh" (V6, case-sensitive like
//     Envoy path matching); the reserved rule applies to prefix only, not to path.exact.
//   - GatewayRoute: the prefix need not end with "/", also not with defaultPrefix DISABLED or a rewrite value (V7; the
//     CDK rule that the match prefix ends with "/" when rewrite.prefix.value is used is stricter than the API; V9).
//   - GatewayRoute: hostname sets exactly one of exact/suffix and neither may contain "*" (the suffix is the wildcard).
//   - GatewayRoute: rewrite.prefix sets exactly one of defaultPrefix/value (V8); value starts and ends with "/" (V9).
//   - GatewayRoute: rewrite.prefix and rewrite.path are mutually exclusive; rewrite.prefix is rejected with match.path
//     and rewrite.path with match.prefix (V10); with neither prefix nor path in the match (hostname-only and similar,
//     CDK#17875) both rewrites are accepted and apply to the implicit "/" prefix.
//   - GatewayRoute: an empty rewrite block, or rewrite.hostname without defaultTargetHostname, is accepted as a no-op
//     (only the controller rejected it, V11); rewrite.path needs exact, starting with "/" (V12).
//   - GatewayRoute: grpc serviceName must not be empty and must not start with "aws.app-mesh", "/aws.app-mesh" or
//     "aws.appmesh" (V18; applies to gateway routes only, as documented).

import "strings"

// Check applies the VirtualGateway rules the model cannot express.
func (s *VirtualGatewaySpec) Check() error {
	if s == nil {
		return nil
	}
	var v validator
	if len(s.Listeners) == 0 {
		v.fail("spec.listeners", "must have at least 1 items")
	}
	seen := map[int64]string{}
	for i := range s.Listeners {
		s.Listeners[i].checkRules(&v, index("spec.listeners", i), seen)
	}
	if b := s.BackendDefaults; b != nil && b.ClientPolicy != nil {
		b.ClientPolicy.Tls.checkRules(&v, "spec.backendDefaults.clientPolicy.tls")
	}
	if l := s.Logging; l != nil && l.AccessLog != nil && l.AccessLog.File != nil {
		accessLogFormat(&v, "spec.logging.accessLog.file.format", l.AccessLog.File.Format)
	}
	return v.err
}

func (l *VirtualGatewayListener) checkRules(v *validator, path string, seen map[int64]string) {
	var protocol *string
	var port *int64
	if pm := l.PortMapping; pm != nil {
		protocol, port = pm.Protocol, pm.Port
		uniquePort(v, seen, path+".portMapping.port", port)
	}
	if cp := l.ConnectionPool; cp != nil {
		protocolMember(v, path+".connectionPool", protocol, []string{"grpc", "http", "http2"},
			cp.Grpc != nil, cp.Http != nil, cp.Http2 != nil)
	}
	if hc := l.HealthCheck; hc != nil {
		healthCheck(v, path+".healthCheck", protocol, port, hc.Port, hc.Protocol)
	}
	l.Tls.checkRules(v, path+".tls")
}

func (t *VirtualGatewayListenerTls) checkRules(v *validator, path string) {
	if t == nil {
		return
	}
	if c := t.Certificate; c != nil {
		if c.Acm != nil {
			rejectACM(v, path+".certificate.acm")
		}
		if c.Sds != nil {
			nonEmpty(v, path+".certificate.sds.secretName", c.Sds.SecretName)
		}
	}
	if val := t.Validation; val != nil {
		if tr := val.Trust; tr != nil && tr.Sds != nil {
			nonEmpty(v, path+".validation.trust.sds.secretName", tr.Sds.SecretName)
		}
		subjectAltNames(v, path+".validation.subjectAlternativeNames", val.SubjectAlternativeNames)
	}
}

func (t *VirtualGatewayClientPolicyTls) checkRules(v *validator, path string) {
	if t == nil {
		return
	}
	uniquePorts(v, path+".ports", t.Ports)
	if c := t.Certificate; c != nil && c.Sds != nil {
		nonEmpty(v, path+".certificate.sds.secretName", c.Sds.SecretName)
	}
	if val := t.Validation; val != nil {
		if tr := val.Trust; tr != nil {
			if tr.Acm != nil {
				rejectACM(v, path+".validation.trust.acm")
			}
			if tr.Sds != nil {
				nonEmpty(v, path+".validation.trust.sds.secretName", tr.Sds.SecretName)
			}
		}
		subjectAltNames(v, path+".validation.subjectAlternativeNames", val.SubjectAlternativeNames)
	}
}

// Check applies the GatewayRoute rules V1-V18 that need only the spec.
func (s *GatewayRouteSpec) Check() error {
	if s == nil {
		return nil
	}
	var v validator
	v.union("spec", []string{"grpcRoute", "http2Route", "httpRoute"},
		s.GrpcRoute != nil, s.Http2Route != nil, s.HttpRoute != nil)
	s.HttpRoute.checkRules(&v, "spec.httpRoute")
	s.Http2Route.checkRules(&v, "spec.http2Route")
	s.GrpcRoute.checkRules(&v, "spec.grpcRoute")
	return v.err
}

func (r *HttpGatewayRoute) checkRules(v *validator, path string) {
	if r == nil {
		return
	}
	if m := r.Match; m != nil {
		mp := path + ".match"
		anyCriterion(v, mp, m.Prefix != nil || m.Path != nil || m.Port != nil || m.Hostname != nil ||
			m.Method != nil || len(m.Headers) > 0 || len(m.QueryParameters) > 0)
		pathCriteria(v, mp, m.Prefix, m.Path, true)
		hostnameMatch(v, mp+".hostname", m.Hostname)
		for i, h := range m.Headers {
			header(v, index(mp+".headers", i), h.Name, h.Match)
		}
		queryParameters(v, mp+".queryParameters", m.QueryParameters)
	}
	if a := r.Action; a != nil && a.Rewrite != nil {
		gatewayRewrite(v, path, a.Rewrite, r.Match)
	}
}

func hostnameMatch(v *validator, path string, h *GatewayRouteHostnameMatch) {
	if h == nil {
		return
	}
	if (h.Exact != nil) == (h.Suffix != nil) {
		v.fail(path, "must set exactly one of exact, suffix")
	}
	if h.Exact != nil && strings.Contains(*h.Exact, "*") {
		v.fail(path+".exact", `must not contain "*"; use suffix to match several hosts`)
	}
	if h.Suffix != nil && strings.Contains(*h.Suffix, "*") {
		v.fail(path+".suffix", `must not contain "*"; the suffix itself is the wildcard`)
	}
}

// gatewayRewrite checks action.rewrite against the match it rewrites; route
// is the route path so messages can name the match member.
func gatewayRewrite(v *validator, route string, rw *HttpGatewayRouteRewrite, m *HttpGatewayRouteMatch) {
	path := route + ".action.rewrite"
	matchPrefix := m != nil && m.Prefix != nil
	matchPath := m != nil && m.Path != nil
	if rw.Prefix != nil && rw.Path != nil {
		v.fail(path, "must not set both prefix and path")
	}
	if p := rw.Prefix; p != nil {
		if (p.DefaultPrefix != nil) == (p.Value != nil) {
			v.fail(path+".prefix", "must set exactly one of defaultPrefix, value")
		}
		if p.Value != nil && (!strings.HasPrefix(*p.Value, "/") || !strings.HasSuffix(*p.Value, "/")) {
			v.fail(path+".prefix.value", `must start and end with "/", got %q`, *p.Value)
		}
		if matchPath {
			v.fail(path+".prefix", "cannot be used with %s.match.path; use rewrite.path", route)
		}
	}
	if p := rw.Path; p != nil {
		switch {
		case p.Exact == nil:
			v.missing(path + ".path.exact")
		case !strings.HasPrefix(*p.Exact, "/"):
			v.fail(path+".path.exact", `must start with "/", got %q`, *p.Exact)
		}
		if matchPrefix {
			v.fail(path+".path", "cannot be used with %s.match.prefix; use rewrite.prefix", route)
		}
	}
}

func (r *GrpcGatewayRoute) checkRules(v *validator, path string) {
	if r == nil || r.Match == nil {
		return
	}
	m, mp := r.Match, path+".match"
	anyCriterion(v, mp, m.ServiceName != nil || m.Hostname != nil || m.Port != nil || len(m.Metadata) > 0)
	if m.ServiceName != nil {
		name := *m.ServiceName
		switch {
		case name == "":
			v.fail(mp+".serviceName", "must not be empty")
		case strings.HasPrefix(name, "aws.app-mesh") || strings.HasPrefix(name, "/aws.app-mesh") ||
			strings.HasPrefix(name, "aws.appmesh"):
			v.fail(mp+".serviceName", `must not use the reserved "aws.app-mesh" or "aws.appmesh" names, got %q`, name)
		}
	}
	hostnameMatch(v, mp+".hostname", m.Hostname)
	for i, md := range m.Metadata {
		header(v, index(mp+".metadata", i), md.Name, (*HeaderMatchMethod)(md.Match))
	}
}
