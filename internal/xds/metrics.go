package xds

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus series. Type labels are the last
// part of the type URL (Cluster, ClusterLoadAssignment, Listener,
// RouteConfiguration, Secret, GatewayConfig).
type metrics struct {
	pushes            *prometheus.CounterVec // responses sent, by type
	acks              *prometheus.CounterVec
	nacks             *prometheus.CounterVec
	proxies           *prometheus.GaugeVec // connected proxies, by gateway
	translationErrors *prometheus.CounterVec
	snapshots         *prometheus.CounterVec // snapshots set, by gateway
	rejected          *prometheus.CounterVec // streams refused, by gRPC code
	syncSeconds       prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshgate_xds_pushes_total",
			Help: "xDS responses sent to proxies, by resource type.",
		}, []string{"type"}),
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshgate_xds_acks_total",
			Help: "xDS responses a proxy accepted (ACK), by resource type.",
		}, []string{"type"}),
		nacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshgate_xds_nacks_total",
			Help: "xDS responses a proxy rejected (NACK), by resource type. The proxy keeps its last good config.",
		}, []string{"type"}),
		proxies: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meshgate_xds_connected_proxies",
			Help: "Proxies connected, by virtual gateway (mesh/M/virtualGateway/G).",
		}, []string{"gateway"}),
		translationErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshgate_xds_translation_errors_total",
			Help: "Failed translations of a virtual gateway's configuration; its proxies keep the last good one.",
		}, []string{"gateway"}),
		snapshots: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshgate_xds_snapshots_total",
			Help: "Snapshots published, by virtual gateway (make-before-break steps count one each).",
		}, []string{"gateway"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshgate_xds_rejected_streams_total",
			Help: "xDS streams and fetches refused, by gRPC status code.",
		}, []string{"code"}),
		syncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "meshgate_xds_sync_seconds",
			Help:    "Time to rebuild every gateway after a store change.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
	}
	for _, c := range []prometheus.Collector{m.pushes, m.acks, m.nacks, m.proxies, m.translationErrors, m.snapshots, m.rejected, m.syncSeconds} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("xds metrics: %w", err)
		}
	}
	return m, nil
}
