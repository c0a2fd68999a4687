package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// measurer runs the measurements against a configured fleet.
type measurer struct {
	cfg config
	srv *server
	api *api
	f   *fleet
	rng *rand.Rand
	log logger
	ver map[[2]int]int // current prefix version of gateway route (g, r)
	// nodeVer is the current hostname version of vn00; orphanVer and
	// otherVer those of the unrelated resources.
	nodeVer, orphanVer, otherVer int
}

// changeBound is how long one change may take to reach its clients before
// it counts as failed.
const changeBound = 30 * time.Second

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// late counts the clients of cs whose configuration changed after done.
func late(cs []*client, done time.Time) int {
	n := 0
	for _, c := range cs {
		if c.state().sigAt.After(done) {
			n++
		}
	}
	return n
}

// counters reads the server's counters a phase is measured by.
func (m *measurer) counters(ctx context.Context) map[string]float64 {
	s, err := m.srv.metrics(ctx)
	if err != nil {
		m.log.f("metrics: %v", err)
		return map[string]float64{}
	}
	return s
}

// phaseEnd fills in the server's CPU time and mean sync (rebuild of every
// gateway) time between two counter readings.
func (l *latencies) phaseEnd(before, after map[string]float64) {
	l.ServerCPUs = after["process_cpu_seconds_total"] - before["process_cpu_seconds_total"]
	if n := after["meshgate_xds_sync_seconds_count"] - before["meshgate_xds_sync_seconds_count"]; n > 0 {
		l.Syncs = int(n)
		l.SyncMeanMs = (after["meshgate_xds_sync_seconds_sum"] - before["meshgate_xds_sync_seconds_sum"]) / n * 1000
	}
}

// routeChange updates one gateway route of gateway g and waits until every
// client of g has the new configuration. It returns the latency from the
// API's response to the last client's receipt, and the time of that receipt.
func (m *measurer) routeChange(ctx context.Context, g int) (time.Duration, time.Time, error) {
	r := m.rng.IntN(m.cfg.Routes)
	affected := m.f.byGW[g]
	pre := sigs(affected)
	k := [2]int{g, r}
	m.ver[k]++
	t0, err := m.api.updateRoute(ctx, meshName, g, r, m.ver[k], serviceName(r%m.cfg.Services))
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("update gateway route %s/%s: %w", gatewayName(g), routeName(r), err)
	}
	done, err := m.f.wait(ctx, affected, pre, changeBound)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("update of %s/%s: %w", gatewayName(g), routeName(r), err)
	}
	return done.Sub(t0), done, nil
}

// routeChanges is (a): cfg.Changes updates of one gateway route each,
// cycling through the gateways, one at a time.
func (m *measurer) routeChanges(ctx context.Context) (latencies, error) {
	l := latencies{What: "update of one gateway route (its prefix); affected: the clients of that virtual gateway",
		Affected: m.cfg.ClientsPerGateway}
	c0 := m.counters(ctx)
	var prev []*client
	var prevDone time.Time
	var affectedResp int64
	for i := range m.cfg.Changes {
		if prev != nil {
			l.Late += late(prev, prevDone)
		}
		g := i % m.cfg.Gateways
		before := m.f.responses()
		d, done, err := m.routeChange(ctx, g)
		if err != nil {
			if ctx.Err() != nil {
				return l, err
			}
			l.Failed++
			m.log.f("(a) change %d: %v", i, err)
			prev = nil
			continue
		}
		l.SamplesMs = append(l.SamplesMs, ms(d))
		sleep(ctx, m.cfg.Gap)
		for j, n := range m.f.responses() {
			if m.f.clients[j].gw == g {
				affectedResp += n - before[j]
			} else {
				l.OtherPush += n - before[j]
			}
		}
		prev, prevDone = m.f.byGW[g], done
	}
	if prev != nil {
		l.Late += late(prev, prevDone)
	}
	if n := len(l.SamplesMs); n > 0 {
		l.PerClient = float64(affectedResp) / float64(n*m.cfg.ClientsPerGateway)
	}
	l.phaseEnd(c0, m.counters(ctx))
	l.finish()
	return l, nil
}

