package envoy

import (
	"fmt"
	"regexp"

	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/meshgate/meshgate/internal/ir"
)

// stage says which half of the loop a match runs in: some request
// properties live in other headers after the hop.
type stage int

const (
	ingressStage stage = iota
	egressStage
)

// maxExpansion bounds how many Envoy routes one IR match may become (see
// routeMatches); an IR needing more is refused rather than blown up.
const maxExpansion = 64

// routeMatches returns Envoy matches that together accept exactly what m
// accepts. Usually that is one match. The exception is an inverted header
// criterion whose value criterion also accepts the empty value: the IR
// accepts a request without the header, but an Envoy matcher either skips
// a missing header (no match) or treats it as empty (the value matches, so
// the inverted matcher does not). Such a criterion becomes two
// alternatives, "header absent" or "present and not matching", and the
// route is repeated, in place, once per combination.
func routeMatches(m ir.Match, st stage) ([]*route.RouteMatch, error) {
	base := &route.RouteMatch{}
	switch n := countSet(m.Prefix != "", m.Path != "", m.PathRegex != ""); {
	case n > 1:
		return nil, fmt.Errorf("match sets more than one of prefix, path and path regex")
	case m.Path != "":
		base.PathSpecifier = &route.RouteMatch_Path{Path: m.Path}
	case m.PathRegex != "":
		if err := checkRegex(m.PathRegex); err != nil {
			return nil, fmt.Errorf("path regex: %w", err)
		}
		base.PathSpecifier = &route.RouteMatch_SafeRegex{SafeRegex: &matcher.RegexMatcher{Regex: m.PathRegex}}
	case m.Prefix != "":
		base.PathSpecifier = &route.RouteMatch_Prefix{Prefix: m.Prefix}
	default:
		base.PathSpecifier = &route.RouteMatch_Prefix{Prefix: "/"}
	}
	if m.Method != "" {
		base.Headers = append(base.Headers, exactHeader(":method", m.Method))
	}
	if m.Scheme != "" {
		// After the hop the scheme is the hop's own (plain http); the
		// client's survives in X-Forwarded-Proto, which the edge (ingress)
		// connection manager sets from the client connection.
		name := ":scheme"
		if st == egressStage {
			name = "x-forwarded-proto"
		}
		base.Headers = append(base.Headers, exactHeader(name, m.Scheme))
	}
	for _, q := range m.Query {
		if q.Name == "" {
			return nil, fmt.Errorf("query parameter match without a name")
		}
		qm := &route.QueryParameterMatcher{Name: q.Name}
		if q.Exact != nil {
			qm.QueryParameterMatchSpecifier = &route.QueryParameterMatcher_StringMatch{StringMatch: &matcher.StringMatcher{
				MatchPattern: &matcher.StringMatcher_Exact{Exact: *q.Exact},
			}}
		} else {
			qm.QueryParameterMatchSpecifier = &route.QueryParameterMatcher_PresentMatch{PresentMatch: true}
		}
		base.QueryParameters = append(base.QueryParameters, qm)
	}
	out := []*route.RouteMatch{base}
	for _, h := range m.Headers {
		alts, err := headerMatchers(h, st)
		if err != nil {
			return nil, fmt.Errorf("header %q: %w", h.Name, err)
		}
		if len(out)*len(alts) > maxExpansion {
			return nil, fmt.Errorf("too many inverted header matches that accept an empty value (more than %d Envoy routes)", maxExpansion)
		}
		var next []*route.RouteMatch
		for _, rm := range out {
			for _, alt := range alts {
				c := cloneMatch(rm)
				c.Headers = append(c.Headers, alt)
				next = append(next, c)
			}
		}
		out = next
	}
	return out, nil
}

