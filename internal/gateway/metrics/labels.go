package metrics

import "strings"

// Other is the label value shared by the names past a kind's cap.
const Other = "__other__"

// labelSet maps configured names to handles, at most limit of them with
// their own series. Callers hold Metrics.mu.
type labelSet[H any] struct {
	kind     string
	limit    int
	handles  map[string]*H
	overflow map[string]struct{} // names folded into other
	other    *H
	create   func(label string) *H
	remove   func(label string, h *H)
}

func newLabelSet[H any](kind string, limit int, create func(string) *H, remove func(string, *H)) *labelSet[H] {
	return &labelSet[H]{
		kind:     kind,
		limit:    limit,
		handles:  map[string]*H{},
		overflow: map[string]struct{}{},
		create:   create,
		remove:   remove,
	}
}

// get returns name's handle, creating its series while under the cap.
func (s *labelSet[H]) get(name string) *H {
	if h, ok := s.handles[name]; ok {
		return h
	}
	// The set outlives configurations: a name that is a substring of one's
	// memory (the router's) must not keep all of that.
	name = strings.Clone(name)
	if len(s.handles) < s.limit {
		h := s.create(name)
		s.handles[name] = h
		delete(s.overflow, name)
		s.dropOtherIfUnused()
		return h
	}
	s.overflow[name] = struct{}{}
	if s.other == nil {
		s.other = s.create(Other)
	}
	return s.other
}

// lookup returns name's handle without creating one.
func (s *labelSet[H]) lookup(name string) *H {
	if h, ok := s.handles[name]; ok {
		return h
	}
	if _, ok := s.overflow[name]; ok {
		return s.other
	}
	return nil
}

// prune deletes the series of names not in keep, and the Other series
// once no name overflows.
func (s *labelSet[H]) prune(keep map[string]bool) {
	before := len(s.handles) + len(s.overflow)
	for name, h := range s.handles {
		if !keep[name] {
			s.remove(name, h)
			delete(s.handles, name)
		}
	}
	for name := range s.overflow {
		if !keep[name] {
			delete(s.overflow, name)
		}
	}
	if after := len(s.handles) + len(s.overflow); after < before/2 {
		// A map does not shrink: one that held a large configuration's
		// names would keep their room after it is scaled down.
		s.handles, s.overflow = resized(s.handles), resized(s.overflow)
	}
	s.dropOtherIfUnused()
}

// resized is a copy of m in a map of its size (maps.Clone keeps m's room).
func resized[K comparable, V any](m map[K]V) map[K]V {
	c := make(map[K]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// dropOtherIfUnused deletes the Other series once no name overflows.
func (s *labelSet[H]) dropOtherIfUnused() {
	if len(s.overflow) == 0 && s.other != nil {
		if _, own := s.handles[Other]; !own { // a name that happens to be Other keeps its series
			s.remove(Other, s.other)
		}
		s.other = nil
	}
}

// label makes a configured name safe as a Prometheus label value, which
// must be valid UTF-8 (the client panics otherwise).
func label(name string) string {
	return strings.ToValidUTF8(name, "\uFFFD")
}
