package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
)

// Targets of issue 5, target 4.
const (
	targetLatencyMs = 2000
	targetRSSBytes  = 512 << 20
)

// writeSummary prints runs as Markdown: one column per run and the median.
func writeSummary(w io.Writer, rs []*result) {
	if len(rs) == 0 {
		return
	}
	c := rs[0].Config
	fmt.Fprintf(w, "\n%d clients (%d virtual gateways × %d, kind %s, %s), %d gateway routes (%d per gateway), %d virtual services\n\n",
		c.clients(), c.Gateways, c.ClientsPerGateway, c.Kind, conns(c), c.Gateways*c.Routes, c.Routes, c.Services)

	measured := false
	for _, r := range rs {
		if len(r.RouteChange.SamplesMs) > 0 || r.Server.RSSBytes > 0 {
			measured = true
		}
	}
	if measured {
		head := "| | "
		sep := "|---|"
		for i := range rs {
			head += fmt.Sprintf("run %d | ", i+1)
			sep += "---|"
		}
		if len(rs) > 1 {
			head += "median | "
			sep += "---|"
		}
		fmt.Fprintln(w, head+"target |")
		fmt.Fprintln(w, sep+"---|")
		row := func(name, format, target string, get func(*result) float64) {
			var vals []float64
			line := "| " + name + " | "
			for _, r := range rs {
				v := get(r)
				vals = append(vals, v)
				line += fmtv(format, v) + " | "
			}
			if len(rs) > 1 {
				line += fmtv(format, median(vals)) + " | "
			}
			fmt.Fprintln(w, line+target+" |")
		}
		row("create all resources (s)", "%.1f", "", func(r *result) float64 { return r.CreateSeconds })
		row("connect → all clients configured (s)", "%.2f", "", func(r *result) float64 { return r.ConnectSeconds })
		row("(a) route update → its gateway's clients: changes", "%.0f", "≥ 20", func(r *result) float64 { return float64(len(r.RouteChange.SamplesMs)) })
		row("(a) p50 (ms)", "%.1f", "", func(r *result) float64 { return r.RouteChange.P50 })
		row("(a) p99 (ms)", "%.1f", "≤ 2000", func(r *result) float64 { return r.RouteChange.P99 })
		row("(a) max (ms)", "%.1f", "≤ 2000", func(r *result) float64 { return r.RouteChange.Max })
		row("(a) failed / late", "%.0f", "0", func(r *result) float64 { return float64(r.RouteChange.Failed + r.RouteChange.Late) })
		row("(a) responses per affected client per change", "%.2f", "", func(r *result) float64 { return r.RouteChange.PerClient })
		row("(a) responses to other gateways' clients", "%.0f", "0", func(r *result) float64 { return float64(r.RouteChange.OtherPush) })
		row("(a) server: mean full sync, every gateway rebuilt (ms)", "%.1f", "", func(r *result) float64 { return r.RouteChange.SyncMeanMs })
		row("(b) change affecting all clients: changes", "%.0f", "", func(r *result) float64 { return float64(len(r.AllChange.SamplesMs)) })
		row("(b) p50 (ms)", "%.1f", "", func(r *result) float64 { return r.AllChange.P50 })
		row("(b) max (ms)", "%.1f", "≤ 2000", func(r *result) float64 { return r.AllChange.Max })
		row("(b) failed / late", "%.0f", "0", func(r *result) float64 { return float64(r.AllChange.Failed + r.AllChange.Late) })
		row("(b) responses per client per change", "%.2f", "", func(r *result) float64 { return r.AllChange.PerClient })
		row("(b) server: mean full sync (ms)", "%.1f", "", func(r *result) float64 { return r.AllChange.SyncMeanMs })
		for i, q := range rs[0].Unrelated {
			row(fmt.Sprintf("(c%d) pushes to clients: %s", i+1, q.What), "%.0f", "0", func(r *result) float64 {
				if i < len(r.Unrelated) {
					return float64(r.Unrelated[i].ClientPushes)
				}
				return math.NaN()
			})
		}
		row("(c) server pushes (meshgate_xds_pushes_total) in those windows", "%.0f", "0", func(r *result) float64 {
			var n float64
			for _, q := range r.Unrelated {
				n += q.ServerPushes
			}
			return n
		})
		row("clients holding the server's published versions", "%.0f", fmt.Sprint(c.clients()), func(r *result) float64 { return float64(r.Verify.Matching) })
		row("(d) server VmHWM, peak RSS (MiB)", "%.1f", "< 512", func(r *result) float64 { return mib(r.Server.HWMBytes) })
		row("(d) server VmRSS after (MiB)", "%.1f", "< 512", func(r *result) float64 { return mib(r.Server.RSSBytes) })
		row("(d) server goroutines", "%.0f", "", func(r *result) float64 { return r.Server.Goroutines })
		row("(d) server heap in use (MiB)", "%.1f", "", func(r *result) float64 { return r.Server.HeapInuse / (1 << 20) })
		row("(d) server open fds", "%.0f", "", func(r *result) float64 { return r.Server.OpenFDs })
		row("server CPU, whole run (s)", "%.1f", "", func(r *result) float64 { return r.Server.CPUSeconds })
		row("load tool CPU, whole run (s)", "%.1f", "", func(r *result) float64 { return r.ToolCPUSecs })
		row("client streams refused (RESOURCE_EXHAUSTED) / other ends", "%.0f", "", func(r *result) float64 {
			return float64(r.Clients.Refused + r.Clients.Failures)
		})
	}
	for i, r := range rs {
		if r.Error != "" {
			fmt.Fprintf(w, "\nrun %d ERROR: %s\n", i+1, r.Error)
		}
		for _, m := range r.Verify.Mismatches {
			fmt.Fprintf(w, "run %d mismatch: %s\n", i+1, m)
		}
		for _, reason := range slices.Sorted(maps.Keys(r.Clients.Errors)) {
			fmt.Fprintf(w, "run %d: %d client stream ends not asked for: %s\n", i+1, r.Clients.Errors[reason], reason)
		}
	}
	for i, r := range rs {
		if s := r.Soak; s != nil {
			writeSoak(w, i+1, r)
		}
	}
	fmt.Fprintln(w)
}

