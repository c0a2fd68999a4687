package xds

import (
	"sync"
	"time"
)

// tracker knows every open stream and connected proxy: which gateway it
// is, what was sent to it per type, what it ACKed and what it rejected. The
// callbacks write it; the make-before-break rollout, the proxy quota and
// the inspect endpoint read it.
type tracker struct {
	mu      sync.Mutex
	streams map[streamKey]*streamState
	proxies map[proxyKey]*proxyState
	now     func() time.Time
}

// streamKey names a stream: go-control-plane numbers state-of-the-world
// and delta streams separately.
type streamKey struct {
	delta bool
	id    int64
}

// proxyKey names a proxy: the streams of one connection with one node id.
type proxyKey struct {
	conn uint64
	node string
}

type streamState struct {
	key         streamKey
	conn        uint64
	handle      *streamHandle
	defaultType string  // the type of a per-type stream; "" for ADS
	caller      *caller // who the stream's call authenticated as
	proxy       *proxyState
	types       map[string]*typeState
}

type proxyState struct {
	key     proxyKey
	cluster string
	gateway string // short ARN
	since   time.Time
	streams map[streamKey]*streamState
}

// typeState is one type URL on one stream.
type typeState struct {
	sentVersion, sentNonce string
	sentAt                 time.Time
	ackedVersion           string
	ackedAt                time.Time
	nack                   *nackInfo
}

// nackInfo is the last response a proxy rejected.
type nackInfo struct {
	Version string    `json:"version"`
	Nonce   string    `json:"nonce"`
	Error   string    `json:"error"`
	At      time.Time `json:"at"`
}

func newTracker() *tracker {
	return &tracker{streams: map[streamKey]*streamState{}, proxies: map[proxyKey]*proxyState{}, now: time.Now}
}

// open registers a stream before its first request.
func (t *tracker) open(k streamKey, conn uint64, h *streamHandle, defaultType string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.streams[k] = &streamState{key: k, conn: conn, handle: h, defaultType: defaultType, types: map[string]*typeState{}}
}

// setCaller records who a stream authenticated as.
func (t *tracker) setCaller(k streamKey, c *caller) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.streams[k]; s != nil {
		s.caller = c
	}
}

// stream returns a stream's state; nil after close or for an unknown key.
// Callers hold t.mu.
func (t *tracker) stream(k streamKey) *streamState { return t.streams[k] }

// attach binds a stream to its proxy on the stream's first request. It
// returns false when the gateway already has max proxies and this stream
// would add another (max <= 0: no limit); newProxy says whether the proxy
// was not connected before.
func (t *tracker) attach(k streamKey, node, cluster, gateway string, max int) (ok, newProxy bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.streams[k]
	if s == nil {
		return true, false
	}
	pk := proxyKey{conn: s.conn, node: node}
	p := t.proxies[pk]
	if p == nil {
		if max > 0 && t.countLocked(gateway) >= max {
			return false, false
		}
		p = &proxyState{key: pk, cluster: cluster, gateway: gateway, since: t.now(), streams: map[streamKey]*streamState{}}
		t.proxies[pk] = p
		newProxy = true
	}
	p.streams[k] = s
	s.proxy = p
	return true, newProxy
}

// close forgets a stream. It returns the proxy it belonged to when that
// proxy has no stream left.
func (t *tracker) close(k streamKey) *proxyState {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.streams[k]
	delete(t.streams, k)
	if s == nil || s.proxy == nil {
		return nil
	}
	p := s.proxy
	delete(p.streams, k)
	if len(p.streams) > 0 {
		return nil
	}
	delete(t.proxies, p.key)
	return p
}

// count returns the number of proxies connected for a gateway.
func (t *tracker) count(gateway string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.countLocked(gateway)
}

func (t *tracker) countLocked(gateway string) int {
	n := 0
	for _, p := range t.proxies {
		if p.gateway == gateway {
			n++
		}
	}
	return n
}

// acked reports whether every stream of the gateway that subscribed to
// typeURL has ACKed version. Streams that never asked for the type (a
// meshgate gateway asks only for its GatewayConfig) are not waited for.
func (t *tracker) acked(gateway, typeURL, version string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.proxies {
		if p.gateway != gateway {
			continue
		}
		for _, s := range p.streams {
			if ts := s.types[typeURL]; ts != nil && ts.ackedVersion != version {
				return false
			}
		}
	}
	return true
}

// kill ends every stream of a gateway with err.
func (t *tracker) kill(gateway string, err error) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, p := range t.proxies {
		if p.gateway != gateway {
			continue
		}
		for _, s := range p.streams {
			if s.handle != nil {
				s.handle.kill(err)
				n++
			}
		}
	}
	return n
}

// ProxyInfo is one connected proxy as /debug/xds shows it.
type ProxyInfo struct {
	NodeID         string               `json:"nodeId"`
	Cluster        string               `json:"cluster"`
	Gateway        string               `json:"gateway"`
	ConnectedSince time.Time            `json:"connectedSince"`
	Streams        int                  `json:"streams"`
	Types          map[string]*TypeInfo `json:"types"`
}

// TypeInfo is what one proxy has of one type URL.
type TypeInfo struct {
	Sent     string    `json:"sent,omitempty"`
	SentAt   time.Time `json:"sentAt,omitzero"`
	Acked    string    `json:"acked,omitempty"`
	AckedAt  time.Time `json:"ackedAt,omitzero"`
	LastNack *nackInfo `json:"lastNack,omitempty"`
}

// snapshot copies the state for inspection.
func (t *tracker) proxiesInfo() []ProxyInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]ProxyInfo, 0, len(t.proxies))
	for _, p := range t.proxies {
		pi := ProxyInfo{NodeID: p.key.node, Cluster: p.cluster, Gateway: p.gateway, ConnectedSince: p.since,
			Streams: len(p.streams), Types: map[string]*TypeInfo{}}
		for _, s := range p.streams {
			for typ, ts := range s.types {
				ti := &TypeInfo{Sent: ts.sentVersion, SentAt: ts.sentAt, Acked: ts.ackedVersion, AckedAt: ts.ackedAt}
				if ts.nack != nil {
					n := *ts.nack
					ti.LastNack = &n
				}
				pi.Types[typ] = ti
			}
		}
		out = append(out, pi)
	}
	return out
}
