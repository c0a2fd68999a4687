package api_test

// API input limits (S23 of the security test plan; docs/security.md,
// "Edge hardening"): oversized and deeply nested JSON, very long names,
// huge and too complex regular expressions, out-of-range page sizes and
// slow clients are refused cheaply, with App Mesh-style errors, and never
// reach the store.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"

	"github.com/meshgate/meshgate/internal/api"
	"github.com/meshgate/meshgate/internal/service"
	"github.com/meshgate/meshgate/internal/store/sqlite"
)

// apiResult is the status, x-amzn-ErrorType and error message of a call.
type apiResult struct {
	status           int
	errType, message string
}

// call sends a raw request to the API server.
func call(t *testing.T, base, method, path, body string) apiResult {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Message string `json:"message"`
	}
	json.Unmarshal(b, &e)
	return apiResult{resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), e.Message}
}

func wantBadRequest(t *testing.T, r apiResult, wantStatus int, fragments ...string) {
	t.Helper()
	status, errType, message := r.status, r.errType, r.message
	if status != wantStatus || errType != "BadRequestException" {
		t.Errorf("got %d %s %q, want %d BadRequestException", status, errType, message, wantStatus)
	}
	for _, f := range fragments {
		if !strings.Contains(message, f) {
			t.Errorf("message %q does not mention %q", message, f)
		}
	}
	if len(message) > 2000 {
		t.Errorf("the error message is %d bytes: it must not echo the oversized input", len(message))
	}
}

// TestAPIInputLimits (S23).
func TestAPIInputLimits(t *testing.T) {
	s := startServer(t)
	ctx := ctx(t)
	if _, err := s.client.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: aws.String("m")}); err != nil {
		t.Fatal(err)
	}

	t.Run("body-over-1MiB", func(t *testing.T) {
		body := `{"meshName":"x","spec":{},"tags":[` + strings.Repeat(`{"key":"k","value":"v"},`, 60000) + `{"key":"k","value":"v"}]}`
		if len(body) <= api.MaxBodyBytes {
			t.Fatalf("body of %d bytes is not over the limit", len(body))
		}
		wantBadRequest(t, call(t, s.url, "PUT", "/v20190125/meshes", body), http.StatusRequestEntityTooLarge, "larger than")
	})
	t.Run("body-over-1MiB-chunked", func(t *testing.T) {
		// No Content-Length: the cap applies while reading.
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte(`{"meshName":"`))
			chunk := []byte(strings.Repeat("a", 64<<10))
			for range 40 {
				if _, err := pw.Write(chunk); err != nil {
					return
				}
			}
			pw.Write([]byte(`"}`))
			pw.Close()
		}()
		req, _ := http.NewRequest("PUT", s.url+"/v20190125/meshes", pr)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		pr.CloseWithError(io.ErrClosedPipe)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked 2.5 MiB body: %d, want 413", resp.StatusCode)
		}
	})
	t.Run("deep-nesting", func(t *testing.T) {
		for _, body := range []string{
			strings.Repeat("[", 100000),
			`{"meshName":"n","spec":` + strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000) + "}",
			`{"meshName":"n","tags":` + strings.Repeat("[", 500000) + strings.Repeat("]", 500000) + "}",
		} {
			wantBadRequest(t, call(t, s.url, "PUT", "/v20190125/meshes", body), http.StatusBadRequest)
		}
	})
	t.Run("names-10k", func(t *testing.T) {
		long := strings.Repeat("n", 10000)
		wantBadRequest(t, call(t, s.url, "PUT", "/v20190125/meshes", `{"meshName":"`+long+`"}`),
			http.StatusBadRequest, "meshName")
		wantBadRequest(t, call(t, s.url, "PUT", "/v20190125/meshes/m/virtualNodes",
			`{"virtualNodeName":"`+long+`","spec":{}}`), http.StatusBadRequest, "virtualNodeName")
		// In the URI too.
		wantBadRequest(t, call(t, s.url, "GET", "/v20190125/meshes/"+long, ""), http.StatusBadRequest, "meshName")
		// A tag value over its limit.
		wantBadRequest(t, call(t, s.url, "PUT", "/v20190125/meshes",
			`{"meshName":"t","tags":[{"key":"k","value":"`+long+`"}]}`), http.StatusBadRequest, "value")
	})
	t.Run("regex-100KB", func(t *testing.T) {
		huge := strings.Repeat("a", 100<<10)
		for _, spec := range []string{
			`{"httpRoute":{"match":{"path":{"regex":"` + huge + `"}},"action":{"target":{"virtualService":{"virtualServiceName":"vs"}}}}}`,
			`{"httpRoute":{"match":{"prefix":"/","headers":[{"name":"x","match":{"regex":"` + huge + `"}}]},"action":{"target":{"virtualService":{"virtualServiceName":"vs"}}}}}`,
		} {
			start := time.Now()
			wantBadRequest(t, call(t, s.url, "PUT", "/v20190125/meshes/m/virtualGateway/gw/gatewayRoutes",
				`{"gatewayRouteName":"r","spec":`+spec+`}`), http.StatusBadRequest, "regex")
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("refusing a 100 KB regex took %v", d)
			}
		}
	})
	t.Run("regex-too-complex", func(t *testing.T) {
		// Short, but compiles to far more than 1000 RE2 instructions; and
		// nested repeats RE2 itself refuses.
		wantBadRequest(t, call(t, s.url, "PUT", "/v20190125/meshes/m/virtualGateway/gw/gatewayRoutes",
			`{"gatewayRouteName":"r","spec":{"httpRoute":{"match":{"path":{"regex":"[a-z]{1,999}"}},`+
				`"action":{"target":{"virtualService":{"virtualServiceName":"vs"}}}}}}`), http.StatusBadRequest, "too complex")
		wantBadRequest(t, call(t, s.url, "PUT", "/v20190125/meshes/m/virtualGateway/gw/gatewayRoutes",
			`{"gatewayRouteName":"r","spec":{"httpRoute":{"match":{"path":{"regex":"((((a{1,1000}){1,1000}){1,1000}){1,1000})"}},`+
				`"action":{"target":{"virtualService":{"virtualServiceName":"vs"}}}}}}`), http.StatusBadRequest, "regex")
	})
	t.Run("limit", func(t *testing.T) {
		for _, q := range []string{"limit=1000000", "limit=101", "limit=0", "limit=-1", "limit=99999999999999999999", "limit=abc"} {
			wantBadRequest(t, call(t, s.url, "GET", "/v20190125/meshes?"+q, ""), http.StatusBadRequest, "limit")
		}
		if r := call(t, s.url, "GET", "/v20190125/meshes?limit=100", ""); r.status != http.StatusOK {
			t.Errorf("limit=100: %d %s", r.status, r.message)
		}
	})
	t.Run("next-token-garbage", func(t *testing.T) {
		wantBadRequest(t, call(t, s.url, "GET", "/v20190125/meshes?nextToken="+strings.Repeat("A", 5000), ""), http.StatusBadRequest)
	})

	// Nothing of the above was stored.
	out, err := s.client.ListMeshes(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Meshes) != 1 {
		t.Errorf("meshes after the refused requests: %d, want 1", len(out.Meshes))
	}
}

