package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/service"
	"github.com/meshgate/meshgate/internal/store/sqlite"
)

// FuzzRequest sends arbitrary bodies and query strings to every operation
// and holds the wire contract: never a 500 or a panic, and every error
// carries an App Mesh code and a JSON message.
func FuzzRequest(f *testing.F) {
	seeds := []string{
		`{"meshName":"m"}`,
		`{"virtualGatewayName":"gw","spec":{"listeners":[{"portMapping":{"port":9080,"protocol":"http"}}]}}`,
		`{"gatewayRouteName":"r","spec":{"httpRoute":{"match":{"prefix":"/a"},"action":{"target":{"virtualService":{"virtualServiceName":"s"}}}}}}`,
		`{"spec":{"listeners":[{"portMapping":{"port":"x"}}]}}`,
		`{"virtualNodeName":"n","spec":{"listeners":[{"portMapping":{"port":80,"protocol":"grpc"},"healthCheck":{"protocol":"grpc","healthyThreshold":2,"unhealthyThreshold":2,"intervalMillis":5000,"timeoutMillis":2000}}],"serviceDiscovery":{"dns":{"hostname":"a"}}}}`,
		`{"routeName":"r","spec":{"httpRoute":{"match":{"prefix":"/"},"action":{"weightedTargets":[{"virtualNode":"n","weight":1}]}}}}`,
		`{"tags":[{"key":"a","value":"b"}]}`, `[]`, `null`, `{"a":1}`, `{`, ``,
	}
	for i := range appmesh.Operations {
		for _, s := range seeds {
			f.Add(uint8(i), s, "limit=1&meshOwner=111122223333")
		}
	}
	st, err := sqlite.Open(filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	svc, err := service.New(st, service.Config{Region: "us-west-2", AccountID: "111122223333"})
	if err != nil {
		f.Fatal(err)
	}
	h, err := New(svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, opIndex uint8, body, query string) {
		op := appmesh.Operations[int(opIndex)%len(appmesh.Operations)]
		path := op.URI
		for _, p := range []string{"{meshName}", "{virtualGatewayName}", "{virtualRouterName}", "{gatewayRouteName}",
			"{routeName}", "{virtualNodeName}", "{virtualServiceName}"} {
			path = strings.ReplaceAll(path, p, "m")
		}
		req := httptest.NewRequest(op.Method, "http://x"+path, bytes.NewReader([]byte(body)))
		req.URL.RawQuery = query
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s with %q: status %d: %s", op.Method, path, body, rec.Code, rec.Body)
		}
		if rec.Code != http.StatusOK {
			var e struct{ Message string }
			if rec.Header().Get("x-amzn-ErrorType") == "" || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Message == "" {
				t.Fatalf("%s %s: status %d without an App Mesh error: %v %s", op.Method, path, rec.Code, rec.Header(), rec.Body)
			}
		}
	})
}
