package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkObserve is what the proxy does per request with handles it
// resolved when the configuration was applied.
func BenchmarkObserve(b *testing.B) {
	m, err := New(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	l, r, c := m.Listener(8080), m.Route("color-route"), m.Cluster("cds_egress_mesh_white_http_9080")
	d := 7 * time.Millisecond
	b.ReportAllocs()
	for b.Loop() {
		l.RequestStarted()
		c.RequestStarted()
		c.RequestDone(200, d)
		r.Observe(200, d)
		l.RequestDone(200, d)
	}
}

func BenchmarkObserveParallel(b *testing.B) {
	m, err := New(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	l, r, c := m.Listener(8080), m.Route("color-route"), m.Cluster("cds_egress_mesh_white_http_9080")
	d := 7 * time.Millisecond
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.RequestStarted()
			c.RequestStarted()
			c.RequestDone(200, d)
			r.Observe(200, d)
			l.RequestDone(200, d)
		}
	})
}