// TestAPISlowClients: the API's http.Server closes a client that sends
// its headers a byte at a time once ReadHeaderTimeout passes (meshgate
// server sets 10 s, see cmd/meshgate httpServer; 300 ms here), refuses a
// header block over MaxHeaderBytes with 431, and keeps serving others.
func TestAPISlowClients(t *testing.T) {
	const timeout = 300 * time.Millisecond
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "meshgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logger := slog.New(slog.DiscardHandler)
	svc, err := service.New(st, service.Config{Region: testRegion, AccountID: testAccount, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(svc, logger)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// As cmd/meshgate's httpServer, with a short header timeout.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: timeout, ReadTimeout: 60 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	const slow = 10
	done := make(chan time.Duration, slow)
	for range slow {
		go func() {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				done <- -1
				return
			}
			defer c.Close()
			start := time.Now()
			c.Write([]byte("GET /v20190125/meshes HTTP/1.1\r\nHost: api\r\n"))
			for i := 0; time.Since(start) < 10*time.Second; i++ {
				time.Sleep(30 * time.Millisecond)
				if _, err := c.Write([]byte{"X-Slow: abc\r\n"[i%13]}); err != nil {
					done <- time.Since(start)
					return
				}
				c.SetReadDeadline(time.Now().Add(time.Millisecond))
				var b [1]byte
				if _, err := c.Read(b[:]); err != nil {
					if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
						done <- time.Since(start)
						return
					}
				}
			}
			done <- -1
		}()
	}
	for range 3 {
		if r := call(t, "http://"+addr, "GET", "/v20190125/meshes", ""); r.status != http.StatusOK {
			t.Errorf("a normal client: %d %s", r.status, r.message)
		}
	}
	for range slow {
		if d := <-done; d < timeout-50*time.Millisecond || d > timeout+3*time.Second {
			t.Errorf("slow client closed after %v, want about %v", d, timeout)
		}
	}

	// A header block over 64 KiB.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /v20190125/meshes HTTP/1.1\r\nHost: api\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 100<<10))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("100 KiB header: %d, want 431", resp.StatusCode)
	}
}