func writeSoak(w io.Writer, n int, r *result) {
	s := r.Soak
	c := r.Config
	fmt.Fprintf(w, "\nSoak (run %d): %.0f s; one gateway-route update every %v (%d changes, %d failed), %.0f%% of the clients restarted every %v (%d restarts), samples every %v (%d)\n\n",
		n, s.DurationSeconds, c.SoakEvery, len(s.Changes.SamplesMs), s.Changes.Failed, c.ReconnectFraction*100, c.ReconnectEvery, s.Reconnects, c.SampleEvery, len(s.Samples))
	fmt.Fprintln(w, "| | first sample | first window median | last window median | last sample | max | verdict |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	if len(s.Samples) == 0 {
		return
	}
	f, l := s.Samples[0], s.Samples[len(s.Samples)-1]
	gLimit := goroutineSlack + goroutineShare*s.First.Goroutines
	fmt.Fprintf(w, "| server goroutines | %.0f | %.0f | %.0f | %.0f | %.0f | %+.0f (limit +%.0f) |\n",
		f.Goroutines, s.First.Goroutines, s.Last.Goroutines, l.Goroutines, s.MaxGoroutines, s.GoroutineGrowth, gLimit)
	fmt.Fprintf(w, "| server VmRSS (MiB) | %.1f | %.1f | %.1f | %.1f | %.1f | ×%.3f (limit ×%.2f) |\n",
		mib(f.RSSBytes), s.First.RSSBytes/(1<<20), s.Last.RSSBytes/(1<<20), mib(l.RSSBytes), mib(s.MaxRSSBytes), s.RSSGrowth, rssRatioLimit)
	fmt.Fprintf(w, "| server heap in use (MiB) | %.1f | %.1f | %.1f | %.1f | | ×%.3f |\n",
		f.HeapInuse/(1<<20), s.First.HeapInuse/(1<<20), s.Last.HeapInuse/(1<<20), l.HeapInuse/(1<<20), s.HeapGrowth)
	fmt.Fprintf(w, "| server next-GC heap goal (MiB) | %.1f | %.1f | %.1f | %.1f | | ×%.3f |\n",
		f.NextGC/(1<<20), s.First.NextGC/(1<<20), s.Last.NextGC/(1<<20), l.NextGC/(1<<20), s.NextGCGrowth)
	fmt.Fprintf(w, "| server open fds | %.0f | %.0f | %.0f | %.0f | | |\n", f.OpenFDs, s.First.OpenFDs, s.Last.OpenFDs, l.OpenFDs)
	fmt.Fprintf(w, "| server VmHWM (MiB) | | | | %.1f | %.1f | target < 512 |\n", mib(l.HWMBytes), mib(s.HWMBytes))
	fmt.Fprintf(w, "\nwindows: first and last %.0f s; %s\n", s.WindowSeconds, s.Verdict)
	fmt.Fprintf(w, "trend over all samples (least squares, per 10 min): RSS %+.2f MiB, next-GC heap goal %+.2f MiB, goroutines %+.1f\n",
		s.RSSSlope/(1<<20), s.NextGCSlope/(1<<20), s.GoroutineSlope)
	fmt.Fprintf(w, "soak changes: p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d over 2 s, %d failed; server CPU during the soak %.1f s; %d full syncs, mean %.1f ms\n",
		s.Changes.P50, s.Changes.P99, s.Changes.Max, s.Changes.Over2s, s.Changes.Failed, s.Changes.ServerCPUs, s.Changes.Syncs, s.Changes.SyncMeanMs)
	fmt.Fprintf(w, "the machine during the soak: %.1f s of CPU stolen by the hypervisor, %.1f s of CPU pressure (some task waiting for a CPU)\n",
		l.StealSeconds-f.StealSeconds, l.CPUPressureSeconds-f.CPUPressureSeconds)
	var pushes []string
	for _, q := range s.Unrelated {
		pushes = append(pushes, fmt.Sprint(q.ClientPushes))
	}
	fmt.Fprintf(w, "after the soak: every client configured again in %.2f s; %d of %d hold the published versions; unrelated changes pushed [%s]\n",
		s.SettleSeconds, s.Verify.Matching, s.Verify.Clients, strings.Join(pushes, " "))
}

func conns(c config) string {
	if c.SharedConns > 0 {
		return fmt.Sprintf("streams multiplexed over %d gRPC connections", c.SharedConns)
	}
	return "one gRPC connection each"
}

func fmtv(format string, v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf(format, v)
}
