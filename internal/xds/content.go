package xds

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"
)

// envoyTypes are the Envoy type URLs a gateway snapshot carries, in the
// order ADS sends them (go-control-plane's response order).
var envoyTypes = []string{resource.ClusterType, resource.EndpointType, resource.ListenerType, resource.RouteType, resource.SecretType}

// content is one gateway's Envoy resources by type URL and name, with each
// type's version: a hash of the type's resources, so equal content has
// equal versions on every replica and across restarts.
type content struct {
	items    map[string]map[string]types.Resource
	versions map[string]string
}

// newContent indexes r and versions it. Two resources of one type with the
// same name are a translation bug and an error.
func newContent(r *EnvoyResources) (*content, error) {
	c := &content{items: map[string]map[string]types.Resource{}, versions: map[string]string{}}
	lists := map[string][]types.Resource{
		resource.ClusterType: r.Clusters, resource.EndpointType: r.Endpoints, resource.ListenerType: r.Listeners,
		resource.RouteType: r.Routes, resource.SecretType: r.Secrets,
	}
	for _, t := range envoyTypes {
		byName := make(map[string]types.Resource, len(lists[t]))
		for _, res := range lists[t] {
			if res == nil {
				return nil, fmt.Errorf("%s: nil resource", typeName(t))
			}
			name := cache.GetResourceName(res)
			if name == "" {
				return nil, fmt.Errorf("%s: a resource has no name", typeName(t))
			}
			if _, dup := byName[name]; dup {
				return nil, fmt.Errorf("%s: two resources named %q", typeName(t), name)
			}
			byName[name] = res
		}
		c.items[t] = byName
	}
	return c, c.version()
}

// version computes every type's content hash.
func (c *content) version() error {
	for _, t := range envoyTypes {
		v, err := hashResources(c.items[t])
		if err != nil {
			return fmt.Errorf("%s: %w", typeName(t), err)
		}
		c.versions[t] = v
	}
	return nil
}

// hashResources is sha256 over the resources in name order, each as its
// name and deterministic proto encoding. Never empty: an empty type still
// has a version, so a proxy's first (empty) request is answered.
func hashResources(items map[string]types.Resource) (string, error) {
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(items)) {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(items[name])
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintf(h, "%d:%s%d:", len(name), name, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:12]), nil
}

// equal reports whether c and o have the same versions for every type.
func (c *content) equal(o *content) bool {
	return c != nil && o != nil && maps.Equal(c.versions, o.versions)
}

// names returns the names of one type's resources.
func (c *content) names(typeURL string) map[string]bool {
	out := map[string]bool{}
	for n := range c.items[typeURL] {
		out[n] = true
	}
	return out
}

// mix returns content with the given types taken from from and all others
// from c; types in union get both c's and from's resources (from's win on
// a name they share). A type taken whole keeps its version: only a union
// is hashed again (hashing 10,000 routes takes 15 ms).
func (c *content) mix(from *content, take, union []string) (*content, error) {
	out := &content{items: map[string]map[string]types.Resource{}, versions: map[string]string{}}
	for _, t := range envoyTypes {
		switch {
		case slices.Contains(union, t):
			m := maps.Clone(c.items[t])
			maps.Copy(m, from.items[t])
			v, err := hashResources(m)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", typeName(t), err)
			}
			out.items[t], out.versions[t] = m, v
		case slices.Contains(take, t):
			out.items[t], out.versions[t] = from.items[t], from.versions[t]
		default:
			out.items[t], out.versions[t] = c.items[t], c.versions[t]
		}
	}
	return out, nil
}

// typeName is the last part of a type URL ("Cluster"), used in metrics
// labels and logs.
func typeName(typeURL string) string {
	for i := len(typeURL) - 1; i >= 0; i-- {
		if typeURL[i] == '.' || typeURL[i] == '/' {
			return typeURL[i+1:]
		}
	}
	return typeURL
}
