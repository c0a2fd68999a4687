package api

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/meshgate/meshgate/internal/service"
	"github.com/meshgate/meshgate/internal/store/sqlite"
)

// benchServer serves the API on loopback over a SQLite store with quotas
// high enough for a benchmark's creates.
func benchServer(b *testing.B) string {
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	q := service.DefaultQuotas()
	q.VirtualNodesPerMesh = 1 << 30
	svc, err := service.New(st, service.Config{Region: "us-west-2", AccountID: "111122223333", Quotas: q})
	if err != nil {
		b.Fatal(err)
	}
	h, err := New(svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close(); st.Close() })
	return "http://" + ln.Addr().String()
}

func do(c *http.Client, method, url, body string) error {
	req, err := http.NewRequest(method, url, bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %d", method, url, resp.StatusCode)
	}
	return nil
}

const benchNodeSpec = `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"},"healthCheck":{"protocol":"http","path":"/ping","healthyThreshold":2,"unhealthyThreshold":2,"intervalMillis":5000,"timeoutMillis":2000}}],"serviceDiscovery":{"dns":{"hostname":"node.local"}},"backends":[{"virtualService":{"virtualServiceName":"a.local"}}]}`

// BenchmarkAPI measures describes and creates per second over HTTP on
// loopback with 1 and 16 concurrent clients (keep-alive connections).
func BenchmarkAPI(b *testing.B) {
	for _, clients := range []int{1, 16} {
		b.Run(fmt.Sprintf("DescribeVirtualNode/clients=%d", clients), func(b *testing.B) {
			ep := benchServer(b)
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
			must(b, do(c, "PUT", ep+"/v20190125/meshes", `{"meshName":"m"}`))
			must(b, do(c, "PUT", ep+"/v20190125/meshes/m/virtualNodes", `{"virtualNodeName":"n","spec":`+benchNodeSpec+`}`))
			run(b, clients, func(int64) error { return do(c, "GET", ep+"/v20190125/meshes/m/virtualNodes/n", "") })
		})
		b.Run(fmt.Sprintf("CreateVirtualNode/clients=%d", clients), func(b *testing.B) {
			ep := benchServer(b)
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
			must(b, do(c, "PUT", ep+"/v20190125/meshes", `{"meshName":"m"}`))
			run(b, clients, func(i int64) error {
				return do(c, "PUT", ep+"/v20190125/meshes/m/virtualNodes", fmt.Sprintf(`{"virtualNodeName":"n%d","spec":%s}`, i, benchNodeSpec))
			})
		})
	}
}

// run calls op b.N times from the given number of goroutines and reports
// operations per second.
func run(b *testing.B, clients int, op func(i int64) error) {
	var next atomic.Int64
	b.ResetTimer()
	b.SetParallelism((clients + 1) / 2) // GOMAXPROCS is the machine's 2 cores
	if clients == 1 {
		for i := 0; i < b.N; i++ {
			must(b, op(int64(i)))
		}
	} else {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := op(next.Add(1)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
