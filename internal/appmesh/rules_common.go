package appmesh

// Stateless cross-field rules shared by several specs. The generated model
// validation has already run when these are called, but every helper is still
// nil-safe: Check must never panic, whatever it is handed.
//
// Decisions (one line each, for docs/api-compatibility.md):
//   - Duration: when a Duration is given, both value and unit are required (the model makes both optional, but a
//     duration without either has no meaning); value must be 0..315576000000 s (the protobuf Duration range Envoy accepts).
//   - Regexes (path.regex, header/metadata regex) must compile as Go regexp (RE2 syntax) and compile to at most
//     1000 instructions, approximating the RE2 program-size limit the App Mesh agent sets (re2.max_program_size.error_level).
//   - Header and gRPC metadata names must match ^[!-9;-~]+$ as App Mesh enforced (RM#261): no ':' so no pseudo-headers,
//     no spaces or control characters. "host" is accepted as the API accepted it; the data plane must treat it as the authority.
//   - A header/metadata match with no match block is a presence match (accepted); range needs start < end (end is exclusive).
//   - queryParameters: name must not be empty; a match block, when given, must contain exact.
//   - Any ACM member (listener certificate acm, trust acm) is rejected: ACM is not available to a self-hosted mesh; use file or sds.
//   - subjectAlternativeNames.match.exact must have at least one entry; sds secretName must not be empty.
//   - Client policy tls.ports must be unique.
//   - Access log json format: at least one key, keys unique; text format and json values must be valid Envoy
//     substitution strings: every '%' starts %%, %COMMAND%, %COMMAND(arg)% or %COMMAND(arg):N%
//     (command names themselves are not checked, they vary with the Envoy version).
//   - An HTTP or gRPC route/gateway-route match must carry at least one criterion; port alone counts (the multiple
//     listeners walkthrough routes a whole listener with a port-only match). Use prefix "/" to match everything.

import (
	"math"
	"regexp"
	"regexp/syntax"
	"strings"
)

// maxDurationSeconds is the largest google.protobuf.Duration; Envoy NACKs more.
const maxDurationSeconds = 315576000000

// maxRegexProgram mirrors re2.max_program_size.error_level set by the App Mesh agent.
const maxRegexProgram = 1000

var (
	headerNamePattern = regexp.MustCompile(`^[!-9;-~]+$`)
	// envoyCommand is Envoy's substitution command grammar (substitution_formatter.cc).
	envoyCommand = regexp.MustCompile(`^%[A-Z0-9_]+(\([^)]*\))?(:[0-9]+)?%`)
)

// acmMessage is shared so every ACM rejection reads the same.
const acmMessage = "is not supported by meshgate: ACM is not available in a self-hosted deployment; use file or sds"

func rejectACM(v *validator, path string) { v.fail(path, acmMessage) }

func nonEmpty(v *validator, path string, s *string) {
	if s != nil && *s == "" {
		v.fail(path, "must not be empty")
	}
}

// uniquePort records port in seen and reports a port that an earlier path already used.
func uniquePort(v *validator, seen map[int64]string, path string, port *int64) {
	if port == nil {
		return
	}
	if prev, ok := seen[*port]; ok {
		v.fail(path, "%d is already used by %s", *port, prev)
		return
	}
	seen[*port] = path
}

func uniquePorts(v *validator, path string, ports []int64) {
	seen := map[int64]string{}
	for i := range ports {
		uniquePort(v, seen, index(path, i), &ports[i])
	}
}

// protocolMember checks that the union member set in a per-protocol block
// (connectionPool, timeout) is the listener's own protocol: Envoy applies each
// block to one protocol only, so a mismatch would be silently ignored.
func protocolMember(v *validator, path string, protocol *string, names []string, set ...bool) {
	if protocol == nil {
		return
	}
	for i, s := range set {
		if s && i < len(names) && names[i] != *protocol {
			v.fail(path+"."+names[i], "does not match the listener protocol %s", *protocol)
			return
		}
	}
}

// healthCheck applies the listener-level health check rules shared by
// virtual nodes and virtual gateways.
func healthCheck(v *validator, path string, listenerProtocol *string, listenerPort, hcPort *int64, hcProtocol *string) {
	if hcProtocol != nil && *hcProtocol == "grpc" && listenerProtocol != nil &&
		*listenerProtocol != "http2" && *listenerProtocol != "grpc" {
		v.fail(path+".protocol", "is invalid: GRPC HealthCheck requires listener type of HTTP2 or GRPC.")
	}
	if hcPort != nil && listenerPort != nil && *hcPort != *listenerPort {
		v.fail(path+".port", "must match the listener port %d, got %d", *listenerPort, *hcPort)
	}
}

// duration checks a Duration that is present; positive also forbids zero.
func duration(v *validator, path string, d *Duration, positive bool) {
	if d == nil {
		return
	}
	if d.Value == nil {
		v.missing(path + ".value")
	}
	if d.Unit == nil {
		v.missing(path + ".unit")
	}
	if d.Value == nil {
		return
	}
	n := *d.Value
	limit := int64(math.MaxInt64) // unknown units are the model's to report
	if d.Unit != nil {
		switch *d.Unit {
		case "s":
			limit = maxDurationSeconds
		case "ms":
			limit = maxDurationSeconds * 1000
		}
	}
	switch {
	case n < 0:
		v.fail(path+".value", "must be at least 0, got %d", n)
	case n > limit:
		v.fail(path+".value", "must be at most %d%s, got %d", limit, *d.Unit, n)
	case positive && n == 0:
		v.fail(path+".value", "must be greater than 0")
	}
}

