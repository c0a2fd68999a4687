// Package metrics is the Go gateway's Prometheus instrumentation.
//
// Everything is registered on the prometheus.Registerer given to New; the
// package never touches the global registry, so tests and several gateways
// in one process do not collide.
//
// # Names
//
// All metrics are meshgate_gateway_*. Each HELP text names the Envoy stat
// it stands for, so App Mesh dashboards can be mapped over:
//
//	per listener (label listener="<port>")
//	  listener_requests_total               http.<prefix>.downstream_rq_total
//	  listener_responses_total{code_class}  http.<prefix>.downstream_rq_<N>xx
//	  listener_request_duration_seconds     http.<prefix>.downstream_rq_time
//	  listener_active_requests              http.<prefix>.downstream_rq_active
//	  listener_active_connections           listener.<addr>.downstream_cx_active
//	  listener_connections_total            listener.<addr>.downstream_cx_total
//	  listener_overflows_total              upstream_rq_pending_overflow of the
//	                                        listener's connection pool (self_redirect)
//	  listener_no_route_total               http.<prefix>.no_route
//	per gateway route (label gateway_route)
//	  route_requests_total, route_responses_total{code_class},
//	  route_request_duration_seconds        (Envoy keeps no per-route stats)
//	per cluster (label cluster)
//	  cluster_upstream_requests_total       cluster.<name>.upstream_rq_total
//	  cluster_upstream_responses_total{code_class}  upstream_rq_<N>xx
//	  cluster_upstream_request_duration_seconds     upstream_rq_time
//	  cluster_upstream_active_requests      upstream_rq_active
//	  cluster_upstream_errors_total{reason} upstream_cx_connect_fail,
//	                                        upstream_rq_timeout, upstream_rq_rx_reset, ...
//	  cluster_upstream_retries_total        upstream_rq_retry
//	  cluster_upstream_retry_limit_exceeded_total  upstream_rq_retry_limit_exceeded
//	  cluster_no_healthy_upstream_total     upstream_cx_none_healthy
//	  cluster_upstream_active_connections   upstream_cx_active
//	  cluster_upstream_connect_failures_total  upstream_cx_connect_fail
//	  cluster_endpoints                     membership_total
//	  cluster_updates_total{result}         update_success / update_failure
//	  cluster_health_transitions_total{to}  health_check.success / failure
//	  cluster_outlier_ejections_total       outlier_detection.ejections_enforced_total
//	  cluster_outlier_ejections_active      outlier_detection.ejections_active
//	gateway
//	  access_log_dropped_total              (Envoy blocks or fails the write)
//	  config_info{version}                  lds/cds version gauges
//	  config_applies_total                  lds/cds update_success
//	  config_rejections_total               lds/cds update_rejected
//	  metric_label_overflows{kind}          (how many names share the "other" series)
//
// # Cardinality
//
// Label values come only from the configuration: listener ports, gateway
// route names and cluster names. The request path never sees a string:
// the caller resolves Listener, Route and Cluster handles once per
// configuration, and observing a request is a few atomic operations on
// them (no map lookup, no allocation). Each kind is capped (Limits; by
// default 100 listeners, 1,000 gateway routes, 1,000 clusters); names past
// the cap share one series labelled Other, and metric_label_overflows says
// how many do. Prune, called on each configuration change, deletes the
// series of names the configuration no longer has, so series do not
// accumulate over a gateway's life.
package metrics
