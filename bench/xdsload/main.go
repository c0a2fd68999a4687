// Command xdsload measures meshgate's xDS control plane at scale: it starts
// a real `meshgate server` (SQLite, --auth none, loopback ports picked by
// the kernel), creates virtual gateways, gateway routes, virtual nodes and
// services through the App Mesh API with aws-sdk-go-v2, connects N ADS
// clients (goroutines, each on its own gRPC connection, node.id
// mesh/M/virtualGateway/G) and measures:
//
//	(a) gateway-route update → every client of that gateway has it (per change: max over its clients)
//	(b) an update that affects every gateway → every client has it
//	(c) unrelated updates → responses received by any client (must be 0)
//	(d) the server's RSS (/proc/PID/status VmRSS, VmHWM) and goroutines (admin /metrics)
//
// With -soak D it then churns for D (a gateway-route update every
// -soak-every, -reconnect-fraction of the clients restarting every
// -reconnect-every) and samples the server every -sample-every.
//
//	go run ./bench/xdsload [flags]                   # one run; -json FILE keeps the result
//	go run ./bench/xdsload -summarize a.json b.json  # medians over runs, as Markdown
//
// bench/xds-scale.sh runs it the recorded way; see bench/results-xds-scale.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	cfg := config{}
	fs := flag.NewFlagSet("xdsload", flag.ExitOnError)
	fs.StringVar(&cfg.Bin, "meshgate", "", "meshgate binary to run (default: build ./cmd/meshgate into a temporary directory)")
	fs.IntVar(&cfg.Gateways, "gateways", 20, "virtual gateways (all in mesh \"scale\")")
	fs.IntVar(&cfg.ClientsPerGateway, "clients-per-gateway", 50, "ADS clients per virtual gateway")
	fs.IntVar(&cfg.Routes, "routes", 50, "gateway routes per virtual gateway")
	fs.IntVar(&cfg.Services, "services", 10, "virtual nodes, each providing one virtual service; route r targets service r % services")
	fs.StringVar(&cfg.Kind, "kind", "mixed", "what clients imitate: envoy (CDS, LDS, then EDS/RDS), gateway (meshgate gateway: GatewayConfig) or mixed (alternating)")
	fs.IntVar(&cfg.MaxProxies, "xds-max-proxies", -1, "the server's --xds-max-proxies (-1: its default, 50)")
	fs.IntVar(&cfg.SharedConns, "shared-conns", 0, "multiplex every client's stream over this many gRPC connections (0: one connection per client)")
	fs.IntVar(&cfg.Changes, "changes", 30, "(a) gateway-route updates, one at a time, cycling through the gateways")
	fs.IntVar(&cfg.AllChanges, "all-changes", 5, "(b) updates that affect every client")
	fs.DurationVar(&cfg.Gap, "gap", 250e6, "pause after each change has reached its clients")
	fs.DurationVar(&cfg.Quiet, "quiet", 5e9, "(c) how long pushes are counted after each unrelated change")
	fs.DurationVar(&cfg.ConvergeTimeout, "converge-timeout", 5*60e9, "bound on the initial configuration of every client")
	fs.DurationVar(&cfg.Soak, "soak", 0, "churn this long after the measurements, sampling the server (0: no soak)")
	fs.DurationVar(&cfg.SoakEvery, "soak-every", 1500e6, "soak: one gateway-route update this often")
	fs.DurationVar(&cfg.SampleEvery, "sample-every", 30e9, "soak: sample the server's RSS and goroutines this often")
	fs.DurationVar(&cfg.ReconnectEvery, "reconnect-every", 30e9, "soak: restart -reconnect-fraction of the clients this often")
	fs.Float64Var(&cfg.ReconnectFraction, "reconnect-fraction", 0.01, "soak: share of the clients restarted each time")
	fs.IntVar(&cfg.Workers, "workers", 8, "concurrent API calls while creating the resources")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed (which routes change, which clients reconnect)")
	jsonOut := fs.String("json", "", "write the result as JSON to this file")
	serverLog := fs.String("server-log", "", "write the server's log to this file (default: discarded)")
	summarize := fs.Bool("summarize", false, "print a Markdown summary (medians over runs) of the JSON result files given as arguments, and exit")
	fs.Parse(os.Args[1:])

	if *summarize {
		var rs []*result
		for _, p := range fs.Args() {
			b, err := os.ReadFile(p)
			if err != nil {
				fatal(err)
			}
			r := &result{}
			if err := json.Unmarshal(b, r); err != nil {
				fatal(fmt.Errorf("%s: %w", p, err))
			}
			rs = append(rs, r)
		}
		writeSummary(os.Stdout, rs)
		return
	}

	cfg.Log = os.Stdout
	if *serverLog != "" {
		f, err := os.Create(*serverLog)
		if err != nil {
			fatal(err)
		}
		defer f.Close()
		cfg.ServerLog = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg)
	if *jsonOut != "" {
		if werr := writeJSON(*jsonOut, res); werr != nil {
			fmt.Fprintln(os.Stderr, "xdsload:", werr)
		}
	}
	writeSummary(os.Stdout, []*result{res})
	if err != nil {
		fatal(err)
	}
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "xdsload:", err)
	os.Exit(1)
}
