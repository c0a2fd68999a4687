package appmesh

// Stateless rules for VirtualServiceSpec and MeshSpec (reference §12.1, §12.2).
//
// Decisions (one line each, for docs/api-compatibility.md):
//   - VirtualService: nothing beyond the model; the provider is optional and a model union, and whether the provider
//     exists is a service-layer check.
//   - Mesh: nothing beyond the model; egressFilter.type and serviceDiscovery.ipPreference are model enums.

// Check exists so every spec has the same entry point; the model covers it.
func (s *VirtualServiceSpec) Check() error { return nil }

// Check exists so every spec has the same entry point; the model covers it.
func (s *MeshSpec) Check() error { return nil }