// allChanges is (b): the DNS hostname of virtual node vn00 changes. vn00
// provides svc00, which gateway route r000 of every gateway targets, so
// under App Mesh's semantics every virtual gateway's cluster for vn00
// changes: every client is affected.
func (m *measurer) allChanges(ctx context.Context) (latencies, error) {
	l := latencies{What: "update of virtual node vn00 (its DNS hostname), which provides the virtual service a route of every gateway targets; affected: every client",
		Affected: len(m.f.clients)}
	c0 := m.counters(ctx)
	var prevDone time.Time
	var resp int64
	for i := range m.cfg.AllChanges {
		if i > 0 {
			l.Late += late(m.f.clients, prevDone)
		}
		pre := sigs(m.f.clients)
		before := m.f.responses()
		m.nodeVer++
		t0, err := m.api.updateNode(ctx, meshName, nodeName(0), nodeHost(0, m.nodeVer))
		if err != nil {
			return l, fmt.Errorf("update virtual node: %w", err)
		}
		done, err := m.f.wait(ctx, m.f.clients, pre, 2*changeBound)
		if err != nil {
			if ctx.Err() != nil {
				return l, err
			}
			l.Failed++
			m.log.f("(b) change %d: %v", i, err)
			continue
		}
		l.SamplesMs = append(l.SamplesMs, ms(done.Sub(t0)))
		prevDone = done
		sleep(ctx, max(m.cfg.Gap, time.Second))
		for j, n := range m.f.responses() {
			resp += n - before[j]
		}
	}
	l.Late += late(m.f.clients, prevDone)
	if n := len(l.SamplesMs); n > 0 {
		l.PerClient = float64(resp) / float64(n*len(m.f.clients))
	}
	l.phaseEnd(c0, m.counters(ctx))
	l.finish()
	return l, nil
}

// unrelated is (c): changes no client's configuration depends on, each
// followed by a window in which every response any client receives is
// counted.
func (m *measurer) unrelated(ctx context.Context) ([]quiet, error) {
	cases := []struct {
		what string
		do   func() error
	}{
		{"update of a virtual node no virtual service uses, in the clients' mesh", func() error {
			m.orphanVer++
			_, err := m.api.updateNode(ctx, meshName, orphan, fmt.Sprintf("orphan-v%d.scale.local", m.orphanVer))
			return err
		}},
		{"update of a gateway route in another mesh (of a gateway no client is connected to)", func() error {
			m.otherVer++
			_, err := m.api.updateRoute(ctx, otherMesh, 0, 0, m.otherVer, "other.local")
			return err
		}},
		{"update of gateway route gw00/r000 with its current spec (an equivalent change: new resource version, same configuration)", func() error {
			_, err := m.api.updateRoute(ctx, meshName, 0, 0, m.ver[[2]int{0, 0}], serviceName(0))
			return err
		}},
	}
	var out []quiet
	for _, c := range cases {
		sleep(ctx, min(time.Second, m.cfg.Quiet)) // let ACKs of what came before settle
		before := sum(m.f.responses())
		mt, err := m.srv.metrics(ctx)
		if err != nil {
			return out, err
		}
		t := time.Now()
		if err := c.do(); err != nil {
			return out, fmt.Errorf("%s: %w", c.what, err)
		}
		sleep(ctx, m.cfg.Quiet)
		after := sum(m.f.responses())
		mt2, err := m.srv.metrics(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, quiet{What: c.what, WindowSeconds: time.Since(t).Seconds(), ClientPushes: after - before,
			ServerPushes: mt2["meshgate_xds_pushes_total"] - mt["meshgate_xds_pushes_total"]})
	}
	return out, ctx.Err()
}

func sum(s []int64) int64 {
	var n int64
	for _, v := range s {
		n += v
	}
	return n
}

