package h2server

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/gateway/reqctx"
)

// TestSweeperArmsRouteTimeouts: a timeout the handler sets on its request
// (as the proxy sets the route's) longer than two arm periods gets its
// timer from the sweeper, and fires at its deadline; a shorter one has
// its timer at once. Both streams run at the same time on one
// connection.
func TestSweeperArmsRouteTimeouts(t *testing.T) {
	type result struct {
		err     error
		elapsed time.Duration
	}
	res := make(chan result, 2)
	ts := stServe(t, func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("timeout"))
		start := time.Now()
		ctx, cancel := reqctx.WithTimeout(r.Context(), d)
		defer cancel()
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
		res <- result{ctx.Err(), time.Since(start)}
		w.Header().Set("X-Elapsed", strconv.FormatInt(int64(time.Since(start)), 10))
	})
	cl := stDial(t, ts.addr)
	deferred, atOnce := 3*armPeriod, armPeriod/2
	ids := []uint32{cl.get("/?timeout=" + deferred.String()), cl.get("/?timeout=" + atOnce.String())}
	resps := cl.responses(ids, 10*time.Second)
	for i, want := range []time.Duration{deferred, atOnce} {
		if resps[ids[i]] == nil {
			t.Fatalf("no response on stream %d", ids[i])
		}
		n, _ := strconv.ParseInt(resps[ids[i]].header.Get("X-Elapsed"), 10, 64)
		if took := time.Duration(n); took < want || took > want+2*time.Second {
			t.Errorf("the timeout of %v fired after %v", want, took)
		}
	}
	for range 2 {
		if r := <-res; r.err != context.DeadlineExceeded {
			t.Errorf("a request's context ended with %v after %v, want the timeout", r.err, r.elapsed)
		}
	}
}
