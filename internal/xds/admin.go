package xds

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/protobuf/encoding/protojson"
)

// AdminHandler serves the control plane's admin endpoints:
//
//	/ready                 200 once the first sync is done, 503 before
//	/metrics               the Prometheus registry
//	/debug/xds             connected proxies and gateway versions (JSON)
//	/debug/xds/config      ?resource=mesh/M/virtualGateway/G&format=ir|envoy
//
// It exposes every gateway's configuration: bind it to loopback (the
// default) or a trusted network.
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", s.serveReady)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /debug/xds", s.serveDebug)
	mux.HandleFunc("GET /debug/xds/config", s.serveConfig)
	return mux
}

func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	select {
	case <-s.Ready():
		fmt.Fprintln(w, "ready")
	default:
		http.Error(w, "not ready: the first sync with the store has not finished", http.StatusServiceUnavailable)
	}
}

// Debug is the /debug/xds document.
type Debug struct {
	Proxies  []ProxyInfo   `json:"proxies"`
	Gateways []GatewayInfo `json:"gateways"`
}

// GatewayInfo is one gateway's sync state.
type GatewayInfo struct {
	Resource  string            `json:"resource"`
	IRVersion string            `json:"irVersion,omitempty"`
	Versions  map[string]string `json:"versions"` // in the cache now, by type URL
	// Rollout is the make-before-break step waiting for ACKs, if any, and
	// how many steps follow it.
	Rollout        string    `json:"rollout,omitempty"`
	RolloutPending int       `json:"rolloutPending,omitempty"`
	Proxies        int       `json:"proxies"`
	UpdatedAt      time.Time `json:"updatedAt,omitzero"`
	Error          string    `json:"error,omitempty"`
	ErrorAt        time.Time `json:"errorAt,omitzero"`
}

// DebugState returns what /debug/xds shows.
func (s *Server) DebugState() Debug {
	d := Debug{Proxies: s.tracker.proxiesInfo(), Gateways: []GatewayInfo{}}
	slices.SortFunc(d.Proxies, func(a, b ProxyInfo) int {
		return cmp.Or(cmp.Compare(a.Gateway, b.Gateway), cmp.Compare(a.NodeID, b.NodeID), a.ConnectedSince.Compare(b.ConnectedSince))
	})
	views := *s.sync.view.Load()
	for _, name := range slices.Sorted(maps.Keys(views)) {
		gv := views[name]
		versions := gv.published
		if versions == nil {
			versions = map[string]string{}
		}
		d.Gateways = append(d.Gateways, GatewayInfo{Resource: name, IRVersion: gv.irVersion,
			Versions: versions, Rollout: gv.step, RolloutPending: gv.pending,
			Proxies: s.tracker.count(name), UpdatedAt: gv.updatedAt, Error: gv.err, ErrorAt: gv.errAt})
	}
	return d
}

func (s *Server) serveDebug(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.DebugState())
}

func (s *Server) serveConfig(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("resource")
	if name == "" {
		http.Error(w, "resource=mesh/M/virtualGateway/G is required", http.StatusBadRequest)
		return
	}
	key, err := s.id.gatewayOf(name)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	gv, ok := s.sync.gateway(key.String())
	if !ok {
		http.Error(w, fmt.Sprintf("virtual gateway %s is not known to the xDS server", key), http.StatusNotFound)
		return
	}
	switch format := cmp.Or(r.URL.Query().Get("format"), "ir"); format {
	case "ir":
		if gv.ir == nil {
			http.Error(w, "no IR for "+key.String()+": "+gv.err, http.StatusConflict)
			return
		}
		writeJSON(w, gv.ir)
	case "envoy":
		if gv.target == nil {
			http.Error(w, "no Envoy config for "+key.String()+": "+gv.err, http.StatusConflict)
			return
		}
		doc, err := envoyJSON(gv.target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, doc)
	default:
		http.Error(w, fmt.Sprintf("format %q: want ir or envoy", format), http.StatusBadRequest)
	}
}

// envoyJSON renders Envoy content as protojson, by type, in name order.
func envoyJSON(c *content) (map[string]any, error) {
	keys := map[string]string{resource.ListenerType: "listeners", resource.RouteType: "routes",
		resource.ClusterType: "clusters", resource.EndpointType: "endpoints", resource.SecretType: "secrets"}
	out := map[string]any{"versions": c.versions}
	for _, t := range envoyTypes {
		list := []json.RawMessage{}
		for _, name := range slices.Sorted(maps.Keys(c.items[t])) {
			if t == resource.SecretType {
				// Secrets may hold private keys: names only.
				b, _ := json.Marshal(map[string]any{"name": name, "redacted": true})
				list = append(list, b)
				continue
			}
			b, err := protojson.Marshal(c.items[t][name])
			if err != nil {
				return nil, fmt.Errorf("%s %q: %w", typeName(t), name, err)
			}
			list = append(list, b)
		}
		out[keys[t]] = list
	}
	return out, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}