// verify compares what every client ACKed with what the server has
// published for its gateway (/debug/xds).
func (m *measurer) verify(ctx context.Context) (verify, error) {
	d, err := m.srv.debug(ctx)
	if err != nil {
		return verify{}, err
	}
	published := map[string]map[string]string{}
	v := verify{Clients: len(m.f.clients)}
	for _, g := range d.Gateways {
		published[g.Resource] = g.Versions
		if g.Rollout != "" {
			v.Rollouts++
		}
	}
	for _, c := range m.f.clients {
		st := c.state()
		var bad []string
		if !st.complete || !st.live {
			bad = append(bad, fmt.Sprintf("complete=%v live=%v", st.complete, st.live))
		}
		for t, ver := range st.versions {
			if want := published[c.nodeID][t]; want != ver {
				bad = append(bad, fmt.Sprintf("%s has %q, published %q", t, ver, want))
			}
		}
		if len(bad) == 0 {
			v.Matching++
		} else if len(v.Mismatches) < 5 {
			v.Mismatches = append(v.Mismatches, fmt.Sprintf("client %d (%s, %s): %v", c.idx, c.nodeID, c.kind, bad))
		}
	}
	return v, nil
}

// soakResult is the bounded soak: churn for a while, sample the server.
type soakResult struct {
	DurationSeconds float64   `json:"durationSeconds"`
	Changes         latencies `json:"changes"`
	Reconnects      int       `json:"reconnects"`
	Samples         []sample  `json:"samples"`
	WindowSeconds   float64   `json:"windowSeconds"` // the first and last windows compared
	First           window    `json:"firstWindow"`
	Last            window    `json:"lastWindow"`
	MaxRSSBytes     int64     `json:"maxRssBytes"`
	MaxGoroutines   float64   `json:"maxGoroutines"`
	HWMBytes        int64     `json:"hwmBytes"`
	GoroutineGrowth float64   `json:"goroutineGrowth"` // last median − first median
	RSSGrowth       float64   `json:"rssGrowthRatio"`  // last median ÷ first median
	HeapGrowth      float64   `json:"heapGrowthRatio"`
	NextGCGrowth    float64   `json:"nextGcGrowthRatio"`
	// Slopes of a least-squares line through all the samples, per 10
	// minutes: a trend the two windows' medians may hide in the noise.
	RSSSlope       float64 `json:"rssSlopeBytesPer10min"`
	NextGCSlope    float64 `json:"nextGcSlopeBytesPer10min"`
	GoroutineSlope float64 `json:"goroutineSlopePer10min"`
	Grows          bool    `json:"grows"`
	Verdict        string  `json:"verdict"`
	SettleSeconds  float64 `json:"settleSeconds"` // after churn stopped: until every client was configured
	Verify         verify  `json:"verify"`
	Unrelated      []quiet `json:"unrelated"`
	Final          sample  `json:"final"`
}

// window is the medians of the samples of one window.
type window struct {
	Samples    int     `json:"samples"`
	RSSBytes   float64 `json:"rssBytes"`
	Goroutines float64 `json:"goroutines"`
	HeapInuse  float64 `json:"heapInuseBytes"`
	NextGC     float64 `json:"nextGcBytes"`
	OpenFDs    float64 `json:"openFds"`
}

func windowOf(ss []sample) window {
	var rss, g, h, gc, fd []float64
	for _, s := range ss {
		rss, g, h, fd = append(rss, float64(s.RSSBytes)), append(g, s.Goroutines), append(h, s.HeapInuse), append(fd, s.OpenFDs)
		gc = append(gc, s.NextGC)
	}
	return window{Samples: len(ss), RSSBytes: median(rss), Goroutines: median(g), HeapInuse: median(h), NextGC: median(gc),
		OpenFDs: median(fd)}
}

// Growth thresholds of the soak verdict: the last window's median may
// exceed the first's by at most this many goroutines plus this share, and
// RSS by this ratio.
const (
	goroutineSlack = 10
	goroutineShare = 0.01
	rssRatioLimit  = 1.10
)