func checkRegex(v *validator, path, expr string) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		v.fail(path, "is not a valid RE2 regular expression: %s", err)
		return
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		v.fail(path, "is not a valid RE2 regular expression: %s", err)
		return
	}
	if len(prog.Inst) > maxRegexProgram {
		v.fail(path, "is too complex: it compiles to %d instructions, the limit is %d", len(prog.Inst), maxRegexProgram)
	}
}

// header checks one header or gRPC metadata matcher. The three match-method
// shapes are identical, so metadata callers convert to *HeaderMatchMethod.
func header(v *validator, path string, name *string, m *HeaderMatchMethod) {
	if name != nil && !headerNamePattern.MatchString(*name) {
		v.fail(path+".name", "must contain only printable ASCII characters other than space and ':', got %q", *name)
	}
	if m == nil {
		return
	}
	if r := m.Range; r != nil && r.Start != nil && r.End != nil && *r.Start >= *r.End {
		v.fail(path+".match.range", "start must be less than end (end is exclusive), got start %d, end %d", *r.Start, *r.End)
	}
	if m.Regex != nil {
		checkRegex(v, path+".match.regex", *m.Regex)
	}
}

func queryParameters(v *validator, path string, qs []HttpQueryParameter) {
	for i, q := range qs {
		p := index(path, i)
		nonEmpty(v, p+".name", q.Name)
		if q.Match != nil && q.Match.Exact == nil {
			v.missing(p + ".match.exact")
		}
	}
}

// pathCriteria checks prefix and path, shared by gateway routes and router
// routes; reserved adds the gateway-only /aws-appmesh prefix ban.
func pathCriteria(v *validator, path string, prefix *string, pm *HttpPathMatch, reserved bool) {
	if prefix != nil && pm != nil {
		v.fail(path, "must not set both prefix and path")
	}
	if prefix != nil {
		p := *prefix
		switch {
		case !strings.HasPrefix(p, "/"):
			v.fail(path+".prefix", `must start with "/", got %q`, p)
		case reserved && (strings.HasPrefix(p, "/aws-appmesh") || strings.HasPrefix(p, "/aws-app-mesh")):
			v.fail(path+".prefix", `must not start with the reserved "/aws-appmesh" or "/aws-app-mesh", got %q`, p)
		}
	}
	if pm == nil {
		return
	}
	if (pm.Exact != nil) == (pm.Regex != nil) {
		v.fail(path+".path", "must set exactly one of exact, regex")
	}
	if pm.Exact != nil && !strings.HasPrefix(*pm.Exact, "/") {
		v.fail(path+".path.exact", `must start with "/", got %q`, *pm.Exact)
	}
	if pm.Regex != nil {
		checkRegex(v, path+".path.regex", *pm.Regex)
	}
}

func anyCriterion(v *validator, path string, any bool) {
	if !any {
		v.fail(path, `must specify at least one match criterion (use prefix "/" to match every request)`)
	}
}

func subjectAltNames(v *validator, path string, s *SubjectAlternativeNames) {
	if s != nil && s.Match != nil && len(s.Match.Exact) == 0 {
		v.fail(path+".match.exact", "must have at least 1 items")
	}
}

// accessLogFormat checks a log format Envoy would otherwise NACK.
func accessLogFormat(v *validator, path string, f *LoggingFormat) {
	if f == nil {
		return
	}
	if f.Json != nil && len(f.Json) == 0 {
		v.fail(path+".json", "must have at least 1 items")
	}
	keys := map[string]string{}
	for i, kv := range f.Json {
		p := index(path+".json", i)
		if kv.Key != nil {
			if prev, ok := keys[*kv.Key]; ok {
				v.fail(p+".key", "%q is already used by %s", *kv.Key, prev)
			}
			keys[*kv.Key] = p
		}
		if kv.Value != nil {
			substitution(v, p+".value", *kv.Value)
		}
	}
	if f.Text != nil {
		substitution(v, path+".text", *f.Text)
	}
}

func substitution(v *validator, path, s string) {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if strings.HasPrefix(s[i:], "%%") {
			i++
			continue
		}
		loc := envoyCommand.FindStringIndex(s[i:])
		if loc == nil {
			v.fail(path, "has an invalid or unterminated %% command operator at position %d", i)
			return
		}
		i += loc[1] - 1
	}
}

// timeouts checks the idle/perRequest pair shared by listener and route
// timeouts (HttpTimeout and GrpcTimeout have the same shape).
func timeouts(v *validator, path string, t *HttpTimeout) {
	if t != nil {
		duration(v, path+".idle", t.Idle, false)
		duration(v, path+".perRequest", t.PerRequest, false)
	}
}

func tcpTimeout(v *validator, path string, t *TcpTimeout) {
	if t != nil {
		duration(v, path+".idle", t.Idle, false)
	}
}
