package router

import (
	"bytes"
	"slices"
	"strings"
)

// routeIndex finds the gateway routes of a virtual host that can match a
// path without looking at the others, so that routing costs about the
// same with 20 routes or 10,000 (a virtual host of up to linearMax routes
// is scanned instead: cheaper for a few). A route whose match names an exact path
// can only match that path; one with a prefix only paths that start with
// it; the rest (a path regex, or no path criterion) are candidates for
// every path, unless the regex has a literal prefix, under which it
// is indexed like a prefix. The candidates are then tried with their full
// matchers in the routes' priority order — the order of the virtual host's routes —
// so the first route that matches is the one a linear scan would pick.
type routeIndex struct {
	exact    map[string][]int32 // exact path → routes, ascending
	building *trieNode          // the prefixes while routes are added
	prefixes prefixTree         // literal prefix → routes, ascending; after freeze
	rest     []int32            // routes without an indexable criterion, ascending
}

// trieNode is a node of a radix tree of path prefixes: label is the edge
// from its parent, routes those whose prefix ends here.
type trieNode struct {
	label    string
	routes   []int32
	first    string // first byte of each child's label; a string is 8 bytes less than a slice
	children []*trieNode
}

// add indexes route i (routes must be added in ascending order).
func (x *routeIndex) add(i int32, m *matcher) {
	switch {
	case m.path != "":
		if x.exact == nil {
			x.exact = map[string][]int32{}
		}
		x.exact[m.path] = append(x.exact[m.path], i)
	case m.prefix != "":
		x.insert(m.prefix, i)
	case m.more != nil && m.more.regex != nil && regexPrefix(m) != "":
		x.insert(regexPrefix(m), i)
	default:
		x.rest = append(x.rest, i)
	}
}

// regexPrefix is the literal text every path the route's regex matches
// starts with: the regex is anchored at both ends, and LiteralPrefix is
// "a literal string that must begin any match" ("" when there is none,
// as with a leading group or alternation). "/api/v[0-9]+/.*" is indexed
// under "/api/v"; "(?i)/Api/.*" under "/" only.
func regexPrefix(m *matcher) string {
	p, _ := m.more.regex.LiteralPrefix()
	return p
}

func (x *routeIndex) insert(prefix string, i int32) {
	if x.building == nil {
		x.building = &trieNode{}
	}
	x.building.insert(prefix, i)
}

// freeze ends the adding: the radix tree becomes the prefixTree that
// lookups read.
func (x *routeIndex) freeze() {
	if x.building != nil {
		x.prefixes = freezeTree(x.building)
		x.building = nil
	}
}

// prefixTree is the radix tree once built, in four arrays: the nodes
// (each node's children side by side), their labels back to back, the
// first byte of each node's label, and the nodes' routes back to back. A
// table of 10,000 prefixes is then four objects instead of a node, a
// child slice and a route slice for each prefix: about 24 bytes a node
// rather than over 100, and no pointer for the garbage collector to
// follow.
type prefixTree struct {
	nodes  []prefixNode // nodes[0] is the root
	labels string
	firsts []byte // firsts[i] is nodes[i]'s label's first byte (the root's is 0)
	routes []int32
}

type prefixNode struct {
	label         span   // in labels
	child, nChild uint32 // its children: nodes[child : child+nChild]
	route, nRoute uint32 // its routes: routes[route : route+nRoute]
}

// freezeTree lays root's tree out breadth first, so that each node's
// children are consecutive.
func freezeTree(root *trieNode) prefixTree {
	var t prefixTree
	var labels strings.Builder
	queue := []*trieNode{root} // queue[i] becomes nodes[i]
	for i := 0; i < len(queue); i++ {
		n := queue[i]
		t.nodes = append(t.nodes, prefixNode{label: span{off: uint32(labels.Len()), n: uint32(len(n.label))},
			child: uint32(len(queue)), nChild: uint32(len(n.children)),
			route: uint32(len(t.routes)), nRoute: uint32(len(n.routes))})
		labels.WriteString(n.label)
		if i == 0 {
			t.firsts = append(t.firsts, 0)
		} else {
			t.firsts = append(t.firsts, n.label[0])
		}
		t.routes = append(t.routes, n.routes...)
		queue = append(queue, n.children...)
	}
	// Copies without the room appending left: the table keeps them.
	t.nodes, t.firsts, t.routes = slices.Clone(t.nodes), slices.Clone(t.firsts), slices.Clone(t.routes)
	t.labels = strings.Clone(labels.String())
	return t
}

// child is the index of node i's child whose label starts with c.
func (t *prefixTree) child(i uint32, c byte) (uint32, bool) {
	n := &t.nodes[i]
	f := t.firsts[n.child:][:n.nChild]
	if len(f) > 16 {
		if j := bytes.IndexByte(f, c); j >= 0 {
			return n.child + uint32(j), true
		}
		return 0, false
	}
	for j := range f { // a few children: cheaper than a call
		if f[j] == c {
			return n.child + uint32(j), true
		}
	}
	return 0, false
}

func (n *trieNode) child(c byte) *trieNode {
	if len(n.first) > 16 {
		if i := strings.IndexByte(n.first, c); i >= 0 {
			return n.children[i]
		}
		return nil
	}
	for i := range len(n.first) { // a few children: cheaper than a call
		if n.first[i] == c {
			return n.children[i]
		}
	}
	return nil
}

func (n *trieNode) insert(key string, i int32) {
	for key != "" {
		c := n.child(key[0])
		if c == nil {
			n.first += key[:1]
			n.children = append(n.children, &trieNode{label: key, routes: []int32{i}})
			return
		}
		l := commonPrefixLen(c.label, key)
		if l < len(c.label) {
			// Split c's edge where key leaves it.
			tail := &trieNode{label: c.label[l:], routes: c.routes, first: c.first, children: c.children}
			c.label, c.routes = c.label[:l], nil
			c.first, c.children = tail.label[:1], []*trieNode{tail}
		}
		n, key = c, key[l:]
	}
	n.routes = append(n.routes, i)
}

func commonPrefixLen(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// maxInlineLists is how many candidate lists a lookup keeps on the stack;
// a path that meets more prefix nodes with routes spills to the heap.
const maxInlineLists = 8

// candidates calls try with the candidate routes for path in ascending
// order until try returns true.
func (x *routeIndex) candidates(path string, try func(i int32) bool) {
	var inline [maxInlineLists][]int32
	lists := inline[:0]
	if l := x.exact[path]; len(l) > 0 {
		lists = append(lists, l)
	}
	if len(x.rest) > 0 {
		lists = append(lists, x.rest)
	}
	t := &x.prefixes
	for n, key := uint32(0), path; key != "" && len(t.nodes) > 0; {
		c, ok := t.child(n, key[0])
		if !ok {
			break
		}
		cn := &t.nodes[c]
		if !strings.HasPrefix(key, t.labels[cn.label.off:cn.label.off+cn.label.n]) {
			break
		}
		if cn.nRoute > 0 {
			lists = append(lists, t.routes[cn.route:cn.route+cn.nRoute])
		}
		n, key = c, key[cn.label.n:]
	}
	// Merge the ascending lists (a few, usually one or two).
	for {
		best := -1
		for j, l := range lists {
			if len(l) > 0 && (best < 0 || l[0] < lists[best][0]) {
				best = j
			}
		}
		if best < 0 {
			return
		}
		i := lists[best][0]
		lists[best] = lists[best][1:]
		if try(i) {
			return
		}
	}
}
