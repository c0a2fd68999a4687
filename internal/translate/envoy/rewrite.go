package envoy

import (
	"fmt"
	"regexp"
	"strings"

	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"github.com/meshgate/meshgate/internal/ir"
)

// maxRegexPrefix is the longest prefix rewritten with a regular
// expression. Its RE2 program grows with the prefix, and stock Envoy
// refuses programs over 100 instructions (re2.max_program_size.error_level)
// with the whole route table; longer prefixes use the two-route form.
const maxRegexPrefix = 64

// rewrite is one way to write a gateway route's path rewrite in Envoy: a
// route action rewrite plus, when it takes several routes, the prefix the
// route must match instead of the IR's.
type rewrite struct {
	prefix        string // "" keeps the match's path criterion
	regex         *matcher.RegexMatchAndSubstitute
	prefixRewrite string
}

// rewrites returns the Envoy routes (as rewrites, tried in order) that
// apply the IR's prefix or path rewrite; one with nothing set when there is
// none. Envoy applies both forms to the path and keeps the query.
func rewrites(m ir.Match, a ir.GatewayRouteAction) ([]rewrite, error) {
	switch {
	case a.PrefixRewrite != nil && a.PathRewrite != "":
		return nil, fmt.Errorf("both a prefix and a path rewrite")
	case a.PathRewrite != "":
		if !strings.HasPrefix(a.PathRewrite, "/") {
			return nil, fmt.Errorf("path rewrite %q does not start with /", a.PathRewrite)
		}
		return []rewrite{{regex: &matcher.RegexMatchAndSubstitute{
			Pattern:      &matcher.RegexMatcher{Regex: `^.*$`},
			Substitution: literalSubstitution(a.PathRewrite),
		}}}, nil
	case a.PrefixRewrite != nil:
		if m.Path != "" || m.PathRegex != "" {
			return nil, fmt.Errorf("a prefix rewrite needs a prefix match")
		}
		return prefixRewrites(m.Prefix, *a.PrefixRewrite)
	}
	return []rewrite{{}}, nil
}

// prefixRewrites replaces prefix at the start of the path with value and
// merges the run of slashes where the two meet into one, the IR's
// semantics: Envoy's prefix_rewrite alone would turn "/color1/tell" with
// prefix "/color1" and "/" into "//tell".
//
// Up to maxRegexPrefix, one route with a regex_rewrite whose pattern
// swallows the slashes after the prefix, and whose substitution puts back
// one when the value does not end with one and there was any:
//
//	prefix "/color1", value "/":      ^/color1/*  → "/"        /color1/tell → /tell, /color1 → /
//	prefix "/chapter", value "/":     ^/chapter/* → "/"        /chapter1 → /1
//	prefix "/maroon/", value "/red/": ^/maroon//* → "/red/"    /maroon/tell → /red/tell
//	prefix "/a", value "/b":          ^/a(/?)/*   → "/b\1"     /a/x → /b/x, /ax → /bx
//
// Beyond, prefix_rewrite, relying on merge_slashes (always on here): the
// path has no "//", so after a prefix ending in "/" the rest never starts
// with one. A prefix without that slash takes two routes, the first for
// "<prefix>/" (whose slash joins the value's), the second for the rest.
func prefixRewrites(prefix, value string) ([]rewrite, error) {
	if !strings.HasPrefix(value, "/") {
		return nil, fmt.Errorf("prefix rewrite %q does not start with /: the path would not either", value)
	}
	joined := value // the value followed by the rest of the path, which starts with no slash
	if strings.HasSuffix(value, "/") {
		joined = strings.TrimRight(value, "/") + "/"
	}
	if len(prefix) <= maxRegexPrefix {
		q := regexp.QuoteMeta(prefix)
		if strings.HasSuffix(value, "/") {
			return []rewrite{{regex: &matcher.RegexMatchAndSubstitute{
				Pattern:      &matcher.RegexMatcher{Regex: "^" + q + "/*"},
				Substitution: literalSubstitution(joined),
			}}}, nil
		}
		return []rewrite{{regex: &matcher.RegexMatchAndSubstitute{
			Pattern:      &matcher.RegexMatcher{Regex: "^" + q + "(/?)/*"},
			Substitution: literalSubstitution(value) + `\1`,
		}}}, nil
	}
	if strings.HasSuffix(prefix, "/") {
		return []rewrite{{prefixRewrite: joined}}, nil
	}
	return []rewrite{
		{prefix: prefix + "/", prefixRewrite: strings.TrimRight(value, "/") + "/"},
		{prefix: prefix, prefixRewrite: joined},
	}, nil
}

// apply sets the rewrite on a route built for it.
func (r rewrite) apply(m *route.RouteMatch, a *route.RouteAction) {
	if r.prefix != "" {
		m.PathSpecifier = &route.RouteMatch_Prefix{Prefix: r.prefix}
	}
	a.RegexRewrite = r.regex
	a.PrefixRewrite = r.prefixRewrite
}

// literalSubstitution escapes s for an RE2 rewrite string, where a
// backslash starts a group reference.
func literalSubstitution(s string) string { return strings.ReplaceAll(s, `\`, `\\`) }