// headerMatchers returns the alternatives (OR) for one IR header match.
func headerMatchers(h ir.HeaderMatch, st stage) ([]*route.HeaderMatcher, error) {
	if h.Name == "" {
		return nil, fmt.Errorf("header match without a name")
	}
	name := headerName(h.Name, st)
	if countSet(h.Exact != nil, h.Prefix != nil, h.Suffix != nil, h.Regex != nil, h.Range != nil) > 1 {
		return nil, fmt.Errorf("more than one value criterion")
	}
	hm := &route.HeaderMatcher{Name: name, InvertMatch: h.Invert}
	acceptsEmpty := false
	switch {
	case h.Exact != nil:
		hm.HeaderMatchSpecifier = stringMatch(&matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_Exact{Exact: *h.Exact}})
		acceptsEmpty = *h.Exact == ""
	case h.Prefix != nil && *h.Prefix != "":
		hm.HeaderMatchSpecifier = stringMatch(&matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_Prefix{Prefix: *h.Prefix}})
	case h.Suffix != nil && *h.Suffix != "":
		hm.HeaderMatchSpecifier = stringMatch(&matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_Suffix{Suffix: *h.Suffix}})
	case h.Regex != nil && *h.Regex != "":
		hm.HeaderMatchSpecifier = stringMatch(&matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_SafeRegex{SafeRegex: &matcher.RegexMatcher{Regex: *h.Regex}}})
		re, err := fullMatch(*h.Regex)
		if err != nil {
			return nil, err
		}
		acceptsEmpty = re.MatchString("")
	case h.Regex != nil:
		// The empty expression accepts exactly the empty value.
		hm.HeaderMatchSpecifier = stringMatch(&matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_Exact{}})
		acceptsEmpty = true
	case h.Range != nil:
		hm.HeaderMatchSpecifier = &route.HeaderMatcher_RangeMatch{RangeMatch: &typev3.Int64Range{Start: h.Range.Start, End: h.Range.End}}
	default:
		// Presence, or an empty prefix or suffix, which every value has.
		// Inverted, Envoy's present match accepts a missing header: no
		// special case needed.
		hm.HeaderMatchSpecifier = &route.HeaderMatcher_PresentMatch{PresentMatch: true}
		return []*route.HeaderMatcher{hm}, nil
	}
	if !h.Invert {
		return []*route.HeaderMatcher{hm}, nil
	}
	if !acceptsEmpty {
		// A missing header counts as the empty value, which the criterion
		// refuses, so the inverted matcher accepts it, as the IR says.
		hm.TreatMissingHeaderAsEmpty = true
		return []*route.HeaderMatcher{hm}, nil
	}
	absent := &route.HeaderMatcher{Name: name, InvertMatch: true, HeaderMatchSpecifier: &route.HeaderMatcher_PresentMatch{PresentMatch: true}}
	return []*route.HeaderMatcher{absent, hm}, nil
}

// headerName maps the IR's header names onto Envoy's: Host is the
// :authority pseudo-header, and after the hop the authority is the
// internal one, while the Host the router stage should see travels in
// hostHeader.
func headerName(name string, st stage) string {
	if name == "host" || name == ":authority" {
		if st == egressStage {
			return hostHeader
		}
		return ":authority"
	}
	return name
}

func exactHeader(name, value string) *route.HeaderMatcher {
	return &route.HeaderMatcher{Name: name, HeaderMatchSpecifier: stringMatch(&matcher.StringMatcher{
		MatchPattern: &matcher.StringMatcher_Exact{Exact: value},
	})}
}

func stringMatch(m *matcher.StringMatcher) *route.HeaderMatcher_StringMatch {
	return &route.HeaderMatcher_StringMatch{StringMatch: m}
}

func cloneMatch(m *route.RouteMatch) *route.RouteMatch {
	c := &route.RouteMatch{PathSpecifier: m.PathSpecifier, QueryParameters: m.QueryParameters}
	c.Headers = append([]*route.HeaderMatcher(nil), m.Headers...)
	return c
}

// checkRegex refuses what RE2 (Envoy's engine; Go's regexp has the same
// syntax) would not compile: Envoy would reject the whole route table.
func checkRegex(expr string) error {
	_, err := fullMatch(expr)
	return err
}

// fullMatch compiles expr anchored at both ends, as Envoy applies
// safe_regex matchers to the whole value.
func fullMatch(expr string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(expr); err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %w", expr, err)
	}
	re, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %w", expr, err)
	}
	return re, nil
}

func countSet(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
