package envoy

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// pickVirtualHost follows Envoy's precedence: an exact domain, then the
// longest "*suffix" wildcard, then the longest "prefix*" wildcard, then
// "*". A wildcard never matches an empty part, and matching is case
// insensitive.
func pickVirtualHost(rc *route.RouteConfiguration, authority string, strip bool) *route.VirtualHost {
	host := strings.ToLower(authority)
	if rc.GetIgnorePortInHostMatching() || strip {
		host = stripPort(host)
	}
	var suffix, prefix, any *route.VirtualHost
	suffixLen, prefixLen := -1, -1
	for _, vh := range rc.GetVirtualHosts() {
		for _, d := range vh.GetDomains() {
			d = strings.ToLower(d)
			switch {
			case d == "*":
				if any == nil {
					any = vh
				}
			case d == host:
				return vh
			case strings.HasPrefix(d, "*"):
				s := d[1:]
				if len(host) > len(s) && strings.HasSuffix(host, s) && len(s) > suffixLen {
					suffix, suffixLen = vh, len(s)
				}
			case strings.HasSuffix(d, "*"):
				p := d[:len(d)-1]
				if len(host) > len(p) && strings.HasPrefix(host, p) && len(p) > prefixLen {
					prefix, prefixLen = vh, len(p)
				}
			}
		}
	}
	switch {
	case suffix != nil:
		return suffix
	case prefix != nil:
		return prefix
	}
	return any
}

func stripPort(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		if strings.Contains(h, ":") {
			return "[" + h + "]"
		}
		return h
	}
	return host
}

// pickRoute is the first route whose match holds.
func pickRoute(vh *route.VirtualHost, r *request) (*route.Route, error) {
	for _, rt := range vh.GetRoutes() {
		ok, err := matchRoute(rt.GetMatch(), r)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", rt.GetName(), err)
		}
		if ok {
			return rt, nil
		}
	}
	return nil, nil
}

func matchRoute(m *route.RouteMatch, r *request) (bool, error) {
	path, _, _ := strings.Cut(r.path, "?")
	if m.GetCaseSensitive() != nil && !m.GetCaseSensitive().GetValue() {
		return false, fmt.Errorf("case-insensitive path matching (not modelled)")
	}
	switch p := m.GetPathSpecifier().(type) {
	case *route.RouteMatch_Prefix:
		if !strings.HasPrefix(path, p.Prefix) {
			return false, nil
		}
	case *route.RouteMatch_Path:
		if path != p.Path {
			return false, nil
		}
	case *route.RouteMatch_SafeRegex:
		re, err := fullMatch(p.SafeRegex.GetRegex())
		if err != nil {
			return false, err
		}
		if !re.MatchString(path) {
			return false, nil
		}
	default:
		return false, fmt.Errorf("path specifier %T (not modelled)", p)
	}
	if m.GetGrpc() != nil && r.headers["content-type"] != "application/grpc" && !strings.HasPrefix(r.headers["content-type"], "application/grpc+") {
		return false, nil
	}
	for _, h := range m.GetHeaders() {
		ok, err := matchHeader(h, r)
		if err != nil || !ok {
			return false, err
		}
	}
	if len(m.GetQueryParameters()) > 0 {
		params := parseQuery(r.path)
		for _, q := range m.GetQueryParameters() {
			ok, err := matchQuery(q, params)
			if err != nil || !ok {
				return false, err
			}
		}
	}
	if m.GetRuntimeFraction() != nil || m.GetTlsContext() != nil || len(m.GetDynamicMetadata()) > 0 || m.GetFilterState() != nil || len(m.GetCookies()) > 0 {
		return false, fmt.Errorf("match criteria beyond path, headers and query (not modelled)")
	}
	return true, nil
}

// matchHeader is Envoy's HeaderMatcher: a missing header fails every
// matcher except "present: false" (and, inverted, "present: true"),
// unless treat_missing_header_as_empty makes it the empty value.
func matchHeader(h *route.HeaderMatcher, r *request) (bool, error) {
	v, present := r.header(h.GetName())
	if !present && !h.GetTreatMissingHeaderAsEmpty() {
		pm, isPresence := h.GetHeaderMatchSpecifier().(*route.HeaderMatcher_PresentMatch)
		if h.GetInvertMatch() {
			return isPresence && pm.PresentMatch, nil
		}
		return isPresence && !pm.PresentMatch, nil
	}
	var ok bool
	switch s := h.GetHeaderMatchSpecifier().(type) {
	case *route.HeaderMatcher_PresentMatch:
		ok = s.PresentMatch
	case nil:
		ok = true // no specifier: presence
	case *route.HeaderMatcher_StringMatch:
		var err error
		if ok, err = matchString(s.StringMatch, v); err != nil {
			return false, err
		}
	case *route.HeaderMatcher_RangeMatch:
		n, err := strconv.ParseInt(v, 10, 64)
		ok = err == nil && n >= s.RangeMatch.GetStart() && n < s.RangeMatch.GetEnd()
	default:
		return false, fmt.Errorf("header matcher %T (not modelled)", s)
	}
	return ok != h.GetInvertMatch(), nil
}

