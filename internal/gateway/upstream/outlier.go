package upstream

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
)

// Envoy's outlier-detection defaults, for fields a malformed IR leaves
// zero. App Mesh requires all four fields.
const (
	defaultODInterval      = 10 * time.Second
	defaultODBaseEjection  = 30 * time.Second
	defaultODMaxEjection   = 300 * time.Second // Envoy's max_ejection_time
	defaultODMaxServerErrs = 5
)

// outlierConfig is App Mesh's outlier detection as Envoy runs it:
// consecutive_5xx = maxServerErrors (connection failures, resets and
// timeouts count as 5xx, since App Mesh does not split local-origin
// errors), and no success-rate ejection.
type outlierConfig struct {
	threshold  uint32
	interval   time.Duration
	base       time.Duration
	maxEject   time.Duration
	maxPercent uint32
}

func newOutlierConfig(o *ir.OutlierDetection) *outlierConfig {
	if o == nil {
		return nil
	}
	od := &outlierConfig{
		threshold:  o.MaxServerErrors,
		interval:   o.Interval.D(),
		base:       o.BaseEjectionDuration.D(),
		maxPercent: min(o.MaxEjectionPercent, 100),
	}
	if od.threshold == 0 {
		od.threshold = defaultODMaxServerErrs
	}
	if od.interval <= 0 {
		od.interval = defaultODInterval
	}
	if od.base <= 0 {
		od.base = defaultODBaseEjection
	}
	od.maxEject = max(defaultODMaxEjection, od.base)
	return od
}

// recordOutcome feeds one attempt to outlier detection. The success path
// only reads the counter unless it has to reset it, so concurrent
// successes do not fight over its cache line.
func (c *Cluster) recordOutcome(ep *endpoint, req *http.Request, resp *http.Response, err error) {
	if err != nil {
		// The client giving up says nothing about the upstream.
		if errors.Is(err, context.Canceled) || errors.Is(err, errEndpointClosed) {
			return
		}
	} else if resp.StatusCode < 500 {
		if ep.consecutive.Load() != 0 {
			ep.consecutive.Store(0)
		}
		return
	}
	// Equality, not >=: exactly one request triggers the ejection check.
	if ep.consecutive.Add(1) == c.od.threshold {
		c.consecutiveFailures(ep)
	}
}

// consecutiveFailures ejects ep at once (Envoy ejects on consecutive 5xx
// inline, not at the interval) unless that would take the ejected share
// above maxEjectionPercent. Envoy's rule is 100*(ejected+1)/hosts <=
// maxEjectionPercent with no "always eject one" (always_eject_one_host is
// off by default and App Mesh does not set it): a single-endpoint cluster
// with a 50% cap is never ejected, and a 0% cap disables ejection.
func (c *Cluster) consecutiveFailures(ep *endpoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// The counter restarts whatever happens, so a host that stays bad
	// triggers again after another run of failures.
	defer ep.consecutive.Store(0)
	if c.stopped || ep.ejected.Load() || !c.hasEndpointLocked(ep) {
		return
	}
	ejected := 0
	for _, e := range c.endpoints {
		if e.ejected.Load() {
			ejected++
		}
	}
	if 100*float64(ejected+1)/float64(len(c.endpoints)) > float64(c.od.maxPercent) {
		c.log.Debug("upstream: outlier ejection skipped: max ejection percent reached",
			"endpoint", ep.hostport, "ejected", ejected, "endpoints", len(c.endpoints))
		return
	}
	now := time.Now()
	ep.ejected.Store(true)
	ep.ejectedAt = now
	ep.ejections++
	// Each ejection lasts base × backoff, capped at maxEject; backoff grows
	// per ejection and decays while the host behaves.
	if time.Duration(ep.backoff)*c.od.base < c.od.maxEject+c.od.base {
		ep.backoff++
	}
	c.opts.Metrics.OutlierEjection(c.name, ep.addr, true)
	c.log.Warn("upstream: endpoint ejected", "endpoint", ep.hostport,
		"consecutiveErrors", c.od.threshold, "for", c.ejectionTime(ep))
	c.rebuildLocked()
}

func (c *Cluster) ejectionTime(ep *endpoint) time.Duration {
	return min(time.Duration(ep.backoff)*c.od.base, c.od.maxEject)
}

func (c *Cluster) hasEndpointLocked(ep *endpoint) bool {
	for _, e := range c.endpoints {
		if e == ep {
			return true
		}
	}
	return false
}

// unejectLocked returns an endpoint to service.
func (c *Cluster) unejectLocked(ep *endpoint, now time.Time) {
	ep.ejected.Store(false)
	ep.unejectedAt = now
	ep.consecutive.Store(0)
	c.opts.Metrics.OutlierEjection(c.name, ep.addr, false)
	c.log.Info("upstream: endpoint returned from ejection", "endpoint", ep.hostport)
}

// outlierLoop is Envoy's interval sweep: ejections that have run their
// time end (so an ejection lasts at least its time, rounded up to the
// next sweep), and hosts in service for an interval since their last
// ejection see their backoff decay.
func (c *Cluster) outlierLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.od.interval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case now := <-t.C:
			c.outlierSweep(now)
		}
	}
}

func (c *Cluster) outlierSweep(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	changed := false
	for _, ep := range c.endpoints {
		if ep.ejected.Load() && now.Sub(ep.ejectedAt) >= c.ejectionTime(ep) {
			c.unejectLocked(ep, now)
			changed = true
		}
	}
	for _, ep := range c.endpoints {
		if !ep.ejected.Load() && !ep.unejectedAt.IsZero() && ep.backoff > 0 &&
			now.Sub(ep.unejectedAt) >= c.od.interval {
			ep.backoff--
		}
	}
	if changed {
		c.rebuildLocked()
	}
}