// soak churns for cfg.Soak: one gateway-route update every cfg.SoakEvery
// (cycling through the gateways, each measured like (a)), and every
// cfg.ReconnectEvery a random cfg.ReconnectFraction of the clients
// restarts (new connection, new stream, no versions remembered). The
// server is sampled every cfg.SampleEvery.
func (m *measurer) soak(ctx context.Context, out *soakResult) error {
	cfg := m.cfg
	out.Changes.What = "soak: update of one gateway route; affected: the clients of that virtual gateway (some of them may be reconnecting)"
	out.Changes.Affected = cfg.ClientsPerGateway
	ctx2, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	var mu sync.Mutex
	take := func() {
		s, err := m.srv.sample(ctx)
		if err != nil {
			m.log.f("soak sample: %v", err)
			return
		}
		s.Elapsed = time.Since(start).Seconds()
		s.ClientsLive, s.ClientsTotal = m.f.live(), len(m.f.clients)
		mu.Lock()
		var steal, pressure float64
		if n := len(out.Samples); n > 0 {
			steal, pressure = s.StealSeconds-out.Samples[n-1].StealSeconds, s.CPUPressureSeconds-out.Samples[n-1].CPUPressureSeconds
		}
		out.Samples = append(out.Samples, s)
		mu.Unlock()
		m.log.f("soak %5.0fs: VmRSS %.1f MiB, VmHWM %.1f MiB, %.0f goroutines, heap %.1f MiB (next GC at %.1f), %.0f fds, %.0f proxies, %d/%d clients live, cpu %.1fs; machine since last: steal %.1fs, cpu pressure %.1fs; sample took %.0fms",
			s.Elapsed, mib(s.RSSBytes), mib(s.HWMBytes), s.Goroutines, s.HeapInuse/(1<<20), s.NextGC/(1<<20), s.OpenFDs, s.Proxies, s.ClientsLive, s.ClientsTotal, s.CPUSeconds,
			steal, pressure, s.SampleMs)
	}
	take()
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(cfg.SampleEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx2.Done():
				return
			case <-t.C:
				take()
			}
		}
	})
	reconnects := 0
	wg.Go(func() {
		if cfg.ReconnectEvery <= 0 || cfg.ReconnectFraction <= 0 {
			return
		}
		rng := rand.New(rand.NewPCG(cfg.Seed, 7))
		n := max(1, int(math.Round(cfg.ReconnectFraction*float64(len(m.f.clients)))))
		// Half a period out of phase with the sampler, so that samples
		// do not always catch the restarted clients mid-reconnect.
		sleep(ctx2, cfg.ReconnectEvery/2)
		t := time.NewTicker(cfg.ReconnectEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx2.Done():
				return
			case <-t.C:
				for _, c := range m.f.pick(rng, n) {
					c.reconnect()
				}
				mu.Lock()
				reconnects += n
				mu.Unlock()
			}
		}
	})

	tick := time.NewTicker(cfg.SoakEvery)
	defer tick.Stop()
	c0 := m.counters(ctx)
	for i := 0; time.Since(start) < cfg.Soak; i++ {
		select {
		case <-ctx.Done():
			stop()
			wg.Wait()
			return ctx.Err()
		case <-tick.C:
		}
		g := i % cfg.Gateways
		sessions := sessionsOf(m.f.byGW[g])
		st0, ps0 := machine()
		d, _, err := m.routeChange(ctx, g)
		if err != nil {
			if ctx.Err() != nil {
				stop()
				wg.Wait()
				return err
			}
			out.Changes.Failed++
			m.log.f("soak change %d: %v", i, err)
			continue
		}
		out.Changes.SamplesMs = append(out.Changes.SamplesMs, ms(d))
		if d > targetLatencyMs*time.Millisecond {
			st1, ps1 := machine()
			restarted := 0
			for j, n := range sessionsOf(m.f.byGW[g]) {
				if n != sessions[j] {
					restarted++
				}
			}
			m.log.f("soak change %d (%s) took %v: %d of its %d clients opened a new stream meanwhile; machine: steal %.1fs, cpu pressure %.1fs",
				i, gatewayName(g), d.Round(time.Millisecond), restarted, len(sessions), st1-st0, ps1-ps0)
		}
	}
	out.DurationSeconds = time.Since(start).Seconds()
	take()
	stop()
	wg.Wait()
	out.Changes.phaseEnd(c0, m.counters(ctx))
	out.Changes.finish()
	out.Reconnects = reconnects
	m.log.f("soak: %d changes (p50 %.1fms, p99 %.1fms, max %.1fms, %d failed), %d reconnects",
		len(out.Changes.SamplesMs), out.Changes.P50, out.Changes.P99, out.Changes.Max, out.Changes.Failed, out.Reconnects)

	// Growth: the median of the first window's samples against the last's.
	win := min(5*time.Minute, cfg.Soak/3).Seconds()
	out.WindowSeconds = win
	var first, last []sample
	for _, s := range out.Samples {
		if s.Elapsed <= win {
			first = append(first, s)
		}
		if s.Elapsed >= out.DurationSeconds-win {
			last = append(last, s)
		}
		out.MaxRSSBytes = max(out.MaxRSSBytes, s.RSSBytes)
		out.MaxGoroutines = max(out.MaxGoroutines, s.Goroutines)
		out.HWMBytes = max(out.HWMBytes, s.HWMBytes)
	}
	out.First, out.Last = windowOf(first), windowOf(last)
	out.GoroutineGrowth = out.Last.Goroutines - out.First.Goroutines
	out.RSSGrowth = out.Last.RSSBytes / out.First.RSSBytes
	out.HeapGrowth = out.Last.HeapInuse / out.First.HeapInuse
	out.NextGCGrowth = out.Last.NextGC / out.First.NextGC
	out.RSSSlope = slope(out.Samples, func(s sample) float64 { return float64(s.RSSBytes) }) * 600
	out.NextGCSlope = slope(out.Samples, func(s sample) float64 { return s.NextGC }) * 600
	out.GoroutineSlope = slope(out.Samples, func(s sample) float64 { return s.Goroutines }) * 600
	gLimit := goroutineSlack + goroutineShare*out.First.Goroutines
	out.Grows = out.GoroutineGrowth > gLimit || out.RSSGrowth > rssRatioLimit
	out.Verdict = fmt.Sprintf("goroutines %.0f → %.0f (limit +%.0f), RSS %.1f → %.1f MiB (×%.3f, limit ×%.2f), heap in use ×%.3f, next-GC heap goal ×%.3f: ",
		out.First.Goroutines, out.Last.Goroutines, gLimit, out.First.RSSBytes/(1<<20), out.Last.RSSBytes/(1<<20), out.RSSGrowth, rssRatioLimit,
		out.HeapGrowth, out.NextGCGrowth)
	if out.Grows {
		out.Verdict += "GROWTH"
	} else {
		out.Verdict += "no growth"
	}
	m.log.f("soak verdict: %s", out.Verdict)

	// Every client must end configured with the server's versions, and an
	// unrelated change must still push nothing.
	t := time.Now()
	if _, err := m.f.wait(ctx, m.f.clients, map[int]string{}, 2*changeBound); err != nil {
		return fmt.Errorf("after the soak: %w", err)
	}
	for m.f.live() < len(m.f.clients) && time.Since(t) < 2*changeBound {
		sleep(ctx, 50*time.Millisecond)
	}
	out.SettleSeconds = time.Since(t).Seconds()
	var err error
	if out.Unrelated, err = m.unrelated(ctx); err != nil {
		return err
	}
	if out.Verify, err = m.verify(ctx); err != nil {
		return err
	}
	var pushed []int64
	for _, q := range out.Unrelated {
		pushed = append(pushed, q.ClientPushes)
	}
	m.log.f("soak end: %d of %d clients hold the published versions; unrelated changes pushed %v", out.Verify.Matching, out.Verify.Clients, pushed)
	if out.Final, err = m.srv.sample(ctx); err != nil {
		return err
	}
	out.Final.Elapsed = time.Since(start).Seconds()
	out.Final.ClientsLive, out.Final.ClientsTotal = m.f.live(), len(m.f.clients)
	return nil
}

// slope is the least-squares slope of f over the samples' elapsed seconds.
func slope(ss []sample, f func(sample) float64) float64 {
	n := float64(len(ss))
	if n < 2 {
		return 0
	}
	var mx, my float64
	for _, s := range ss {
		mx += s.Elapsed / n
		my += f(s) / n
	}
	var sxy, sxx float64
	for _, s := range ss {
		sxy += (s.Elapsed - mx) * (f(s) - my)
		sxx += (s.Elapsed - mx) * (s.Elapsed - mx)
	}
	if sxx == 0 {
		return 0
	}
	return sxy / sxx
}

func sessionsOf(cs []*client) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.sessions.Load()
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