func matchString(m *matcher.StringMatcher, v string) (bool, error) {
	if m.GetIgnoreCase() {
		return false, fmt.Errorf("case-insensitive string matching (not modelled)")
	}
	switch p := m.GetMatchPattern().(type) {
	case *matcher.StringMatcher_Exact:
		return v == p.Exact, nil
	case *matcher.StringMatcher_Prefix:
		return strings.HasPrefix(v, p.Prefix), nil
	case *matcher.StringMatcher_Suffix:
		return strings.HasSuffix(v, p.Suffix), nil
	case *matcher.StringMatcher_Contains:
		return strings.Contains(v, p.Contains), nil
	case *matcher.StringMatcher_SafeRegex:
		re, err := fullMatch(p.SafeRegex.GetRegex())
		if err != nil {
			return false, err
		}
		return re.MatchString(v), nil
	}
	return false, fmt.Errorf("string matcher %T (not modelled)", m.GetMatchPattern())
}

// parseQuery splits the query the way Envoy's route matching does: on
// '&', "k=v" or bare "k" (empty value), first value wins, no decoding.
func parseQuery(path string) map[string]string {
	out := map[string]string{}
	_, q, ok := strings.Cut(path, "?")
	if !ok {
		return out
	}
	q, _, _ = strings.Cut(q, "#")
	for _, kv := range strings.Split(q, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if _, seen := out[k]; !seen {
			out[k] = v
		}
	}
	return out
}

func matchQuery(q *route.QueryParameterMatcher, params map[string]string) (bool, error) {
	v, present := params[q.GetName()]
	switch s := q.GetQueryParameterMatchSpecifier().(type) {
	case *route.QueryParameterMatcher_PresentMatch:
		return present == s.PresentMatch, nil
	case *route.QueryParameterMatcher_StringMatch:
		if !present {
			return false, nil
		}
		return matchString(s.StringMatch, v)
	}
	return false, fmt.Errorf("query matcher %T (not modelled)", q.GetQueryParameterMatchSpecifier())
}

