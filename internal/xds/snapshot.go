package xds

import (
	"sync"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/meshgate/meshgate/internal/xds/gwconfig"
)

// snapshot is what the cache holds for one gateway: its Envoy content
// (possibly an intermediate make-before-break step) and its GatewayConfig.
// It implements cache.ResourceSnapshot itself because go-control-plane's
// Snapshot only knows Envoy's types; keeping the GatewayConfig in the same
// per-gateway snapshot gives it the same identity scoping (a proxy only
// ever sees its own gateway) and content-hash versions as the Envoy types.
type snapshot struct {
	envoy *content // nil until the gateway's Envoy translation first succeeds

	config        types.Resource // nil until the IR first translates
	configName    string
	configVersion string // the IR version

	once       sync.Once
	versionMap map[string]map[string]string
	mapErr     error
}

var _ cache.ResourceSnapshot = (*snapshot)(nil)

// GetVersion returns a type's version, or "" when the snapshot has none of
// that type (the cache then answers nothing and the watch waits).
func (s *snapshot) GetVersion(typeURL string) string {
	if typeURL == gwconfig.Type {
		return s.configVersion
	}
	if s.envoy == nil {
		return ""
	}
	return s.envoy.versions[typeURL]
}

func (s *snapshot) GetResources(typeURL string) map[string]types.Resource {
	if typeURL == gwconfig.Type {
		if s.config == nil {
			return nil
		}
		return map[string]types.Resource{s.configName: s.config}
	}
	if s.envoy == nil {
		return nil
	}
	return s.envoy.items[typeURL]
}

func (s *snapshot) GetResourcesAndTTL(typeURL string) map[string]types.ResourceWithTTL {
	items := s.GetResources(typeURL)
	if items == nil {
		return nil
	}
	out := make(map[string]types.ResourceWithTTL, len(items))
	for n, r := range items {
		out[n] = types.ResourceWithTTL{Resource: r}
	}
	return out
}

// ConstructVersionMap computes per-resource versions for delta xDS. The
// cache calls it under its own lock, but a snapshot may be shared by
// several caches' views, hence the Once.
func (s *snapshot) ConstructVersionMap() error {
	s.once.Do(func() {
		s.versionMap = map[string]map[string]string{}
		all := append([]string{gwconfig.Type}, envoyTypes...)
		for _, t := range all {
			m := map[string]string{}
			for name, r := range s.GetResources(t) {
				b, err := cache.MarshalResource(r)
				if err != nil {
					s.mapErr = err
					return
				}
				m[name] = cache.HashResource(b)
			}
			s.versionMap[t] = m
		}
	})
	return s.mapErr
}

func (s *snapshot) GetVersionMap(typeURL string) map[string]string {
	return s.versionMap[typeURL]
}

// versions returns every type's version, for inspection.
func (s *snapshot) versions() map[string]string {
	out := map[string]string{}
	if s.configVersion != "" {
		out[gwconfig.Type] = s.configVersion
	}
	if s.envoy != nil {
		for t, v := range s.envoy.versions {
			out[t] = v
		}
	}
	return out
}
