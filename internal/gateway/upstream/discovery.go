package upstream

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// IP preferences as App Mesh spells them.
const (
	IPv4Only      = "IPv4_ONLY"
	IPv6Only      = "IPv6_ONLY"
	IPv4Preferred = "IPv4_PREFERRED"
	IPv6Preferred = "IPv6_PREFERRED"
)

var errNoAddresses = errors.New("no usable address in the DNS answer")

// literalAddr reports whether host is an IP literal, which resolves to
// itself whatever the IP preference (Envoy does not look literals up).
func literalAddr(host string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// lookupNetwork asks DNS only for the family an *_ONLY preference allows.
func lookupNetwork(pref string) string {
	switch pref {
	case IPv4Only:
		return "ip4"
	case IPv6Only:
		return "ip6"
	}
	return "ip"
}

// selectAddrs applies an IP preference the way Envoy's dns_lookup_family
// does: *_ONLY keeps one family; *_PREFERRED (and "", which App Mesh
// treats as IPv6 preferred) uses the preferred family when the answer has
// any address of it and otherwise falls back to the other, never mixing
// the two. Order within a family is the answer's; duplicates go.
func selectAddrs(addrs []netip.Addr, pref string) []netip.Addr {
	var v4, v6 []netip.Addr
	for _, a := range addrs {
		a = a.Unmap()
		switch {
		case !a.IsValid():
		case a.Is4():
			if !slices.Contains(v4, a) {
				v4 = append(v4, a)
			}
		default:
			if !slices.Contains(v6, a) {
				v6 = append(v6, a)
			}
		}
	}
	switch pref {
	case IPv4Only:
		return v4
	case IPv6Only:
		return v6
	case IPv4Preferred:
		if len(v4) > 0 {
			return v4
		}
		return v6
	default:
		if len(v6) > 0 {
			return v6
		}
		return v4
	}
}

// resolveLoop keeps the cluster's addresses current until the cluster
// stops. The first answer (or failure) ends warming.
func (c *Cluster) resolveLoop(seeded bool) {
	defer c.wg.Done()
	defer c.markWarm() // whatever happens, never leave requests waiting
	if !seeded {
		c.resolveOnce()
	}
	c.awaitFirstChecks()
	c.markWarm()
	if seeded {
		c.resolveOnce()
	}
	t := time.NewTicker(c.opts.ReResolve)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			c.resolveOnce()
		}
	}
}

// resolveOnce looks the hostname up. A failure or an empty answer keeps
// the last good addresses (Envoy's STRICT_DNS would drop every host, an
// outage until the next good answer: envoy#2691), and is logged once per
// failure streak.
func (c *Cluster) resolveOnce() {
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.ResolveTimeout)
	defer cancel()
	d := c.cfg.Discovery
	ips, err := c.opts.Resolver.LookupNetIP(ctx, lookupNetwork(d.IPPreference), d.Hostname)
	if c.ctx.Err() != nil {
		return
	}
	if err == nil {
		if ips = selectAddrs(ips, d.IPPreference); len(ips) == 0 {
			err = errNoAddresses
		}
	}
	c.opts.Metrics.DNSResolution(c.name, len(ips), err)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if !c.dnsFailing {
			c.dnsFailing = true
			c.log.Warn("upstream: DNS resolution failed; keeping the last good addresses",
				"hostname", d.Hostname, "addresses", len(c.endpoints), "err", err)
		}
		return
	}
	if c.dnsFailing {
		c.dnsFailing = false
		c.log.Info("upstream: DNS resolution recovered", "hostname", d.Hostname, "addresses", len(ips))
	}
	addrs := make([]netip.AddrPort, len(ips))
	for i, ip := range ips {
		addrs[i] = netip.AddrPortFrom(ip, c.port)
	}
	c.setAddrsLocked(addrs)
}

// setAddrsLocked makes addrs the cluster's endpoints. LOADBALANCER
// (Envoy LOGICAL_DNS) uses the first address only, for new connections:
// the old address keeps its open connections until they drain. ENDPOINTS
// (STRICT_DNS) uses all; an address that stays keeps its endpoint, pool
// and state.
func (c *Cluster) setAddrsLocked(addrs []netip.AddrPort) {
	if c.stopped || len(addrs) == 0 {
		return
	}
	if !c.cfg.Discovery.AllEndpoints {
		cur := c.endpoints
		if len(cur) == 1 && cur[0].addr == addrs[0] {
			return
		}
		ep := c.addEndpointLocked(addrs[0], cur)
		for _, old := range cur {
			c.removeEndpointLocked(old)
		}
		c.endpoints = []*endpoint{ep}
		c.rebuildLocked()
		return
	}
	want := slices.Clone(addrs)
	slices.SortFunc(want, func(a, b netip.AddrPort) int { return a.Compare(b) })
	want = slices.Compact(want)
	next := make([]*endpoint, 0, len(want))
	changed := len(want) != len(c.endpoints)
	for _, a := range want {
		i := slices.IndexFunc(c.endpoints, func(ep *endpoint) bool { return ep.addr == a })
		if i >= 0 {
			next = append(next, c.endpoints[i])
			continue
		}
		next = append(next, c.addEndpointLocked(a, nil))
		changed = true
	}
	if !changed {
		return
	}
	for _, old := range c.endpoints {
		if !slices.Contains(next, old) {
			c.removeEndpointLocked(old)
		}
	}
	c.endpoints = next
	c.rebuildLocked()
}

// addEndpointLocked creates an endpoint, inheriting the state of the
// logical host it replaces, and starts its health checks.
func (c *Cluster) addEndpointLocked(a netip.AddrPort, replaces []*endpoint) *endpoint {
	ep := newEndpoint(c, a)
	if len(replaces) == 1 {
		ep.inherit(replaces[0])
	}
	c.startHealthCheckLocked(ep)
	return ep
}

// removeEndpointLocked stops an endpoint's checks and lets its open
// connections finish (bounded by DrainTimeout).
func (c *Cluster) removeEndpointLocked(ep *endpoint) {
	ep.stopHealthCheck()
	c.drain.add(ep)
}

// addrs returns the current endpoint addresses.
func (c *Cluster) addrs() []netip.AddrPort {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]netip.AddrPort, len(c.endpoints))
	for i, ep := range c.endpoints {
		out[i] = ep.addr
	}
	return out
}
