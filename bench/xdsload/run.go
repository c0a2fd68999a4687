package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// config is one run of the tool.
type config struct {
	Bin               string        `json:"-"` // meshgate binary; "" builds one
	Gateways          int           `json:"gateways"`
	ClientsPerGateway int           `json:"clientsPerGateway"`
	Routes            int           `json:"routesPerGateway"`
	Services          int           `json:"services"`
	Kind              string        `json:"kind"`
	MaxProxies        int           `json:"xdsMaxProxies"` // --xds-max-proxies; < 0: the server's default
	SharedConns       int           `json:"sharedConns"`   // 0: a connection per client
	Changes           int           `json:"routeChanges"`
	AllChanges        int           `json:"allChanges"`
	Gap               time.Duration `json:"gap"`
	Quiet             time.Duration `json:"quietWindow"`
	ConvergeTimeout   time.Duration `json:"convergeTimeout"`
	Soak              time.Duration `json:"soak"`
	SoakEvery         time.Duration `json:"soakChangeEvery"`
	SampleEvery       time.Duration `json:"sampleEvery"`
	ReconnectEvery    time.Duration `json:"reconnectEvery"`
	ReconnectFraction float64       `json:"reconnectFraction"`
	Workers           int           `json:"apiWorkers"`
	Seed              uint64        `json:"seed"`

	ServerLog io.Writer `json:"-"`
	Log       io.Writer `json:"-"` // progress; nil: discarded
}

func (c config) clients() int { return c.Gateways * c.ClientsPerGateway }

// result is what one run measured; every duration is in milliseconds.
type result struct {
	Config   config    `json:"config"`
	Started  time.Time `json:"started"`
	ServerPI int       `json:"serverPid"`

	CreateSeconds  float64 `json:"createSeconds"`  // all resources through the API
	ConnectSeconds float64 `json:"connectSeconds"` // clients started → all configured
	AfterConnect   sample  `json:"afterConnect"`

	RouteChange latencies `json:"routeChange"` // (a)
	AllChange   latencies `json:"allChange"`   // (b)
	Unrelated   []quiet   `json:"unrelated"`   // (c)
	Verify      verify    `json:"verify"`
	Server      sample    `json:"server"` // (d) after the measurements

	Soak *soakResult `json:"soak,omitempty"`

	Clients      clientTotals `json:"clients"`
	ToolCPUSecs  float64      `json:"toolCpuSeconds"`
	Error        string       `json:"error,omitempty"`
	FinishedSecs float64      `json:"durationSeconds"`
}

// latencies are change-to-configured times of several changes.
type latencies struct {
	What       string    `json:"what"`
	SamplesMs  []float64 `json:"samplesMs"`
	P50        float64   `json:"p50Ms"`
	P99        float64   `json:"p99Ms"`
	Max        float64   `json:"maxMs"`
	Failed     int       `json:"failed"`               // changes not configured within the bound
	Late       int       `json:"late"`                 // clients that changed again after a change was seen as done
	OtherPush  int64     `json:"pushesToUnaffected"`   // responses to clients of other gateways during the changes
	PerClient  float64   `json:"responsesPerAffected"` // responses per affected client per change
	Over2s     int       `json:"over2s"`
	Affected   int       `json:"affectedPerChange"`
	ServerCPUs float64   `json:"serverCpuSeconds"`
	Syncs      int       `json:"syncs,omitempty"`      // full syncs (every gateway rebuilt) during the phase
	SyncMeanMs float64   `json:"syncMeanMs,omitempty"` // their mean duration
}

func (l *latencies) finish() {
	s := slices.Clone(l.SamplesMs)
	slices.Sort(s)
	l.P50, l.P99, l.Max = pct(s, 0.50), pct(s, 0.99), pct(s, 1)
	for _, v := range s {
		if v > 2000 {
			l.Over2s++
		}
	}
}

