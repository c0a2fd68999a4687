package router

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/meshgate/meshgate/internal/ir"
)

// matcher is a compiled ir.Match. The prefix and exact path, which most
// gateway routes use alone, are inline; the other criteria sit behind one
// pointer, so that a large table of prefix routes stays small.
type matcher struct {
	prefix string
	path   string
	more   *moreCriteria // nil when the path criteria are all
}

type moreCriteria struct {
	regex   *regexp.Regexp // anchored: matches the whole path
	method  string
	scheme  string
	headers []headerMatcher
	query   []ir.QueryMatch
}

type headerMatcher struct {
	ir.HeaderMatch
	canonical string // http.CanonicalHeaderKey(Name)
	regex     *regexp.Regexp
}

func compileMatch(m ir.Match) (matcher, error) {
	if m.PathRegex == "" && m.Method == "" && m.Scheme == "" && len(m.Headers) == 0 && len(m.Query) == 0 {
		return matcher{prefix: m.Prefix, path: m.Path}, nil
	}
	c := &moreCriteria{method: m.Method, scheme: m.Scheme, query: m.Query}
	if m.PathRegex != "" {
		re, err := fullMatch(m.PathRegex)
		if err != nil {
			return matcher{}, fmt.Errorf("path regex %q: %w", m.PathRegex, err)
		}
		c.regex = re
	}
	for _, h := range m.Headers {
		hm := headerMatcher{HeaderMatch: h}
		hm.Name = strings.ToLower(h.Name)
		hm.canonical = http.CanonicalHeaderKey(hm.Name)
		if h.Regex != nil {
			re, err := fullMatch(*h.Regex)
			if err != nil {
				return matcher{}, fmt.Errorf("header %s regex %q: %w", h.Name, *h.Regex, err)
			}
			hm.regex = re
		}
		c.headers = append(c.headers, hm)
	}
	return matcher{prefix: m.Prefix, path: m.Path, more: c}, nil
}

// fullMatch compiles expr to match a whole value, as Envoy applies
// safe_regex. expr must be valid on its own: wrapped in ^(?:...)$ an
// invalid expression such as "a)|(b" would parse, with the anchors no
// longer applying to all of it ("x)|.*|(y" would match everything).
func fullMatch(expr string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(expr); err != nil {
		return nil, err
	}
	return regexp.Compile(`^(?:` + expr + `)$`)
}

// matches reports whether the request matches every criterion.
func (m *matcher) matches(r *Request, path string, lq *lazyQuery) bool {
	switch {
	case m.path != "" && path != m.path:
		return false
	case m.prefix != "" && !strings.HasPrefix(path, m.prefix):
		return false
	case m.more == nil:
		return true
	}
	return m.more.matches(r, path, lq)
}

func (m *moreCriteria) matches(r *Request, path string, lq *lazyQuery) bool {
	switch {
	case m.regex != nil && !m.regex.MatchString(path):
		return false
	case m.method != "" && r.Method != m.method:
		return false
	case m.scheme != "" && r.Scheme != m.scheme:
		return false
	}
	for i := range m.headers {
		if !m.headers[i].matches(r) {
			return false
		}
	}
	if len(m.query) == 0 {
		return true
	}
	query := lq.get()
	for _, q := range m.query {
		vs, ok := query[q.Name]
		if !ok {
			return false
		}
		if q.Exact != nil && (len(vs) == 0 || vs[0] != *q.Exact) {
			return false
		}
	}
	return true
}

// matches applies one header criterion, Envoy's way: several values of a
// header are joined with "," before matching; a missing header fails every
// value criterion and the presence check, and invert flips the result.
func (h *headerMatcher) matches(r *Request) bool {
	vs, present := r.header(h.Name, h.canonical)
	ok := present
	if present {
		v := strings.Join(vs, ",")
		switch {
		case h.Exact != nil:
			ok = v == *h.Exact
		case h.Prefix != nil:
			ok = strings.HasPrefix(v, *h.Prefix)
		case h.Suffix != nil:
			ok = strings.HasSuffix(v, *h.Suffix)
		case h.regex != nil:
			ok = h.regex.MatchString(v)
		case h.Range != nil:
			n, err := strconv.ParseInt(v, 10, 64)
			ok = err == nil && n >= h.Range.Start && n < h.Range.End
		}
	}
	return ok != h.Invert
}
