// Package run wires a complete `meshgate gateway`: the data plane, its
// configuration subscription, the admin server and the graceful drain.
// `meshgate up` runs several of these in one process.
package run

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/meshgate/meshgate/internal/gateway"
	"github.com/meshgate/meshgate/internal/gateway/configclient"
	"github.com/meshgate/meshgate/internal/gateway/metrics"
)

// Config is what one gateway process needs.
type Config struct {
	Client      configclient.Options
	AdminListen string // "" = no admin server
	ListenHost  string
	DrainTime   time.Duration // how long to keep serving after SIGTERM before closing
	// ShutdownTimeout bounds the wait for in-flight requests after the drain.
	ShutdownTimeout time.Duration
	Upstreams       gateway.Upstreams
	Metrics         http.Handler // serves /stats/prometheus; may be nil
	GatewayMetrics  *metrics.Metrics
	Logger          *slog.Logger
	Version         string
}

// Gateway runs until ctx ends, then drains and stops. It returns an error
// only when it cannot start.
func Gateway(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	g := gateway.New(gateway.Options{ListenHost: cfg.ListenHost, Upstreams: cfg.Upstreams, Logger: log, Metrics: cfg.GatewayMetrics})
	client, err := configclient.New(cfg.Client, g.ApplyEncoded)
	if err != nil {
		return err
	}
	var admin *http.Server
	if cfg.AdminListen != "" {
		ln, err := net.Listen("tcp", cfg.AdminListen)
		if err != nil {
			return fmt.Errorf("admin listener: %w", err)
		}
		info := map[string]string{"resource": cfg.Client.Resource, "node_id": cfg.Client.NodeID, "version": cfg.Version}
		admin = &http.Server{Handler: g.AdminHandler(info, cfg.Metrics), ReadHeaderTimeout: 5 * time.Second}
		go admin.Serve(ln)
		log.Info("gateway admin", "addr", "http://"+ln.Addr().String())
	}
	client.LoadCache()
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { client.Run(runCtx); close(done) }()

	<-ctx.Done()
	// Drain: readiness off and Connection: close, while still serving, so
	// load balancers move clients elsewhere; then stop.
	log.Info("draining", "for", cfg.DrainTime)
	g.Drain()
	time.Sleep(cfg.DrainTime)
	stop()
	<-done
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = g.Shutdown(sctx)
	if admin != nil {
		admin.Close()
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	log.Info("gateway stopped")
	return nil
}
