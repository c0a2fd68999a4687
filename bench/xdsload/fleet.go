package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// fleet is every load client.
type fleet struct {
	clients []*client
	byGW    [][]*client
	notify  chan struct{}
	shared  []*grpc.ClientConn
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// newFleet makes perGW clients for each of gateways virtual gateways of
// mesh. kinds: "envoy", "gateway" or "mixed" (alternating within each
// gateway). sharedConns > 0 multiplexes every stream over that many gRPC
// connections instead of one connection per client (the experiment that
// shows why that does not work: see bench/results-xds-scale.md).
func newFleet(target string, gateways, perGW int, kinds string, sharedConns int) (*fleet, error) {
	f := &fleet{notify: make(chan struct{}, 1), byGW: make([][]*client, gateways)}
	for range sharedConns {
		conn, err := grpc.NewClient("passthrough:///"+target, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, err
		}
		f.shared = append(f.shared, conn)
	}
	for g := range gateways {
		for j := range perGW {
			k := envoyKind
			switch kinds {
			case "gateway":
				k = gatewayKind
			case "mixed":
				if j%2 == 1 {
					k = gatewayKind
				}
			case "envoy":
			default:
				return nil, fmt.Errorf("-kind %q: want envoy, gateway or mixed", kinds)
			}
			i := len(f.clients)
			var conn *grpc.ClientConn
			if len(f.shared) > 0 {
				conn = f.shared[i%len(f.shared)]
			}
			c := newClient(i, g, k, nodeID(meshName, g), target, conn, f.notify)
			f.clients = append(f.clients, c)
			f.byGW[g] = append(f.byGW[g], c)
		}
	}
	return f, nil
}

func (f *fleet) start(ctx context.Context) {
	ctx, f.cancel = context.WithCancel(ctx)
	for _, c := range f.clients {
		f.wg.Go(func() { c.run(ctx) })
	}
}

func (f *fleet) stop() {
	if f.cancel != nil {
		f.cancel()
	}
	f.wg.Wait()
	for _, c := range f.shared {
		c.Close()
	}
}

// sigs returns the current signature of each client of cs.
func sigs(cs []*client) map[int]string {
	out := make(map[int]string, len(cs))
	for _, c := range cs {
		out[c.idx] = c.state().sig
	}
	return out
}

// responses is the number of responses every client has received.
func (f *fleet) responses() []int64 {
	out := make([]int64, len(f.clients))
	for i, c := range f.clients {
		out[i] = c.responses.Load()
	}
	return out
}

func (f *fleet) live() int {
	n := 0
	for _, c := range f.clients {
		if c.state().live {
			n++
		}
	}
	return n
}

// progress counts the clients of cs that are done: complete, moved off
// their pre-change signature, and agreeing with the others of their
// gateway and kind.
type convergence struct {
	done     bool
	complete int       // clients with a complete config that moved off pre
	last     time.Time // the latest sigAt among them
}

func converged(cs []*client, pre map[int]string) convergence {
	type group struct {
		gw int
		k  kind
	}
	agreed := map[group]string{}
	out := convergence{done: true}
	for _, c := range cs {
		st := c.state()
		if !st.complete || st.sig == pre[c.idx] {
			out.done = false
			continue
		}
		g := group{c.gw, c.kind}
		if s, ok := agreed[g]; ok && s != st.sig {
			out.done = false
			continue
		}
		agreed[g] = st.sig
		out.complete++
		if st.sigAt.After(out.last) {
			out.last = st.sigAt
		}
	}
	return out
}

// wait blocks until every client of cs has moved off pre to one agreed
// configuration per gateway and kind, and returns the time the last of
// them received it (not when this loop noticed: the clients time-stamp what
// they receive).
func (f *fleet) wait(ctx context.Context, cs []*client, pre map[int]string, timeout time.Duration) (time.Time, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		c := converged(cs, pre)
		if c.done {
			return c.last, nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-deadline.C:
			return time.Time{}, fmt.Errorf("%d of %d clients configured after %v", c.complete, len(cs), timeout)
		case <-f.notify:
		case <-tick.C:
		}
	}
}

// pick returns n distinct random clients.
func (f *fleet) pick(rng *rand.Rand, n int) []*client {
	perm := rng.Perm(len(f.clients))
	out := make([]*client, 0, n)
	for _, i := range perm[:min(n, len(perm))] {
		out = append(out, f.clients[i])
	}
	return out
}

// totals sums the clients' session counters.
func (f *fleet) totals() clientTotals {
	var t clientTotals
	for _, c := range f.clients {
		t.Sessions += c.sessions.Load()
		t.Refused += c.refused.Load()
		t.Failures += c.failures.Load()
		t.Responses += c.responses.Load()
		if e := c.lastErr.Load(); e != nil && t.LastError == "" {
			t.LastError = *e
		}
		c.errMu.Lock()
		for r, n := range c.errors {
			if t.Errors == nil {
				t.Errors = map[string]int64{}
			}
			t.Errors[r] += n
		}
		c.errMu.Unlock()
	}
	return t
}

type clientTotals struct {
	Sessions  int64  `json:"sessions"`
	Refused   int64  `json:"refusedResourceExhausted"`
	Failures  int64  `json:"otherStreamEnds"`
	Responses int64  `json:"responses"`
	LastError string `json:"lastError,omitempty"`
	// Errors counts the session ends not asked for, by gRPC code and message.
	Errors map[string]int64 `json:"errors,omitempty"`
}
