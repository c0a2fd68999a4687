package api

import (
	"net/url"
	"strings"

	"github.com/meshgate/meshgate/internal/appmesh"
)

// route is one operation's URI template split into segments; a segment
// in braces binds a URI member.
type route struct {
	op       *appmesh.Operation
	segments []string
}

// router finds the operation for a method and path. App Mesh's URIs have at
// most seven segments and there are 38 operations, so a linear scan over
// precomputed segments is fast and obviously right.
type router struct{ routes []route }

func newRouter(ops []appmesh.Operation) *router {
	r := &router{}
	for i := range ops {
		r.routes = append(r.routes, route{op: &ops[i], segments: strings.Split(strings.Trim(ops[i].URI, "/"), "/")})
	}
	return r
}

// match returns the operation and its URI members. methodOK is false when
// the path names an operation but not with this method.
func (r *router) match(method, escapedPath string) (op *appmesh.Operation, params map[string]string, pathOK bool, err error) {
	raw := strings.Split(strings.Trim(escapedPath, "/"), "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		if segs[i], err = url.PathUnescape(s); err != nil {
			return nil, nil, false, appmesh.BadRequest("the request path has a bad escape: %v", err)
		}
	}
	for _, rt := range r.routes {
		p, ok := rt.bind(segs)
		if !ok {
			continue
		}
		pathOK = true
		if rt.op.Method == method {
			return rt.op, p, true, nil
		}
	}
	return nil, nil, pathOK, nil
}

func (rt route) bind(segs []string) (map[string]string, bool) {
	if len(segs) != len(rt.segments) {
		return nil, false
	}
	var p map[string]string
	for i, s := range rt.segments {
		if strings.HasPrefix(s, "{") {
			if p == nil {
				p = make(map[string]string, 3)
			}
			p[s[1:len(s)-1]] = segs[i]
			continue
		}
		if s != segs[i] {
			return nil, false
		}
	}
	return p, true
}