// pct is the nearest-rank percentile of sorted s.
func pct(s []float64, q float64) float64 {
	if len(s) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func median(s []float64) float64 {
	if len(s) == 0 {
		return 0
	}
	s = slices.Clone(s)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// quiet is an unrelated change and the pushes it caused.
type quiet struct {
	What          string  `json:"what"`
	WindowSeconds float64 `json:"windowSeconds"`
	ClientPushes  int64   `json:"clientPushes"` // responses received by any load client
	ServerPushes  float64 `json:"serverPushes"` // meshgate_xds_pushes_total delta
}

// verify compares every client's versions with the server's published ones.
type verify struct {
	Clients    int      `json:"clients"`
	Matching   int      `json:"matching"`
	Rollouts   int      `json:"rolloutsInProgress"`
	Mismatches []string `json:"mismatches,omitempty"` // the first few
}

type logger struct{ w io.Writer }

func (l logger) f(format string, args ...any) {
	if l.w != nil {
		fmt.Fprintf(l.w, time.Now().Format("15:04:05.000")+" "+format+"\n", args...)
	}
}

// run starts a server, creates the layout, connects the fleet, measures
// and (with Soak > 0) soaks. The result is filled as far as the run got.
func run(ctx context.Context, cfg config) (res *result, err error) {
	res = &result{Config: cfg, Started: time.Now()}
	log := logger{cfg.Log}
	defer func() {
		if err != nil {
			res.Error = err.Error()
		}
		res.ToolCPUSecs = selfCPU()
		res.FinishedSecs = time.Since(res.Started).Seconds()
	}()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))

	dir, err := os.MkdirTemp("", "xdsload-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	bin := cfg.Bin
	if bin == "" {
		if bin, err = buildMeshgate(dir); err != nil {
			return res, err
		}
	}
	args := []string{"--quota", fmt.Sprintf("virtualGatewaysPerMesh=%d,gatewayRoutesPerVirtualGateway=%d,virtualNodesPerMesh=%d,virtualServicesPerMesh=%d",
		max(cfg.Gateways, 3), max(cfg.Routes, 10), max(cfg.Services+1, 200), max(cfg.Services, 200))}
	if cfg.MaxProxies >= 0 {
		args = append(args, "--xds-max-proxies", strconv.Itoa(cfg.MaxProxies))
	}
	srv, err := startServer(bin, dir, cfg.ServerLog, args...)
	if err != nil {
		return res, err
	}
	defer srv.stop()
	res.ServerPI = srv.pid()
	log.f("server pid %d: api %s, xds %s, admin %s", srv.pid(), srv.api, srv.xds, srv.admin)

	a := newAPI(srv.api)
	t := time.Now()
	if err := a.create(ctx, layout{Gateways: cfg.Gateways, Routes: cfg.Routes, Services: cfg.Services}, cfg.Workers); err != nil {
		return res, err
	}
	res.CreateSeconds = time.Since(t).Seconds()
	log.f("created %d gateways × %d gateway routes, %d virtual nodes and services in %.1fs",
		cfg.Gateways, cfg.Routes, cfg.Services, res.CreateSeconds)

	f, err := newFleet(srv.xds, cfg.Gateways, cfg.ClientsPerGateway, cfg.Kind, cfg.SharedConns)
	if err != nil {
		return res, err
	}
	defer func() { res.Clients = f.totals() }()
	defer f.stop()
	t = time.Now()
	f.start(ctx)
	if _, err := f.wait(ctx, f.clients, map[int]string{}, cfg.ConvergeTimeout); err != nil {
		return res, fmt.Errorf("initial configuration: %w (client totals %+v)", err, f.totals())
	}
	res.ConnectSeconds = time.Since(t).Seconds()
	log.f("%d clients connected and configured in %.2fs", len(f.clients), res.ConnectSeconds)
	if res.AfterConnect, err = srv.sample(ctx); err != nil {
		return res, err
	}
	res.AfterConnect.ClientsLive, res.AfterConnect.ClientsTotal = f.live(), len(f.clients)

	m := &measurer{cfg: cfg, srv: srv, api: a, f: f, rng: rng, log: log, ver: map[[2]int]int{}}
	if cfg.Changes > 0 {
		if res.RouteChange, err = m.routeChanges(ctx); err != nil {
			return res, err
		}
		log.f("(a) %d gateway-route updates, %d clients each: p50 %.1fms p99 %.1fms max %.1fms (pushes to other gateways' clients: %d)",
			len(res.RouteChange.SamplesMs), res.RouteChange.Affected, res.RouteChange.P50, res.RouteChange.P99, res.RouteChange.Max, res.RouteChange.OtherPush)
	}
	if cfg.AllChanges > 0 {
		if res.AllChange, err = m.allChanges(ctx); err != nil {
			return res, err
		}
		log.f("(b) %d virtual-node updates reaching all %d clients: p50 %.1fms max %.1fms",
			len(res.AllChange.SamplesMs), len(f.clients), res.AllChange.P50, res.AllChange.Max)
	}
	if res.Unrelated, err = m.unrelated(ctx); err != nil {
		return res, err
	}
	for _, q := range res.Unrelated {
		log.f("(c) %s: %d pushes to clients, %.0f pushes by the server in %.0fs", q.What, q.ClientPushes, q.ServerPushes, q.WindowSeconds)
	}
	if res.Verify, err = m.verify(ctx); err != nil {
		return res, err
	}
	log.f("verify: %d of %d clients hold the server's published versions (%d rollouts in progress)",
		res.Verify.Matching, res.Verify.Clients, res.Verify.Rollouts)
	if res.Server, err = srv.sample(ctx); err != nil {
		return res, err
	}
	res.Server.ClientsLive, res.Server.ClientsTotal = f.live(), len(f.clients)
	log.f("(d) server: VmRSS %.1f MiB, VmHWM %.1f MiB, %.0f goroutines, heap in use %.1f MiB, %.0f fds",
		mib(res.Server.RSSBytes), mib(res.Server.HWMBytes), res.Server.Goroutines, res.Server.HeapInuse/(1<<20), res.Server.OpenFDs)

	if cfg.Soak > 0 {
		res.Soak = &soakResult{}
		err = m.soak(ctx, res.Soak)
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// selfCPU is this process's user+system CPU time.
func selfCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
