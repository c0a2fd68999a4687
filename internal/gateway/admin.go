package gateway

import (
	"encoding/json"
	"net/http"
)

// AdminHandler serves the gateway's admin endpoints, named as Envoy's so
// probes written for the App Mesh image keep working:
//
//	/ready          200 "LIVE" when configured with every listener bound, else 503
//	/server_info    {"state": "LIVE" | "PRE_INITIALIZING" | "DRAINING", ...}
//	/config_dump    the applied configuration (IR) and its version
//	/stats/prometheus  metrics (the handler given)
func (g *Gateway) AdminHandler(info map[string]string, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, r *http.Request) {
		state := g.serverState()
		if state != "LIVE" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		w.Write([]byte(state + "\n"))
	})
	mux.HandleFunc("GET /server_info", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]any{"state": g.serverState(), "config_version": g.Version()}
		for k, v := range info {
			out[k] = v
		}
		writeAdminJSON(w, out)
	})
	mux.HandleFunc("GET /config_dump", func(w http.ResponseWriter, r *http.Request) {
		writeAdminJSON(w, map[string]any{"version": g.Version(), "config": g.Config()})
	})
	if metrics != nil {
		mux.Handle("GET /stats/prometheus", metrics)
	}
	return mux
}

func (g *Gateway) serverState() string {
	switch {
	case g.draining.Load():
		return "DRAINING"
	case g.Ready():
		return "LIVE"
	default:
		return "PRE_INITIALIZING"
	}
}

func writeAdminJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