// finalizeRequest is what Envoy's router does to a request once its route
// is chosen, in Envoy's order: header mutations (route, then virtual host,
// then route configuration, each removing before adding; reversed when
// most_specific_header_mutations_wins), then the Host rewrite, then the
// path rewrite.
func finalizeRequest(r *request, rt *route.Route, vh *route.VirtualHost, rc *route.RouteConfiguration) error {
	type level struct {
		remove []string
		add    []*core.HeaderValueOption
	}
	levels := []level{
		{rt.GetRequestHeadersToRemove(), rt.GetRequestHeadersToAdd()},
		{vh.GetRequestHeadersToRemove(), vh.GetRequestHeadersToAdd()},
		{rc.GetRequestHeadersToRemove(), rc.GetRequestHeadersToAdd()},
	}
	if rc.GetMostSpecificHeaderMutationsWins() {
		levels[0], levels[2] = levels[2], levels[0]
	}
	snapshot := *r // formatters read the request as it arrived at the router
	snapshot.headers = map[string]string{}
	for k, v := range r.headers {
		snapshot.headers[k] = v
	}
	for _, lv := range levels {
		for _, name := range lv.remove {
			delete(r.headers, strings.ToLower(name))
		}
		for _, o := range lv.add {
			name := strings.ToLower(o.GetHeader().GetKey())
			if strings.HasPrefix(name, ":") || name == "host" {
				return fmt.Errorf("header %q cannot be set by a route", name)
			}
			v, err := format(o.GetHeader().GetValue(), &snapshot)
			if err != nil {
				return err
			}
			if v == "" && !o.GetKeepEmptyValue() {
				continue
			}
			_, exists := r.headers[name]
			switch o.GetAppendAction() {
			case core.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD:
				r.headers[name] = v
			case core.HeaderValueOption_ADD_IF_ABSENT:
				if !exists {
					r.headers[name] = v
				}
			case core.HeaderValueOption_OVERWRITE_IF_EXISTS:
				if exists {
					r.headers[name] = v
				}
			default: // APPEND_IF_EXISTS_OR_ADD
				if exists {
					r.headers[name] += "," + v
				} else {
					r.headers[name] = v
				}
			}
		}
	}
	a := rt.GetRoute()
	switch h := a.GetHostRewriteSpecifier().(type) {
	case *route.RouteAction_HostRewriteLiteral:
		r.authority = h.HostRewriteLiteral
	case *route.RouteAction_HostRewriteHeader:
		if v := r.headers[strings.ToLower(h.HostRewriteHeader)]; v != "" {
			r.authority = v
		}
	case nil:
	default:
		return fmt.Errorf("host rewrite %T (not modelled)", h)
	}
	original := r.path
	path, query, hasQuery := strings.Cut(r.path, "?")
	switch {
	case a.GetRegexRewrite() != nil:
		re, err := regexp.Compile(a.GetRegexRewrite().GetPattern().GetRegex())
		if err != nil {
			return err
		}
		path = re2Replace(re, path, a.GetRegexRewrite().GetSubstitution())
	case a.GetPrefixRewrite() != "":
		p, ok := rt.GetMatch().GetPathSpecifier().(*route.RouteMatch_Prefix)
		if !ok {
			return fmt.Errorf("prefix_rewrite without a prefix match (not modelled)")
		}
		path = a.GetPrefixRewrite() + strings.TrimPrefix(path, p.Prefix)
	}
	if hasQuery {
		path += "?" + query
	}
	if path != original {
		r.path = path
		r.headers["x-envoy-original-path"] = original // the router's default
	}
	return nil
}

// re2Replace is RE2::GlobalReplace: every match replaced, "\N" in the
// rewrite is group N and "\\" a backslash.
func re2Replace(re *regexp.Regexp, s, rewrite string) string {
	var b strings.Builder
	last := 0
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(s[last:m[0]])
		for i := 0; i < len(rewrite); i++ {
			c := rewrite[i]
			if c != '\\' || i+1 == len(rewrite) {
				b.WriteByte(c)
				continue
			}
			i++
			if d := rewrite[i]; d >= '0' && d <= '9' {
				if g := int(d - '0'); 2*g+1 < len(m) && m[2*g] >= 0 {
					b.WriteString(s[m[2*g]:m[2*g+1]])
				}
				continue
			}
			b.WriteByte(rewrite[i])
		}
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// format renders an Envoy header value: "%%" is a percent sign and
// %REQ(name)% a request header; other commands are not modelled.
func format(v string, r *request) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(v, '%')
		if i < 0 {
			b.WriteString(v)
			return b.String(), nil
		}
		b.WriteString(v[:i])
		v = v[i:]
		if strings.HasPrefix(v, "%%") {
			b.WriteByte('%')
			v = v[2:]
			continue
		}
		end := strings.IndexByte(v[1:], '%')
		if end < 0 {
			return "", fmt.Errorf("unterminated command in %q", v)
		}
		cmd := v[1 : end+1]
		v = v[end+2:]
		name, ok := strings.CutPrefix(cmd, "REQ(")
		if !ok || !strings.HasSuffix(name, ")") {
			return "", fmt.Errorf("format command %%%s%% (not modelled)", cmd)
		}
		name = strings.ToLower(strings.TrimSuffix(name, ")"))
		main, alt, _ := strings.Cut(name, "?")
		val, ok := r.header(main)
		if !ok && alt != "" {
			val, _ = r.header(alt)
		}
		b.WriteString(val)
	}
}

// normalizePath removes "." and ".." segments (RFC 3986 §5.2.4) from the
// path, leaving the query alone, as normalize_path does.
func normalizePath(p string) string {
	path, query, hasQuery := strings.Cut(p, "?")
	var out []string
	segs := strings.Split(path, "/")[1:]
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	path = "/" + strings.Join(out, "/")
	if hasQuery {
		path += "?" + query
	}
	return path
}

// mergeSlashes collapses runs of '/' in the path (not the query).
func mergeSlashes(p string) string {
	path, query, hasQuery := strings.Cut(p, "?")
	for strings.Contains(path, "//") {
		path = strings.ReplaceAll(path, "//", "/")
	}
	if hasQuery {
		path += "?" + query
	}
	return path
}
