package main

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshgate/meshgate/internal/gateway/configclient"
	"github.com/meshgate/meshgate/internal/gateway/metrics"
	"github.com/meshgate/meshgate/internal/gateway/run"
	"github.com/meshgate/meshgate/internal/gateway/supervisor"
	"github.com/meshgate/meshgate/internal/model"
	"github.com/meshgate/meshgate/internal/store"
)

// gatewaySupervisor runs a gateway per virtual gateway in this process, each
// subscribed to this server's xDS like a separate `meshgate gateway`: over
// the unix socket when there is one, else over TCP. Their metrics join the
// server's registry, labelled by virtual gateway.
func gatewaySupervisor(f *serverFlags, st store.Store, ls *listeners, reg *prometheus.Registry, log *slog.Logger) (*supervisor.Supervisor, error) {
	target := ""
	switch {
	case ls.xdsSocket != nil:
		target = "unix://" + ls.xdsSocket.Addr().String()
	case f.xdsTLSCert == "":
		target = ls.xds.Addr().String()
	default:
		// A TLS-only server: the in-process gateways would need its CA.
		target = ls.xds.Addr().String()
	}
	eps, err := configclient.ParseEndpoints(target, "")
	if err != nil {
		return nil, err
	}
	return &supervisor.Supervisor{
		Store:  st,
		Logger: log,
		New: func(k model.GatewayKey) run.Config {
			glog := log.With("gateway", k.String())
			m, err := metrics.New(prometheus.WrapRegistererWith(prometheus.Labels{"virtual_gateway": k.String()}, reg))
			if err != nil {
				glog.Warn("gateway metrics unavailable", "err", err)
			}
			return run.Config{
				Client:          configclient.Options{Endpoints: eps, NodeID: k.String(), Resource: k.String(), Logger: glog, MaxBackoff: 2 * time.Second},
				ListenHost:      f.gatewayListenHost,
				ShutdownTimeout: 10 * time.Second,
				GatewayMetrics:  m,
				Logger:          glog,
				Version:         version,
			}
		},
	}, nil
}
