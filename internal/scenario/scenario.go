// Package scenario holds the App Mesh behaviour scenarios (reference §11
// S1–S9 and one per match and rewrite feature) as data: the resources to
// create through the API and a table of requests with what the upstream
// must see. The same scenarios drive the model → IR and IR → Envoy golden
// tests, the Envoy route-table evaluator and the live gateway tests, so
// every data plane is held to one table.
package scenario

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"sort"
)

//go:embed scenarios/*.json
var files embed.FS

// Scenario is one set of resources and the requests to check against it.
type Scenario struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Mesh        string     `json:"mesh"`
	Gateway     string     `json:"gateway"` // the virtual gateway under test
	Resources   []Resource `json:"resources"`
	Cases       []Case     `json:"cases"`
}

// Resource is one API create, in dependency order.
type Resource struct {
	Kind   string          `json:"kind"` // mesh, virtualNode, virtualRouter, route, virtualService, virtualGateway, gatewayRoute
	Name   string          `json:"name"`
	Parent string          `json:"parent,omitempty"` // router of a route, gateway of a gateway route
	Spec   json.RawMessage `json:"spec,omitempty"`
}

// Case is a request to the gateway and what must happen to it.
type Case struct {
	Name    string  `json:"name"`
	Request Request `json:"request"`
	Expect  Expect  `json:"expect"`
}

// Request is what a client sends to the gateway.
type Request struct {
	Port    uint32            `json:"port"`
	Method  string            `json:"method,omitempty"` // default GET
	Path    string            `json:"path"`             // with the query string
	Host    string            `json:"host,omitempty"`   // default "gateway.example"
	Headers map[string]string `json:"headers,omitempty"`
	GRPC    bool              `json:"grpc,omitempty"` // a gRPC call: Path is /service/method
}

// Expect is the outcome. With Status 200 the request reaches an upstream:
// one of Nodes (virtual node names) on NodePort, with Path (and query) and
// Host as the upstream receives them. Any other status is the gateway's own
// answer (404: no route; 503: no upstream). For gRPC, GRPCStatus is the
// status the client sees when the gateway answers itself (12: no route).
type Expect struct {
	Status     int      `json:"status"`
	Nodes      []string `json:"nodes,omitempty"`
	NodePort   uint32   `json:"nodePort,omitempty"`
	Path       string   `json:"path,omitempty"`
	Host       string   `json:"host,omitempty"`
	GRPCStatus int      `json:"grpcStatus,omitempty"`
}

// All returns every scenario, ordered by name.
func All() ([]Scenario, error) {
	names, err := files.ReadDir("scenarios")
	if err != nil {
		return nil, err
	}
	var out []Scenario
	for _, n := range names {
		b, err := files.ReadFile(path.Join("scenarios", n.Name()))
		if err != nil {
			return nil, err
		}
		var s Scenario
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("scenario %s: %w", n.Name(), err)
		}
		if s.Name+".json" != n.Name() {
			return nil, fmt.Errorf("scenario %s is named %q", n.Name(), s.Name)
		}
		for i := range s.Cases {
			c := &s.Cases[i]
			if c.Request.Method == "" {
				c.Request.Method = "GET"
			}
			if c.Request.Host == "" {
				c.Request.Host = "gateway.example"
			}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Apply creates the scenario's resources through the App Mesh API at
// endpoint (http://host:port), stopping at the first refusal.
func (s Scenario) Apply(ctx context.Context, c *http.Client, endpoint string) error {
	for _, r := range s.Resources {
		uri, body, err := r.request(s.Mesh)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, endpoint+uri, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return fmt.Errorf("scenario %s: create %s %s: %w", s.Name, r.Kind, r.Name, err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("scenario %s: create %s %s: %d %s: %s", s.Name, r.Kind, r.Name,
				resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), msg)
		}
	}
	return nil
}

// request is the URI and body of the create call for r.
func (r Resource) request(mesh string) (string, []byte, error) {
	m := url.PathEscape(mesh)
	var uri string
	switch r.Kind {
	case "mesh":
		uri = "/v20190125/meshes"
	case "virtualNode", "virtualRouter", "virtualService", "virtualGateway":
		uri = "/v20190125/meshes/" + m + "/" + r.Kind + "s"
	case "route":
		uri = "/v20190125/meshes/" + m + "/virtualRouter/" + url.PathEscape(r.Parent) + "/routes"
	case "gatewayRoute":
		uri = "/v20190125/meshes/" + m + "/virtualGateway/" + url.PathEscape(r.Parent) + "/gatewayRoutes"
	default:
		return "", nil, fmt.Errorf("unknown resource kind %q", r.Kind)
	}
	body := map[string]any{r.Kind + "Name": r.Name}
	if len(r.Spec) > 0 {
		body["spec"] = r.Spec
	}
	b, err := json.Marshal(body)
	return uri, b, err
}

// Key is "mesh/M/virtualGateway/G" for the gateway under test.
func (s Scenario) Key() string { return "mesh/" + s.Mesh + "/virtualGateway/" + s.Gateway }
