package xds

import (
	"crypto/x509"
	"sync"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Credentials that change under open streams.
//
// A call is authenticated when it opens, and Envoy keeps its ADS stream
// for hours. The tokens file (WatchTokens) and the client CA bundle
// (watchClientCA) are read again when they change, which new calls see at
// once; an open stream that authenticated with a token or a client
// certificate is checked again against the new version, as if it were
// opening now:
//
//   - a token no longer in the file ends it with 16 UNAUTHENTICATED;
//   - a client certificate that no longer chains to the bundle (or has
//     expired meanwhile) ends it with 16;
//   - a token whose resources no longer allow the stream's node, when no
//     other credential of the call does, ends it with 7 PERMISSION_DENIED.
//
// A revoked credential therefore stops streaming configuration within
// one or two recheck intervals (2 s each) of the file changing; the proxy
// reconnects and is refused like any new call. Streams that proved
// themselves with a SigV4 signature only are not checked again (the
// signature is valid for 5 minutes and the credential file has its own
// reload; see docs/security.md).
//
// The files are looked at while such streams are open: the first tracked
// stream of a listener starts a goroutine that looks twice per recheck
// interval, and the last one to end stops it.

// liveStreams are a listener's open streams whose credentials can change.
type liveStreams struct {
	mu      sync.Mutex
	streams map[*authStream]struct{}
	stop    chan struct{} // ends the watching goroutine; nil when none runs
}

// track records an open stream until untrack is called, and checks it once
// against the files in force now. It returns no untrack function for a
// stream with nothing to check again (the unix socket, auth off, SigV4).
func (a *authn) track(st *authStream) (untrack func(), err error) {
	c := st.c
	if c == nil || (c.token == nil && c.chain == nil) {
		return nil, nil
	}
	a.live.mu.Lock()
	if a.live.streams == nil {
		a.live.streams = map[*authStream]struct{}{}
	}
	a.live.streams[st] = struct{}{}
	if a.live.stop == nil {
		stop := make(chan struct{})
		a.live.stop = stop
		go a.watch(stop)
	}
	a.live.mu.Unlock()
	untrack = func() {
		a.live.mu.Lock()
		defer a.live.mu.Unlock()
		delete(a.live.streams, st)
		if len(a.live.streams) == 0 && a.live.stop != nil {
			close(a.live.stop)
			a.live.stop = nil
		}
	}
	// The watcher may have looked at the files between this stream's
	// authentication and now, before the stream was in the map: checking
	// it here, against a version at least as new, leaves no gap.
	if err := a.check(st, a.tokens.current(), a.pool()); err != nil {
		untrack()
		st.s.audit(st.ctx, "xds request refused", c, "", st.method, err)
		return nil, err
	}
	return untrack, nil
}

// pool is the client CA bundle in force (nil without client certificates).
func (a *authn) pool() *x509.CertPool {
	if a.ca == nil {
		return nil
	}
	p, _ := a.ca.Get() // loaded by newAuthn; errors keep the last good bundle
	return p
}

// watch looks at the files every recheck interval until stop is closed,
// and checks every tracked stream again when either has changed (and at
// its first look, which covers any change since the streams opened).
func (a *authn) watch(stop <-chan struct{}) {
	// Twice per interval: a file watcher looks no more than once per
	// interval, and a tick that comes a little early would otherwise wait
	// a whole interval more.
	t := time.NewTicker(a.recheck / 2)
	defer t.Stop()
	var lastTokens *tokenSet
	var lastPool *x509.CertPool
	for first := true; ; first = false {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		toks, pool := a.tokens.current(), a.pool()
		if !first && toks == lastTokens && pool == lastPool {
			continue
		}
		lastTokens, lastPool = toks, pool
		a.sweep(toks, pool, !first)
	}
}

// sweep checks every tracked stream against toks and pool and ends those
// whose credentials no longer hold.
func (a *authn) sweep(toks *tokenSet, pool *x509.CertPool, changed bool) {
	a.live.mu.Lock()
	streams := make([]*authStream, 0, len(a.live.streams))
	for st := range a.live.streams {
		streams = append(streams, st)
	}
	a.live.mu.Unlock()
	closed := 0
	for _, st := range streams {
		err := a.check(st, toks, pool)
		if err == nil {
			continue
		}
		closed++
		node := ""
		if id := st.node.Load(); id != nil {
			node = *id
		}
		st.s.audit(st.ctx, "xds stream closed: its credentials no longer hold", st.c, node, st.method, err)
		if h := handleFrom(st.ctx); h != nil {
			h.kill(err)
		}
	}
	if changed && len(streams) > 0 {
		attrs := []any{"streams", len(streams), "closed", closed}
		if a.tokens != nil {
			attrs = append(attrs, "tokens", a.tokens.Len())
		}
		streams[0].s.log.Info("xds credentials changed; open streams checked again", attrs...)
	}
}

// check says whether a stream's credentials still hold against toks and
// pool, and still allow the node it streams as.
func (a *authn) check(st *authStream, toks *tokenSet, pool *x509.CertPool) error {
	c := st.c
	if c.token != nil {
		if _, ok := toks.find(*c.token); !ok {
			return status.Error(codes.Unauthenticated, "the bearer token was revoked: it is no longer in the tokens file")
		}
	}
	if c.chain != nil && pool != nil {
		if err := verifyClientChain(c.chain, pool, time.Now()); err != nil {
			return status.Errorf(codes.Unauthenticated, "the client certificate is no longer accepted: %v", err)
		}
	}
	if id := st.node.Load(); id != nil {
		if _, err := st.s.checkNode(st.ctx, c, &core.Node{Id: *id}); err != nil {
			return err
		}
	}
	return nil
}
