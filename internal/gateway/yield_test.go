package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/testutil/echo"
)

// TestOneP: with one P the servers' and the cluster client's connections
// yield before reads that would find nothing yet, and HTTP/2 responses
// that end together share a write (yield); with many requests in
// flight on both protocols, each still gets its own answer.
func TestOneP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	be := startEcho(t, "backend")
	cfg := oneBackend(t, ir.HTTP, be.Addr, nil)
	cfg.Listeners[0].Protocol = ir.HTTP2 // HTTP/1.1 and h2c on one port, an HTTP/1.1 cluster
	startGateway(t, cfg)

	h1 := &http.Transport{MaxIdleConnsPerHost: 32}
	t.Cleanup(h1.CloseIdleConnections)
	clients := []struct {
		proto  string
		client *http.Client
	}{
		{"HTTP/1.1", &http.Client{Transport: h1}},
		{"HTTP/2.0", h2cClient(t)},
	}
	const workers, each = 32, 10
	for _, c := range clients {
		errs := make(chan error, workers*each)
		var wg sync.WaitGroup
		for g := range workers {
			wg.Go(func() {
				for i := range each {
					p := fmt.Sprintf("/p/%d/%d", g, i)
					resp, err := c.client.Get(listenURL(cfg, 0, p))
					if err != nil {
						errs <- err
						continue
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					var rep echo.Reply
					switch {
					case err != nil:
						errs <- fmt.Errorf("%s: %v", p, err)
					case resp.StatusCode != http.StatusOK || resp.Proto != c.proto:
						errs <- fmt.Errorf("%s: %d over %s", p, resp.StatusCode, resp.Proto)
					case json.Unmarshal(body, &rep) != nil || rep.Path != p:
						errs <- fmt.Errorf("%s: the upstream answered for %q: %s", p, rep.Path, body)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		n := 0
		for err := range errs {
			if n++; n <= 5 {
				t.Errorf("%s: %v", c.proto, err)
			}
		}
		if n > 0 {
			t.Errorf("%s: %d of %d requests failed", c.proto, n, workers*each)
		}
	}
	if got := be.Requests.Load(); got != 2*workers*each {
		t.Errorf("the upstream saw %d requests, want %d", got, 2*workers*each)
	}
}
