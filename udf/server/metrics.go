package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/xlbatch/xlbatch/udf"
)

// metrics are the server's Prometheus collectors, on a registry of their own
// so that several servers (tests) can live in one process.
type metrics struct {
	reg *prometheus.Registry

	connections    prometheus.Gauge
	connectionsAll prometheus.Counter
	pending        prometheus.Gauge
	wsValues       prometheus.Counter
	wsErrors       prometheus.Counter
	httpValues     prometheus.Counter
	httpErrors     prometheus.Counter
	cancelled      prometheus.Counter
	shutdownFailed prometheus.Counter
	framesIn       prometheus.Counter
	framesOut      prometheus.Counter
	callSeconds    prometheus.Histogram
	rejected       *prometheus.CounterVec
	closes         *prometheus.CounterVec
}

func newMetrics(reg *udf.Registry) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "xlbatch_server_calls_total", Help: "Calls answered, by transport and outcome.",
	}, []string{"transport", "outcome"})
	m.wsValues = calls.WithLabelValues("ws", "value")
	m.wsErrors = calls.WithLabelValues("ws", "error")
	m.httpValues = calls.WithLabelValues("http", "value")
	m.httpErrors = calls.WithLabelValues("http", "error")
	m.connections = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "xlbatch_server_connections", Help: "Open WebSocket connections."})
	m.connectionsAll = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "xlbatch_server_connections_total", Help: "WebSocket connections accepted."})
	m.pending = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "xlbatch_server_pending_calls", Help: "WebSocket calls read and not yet answered or cancelled."})
	m.cancelled = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "xlbatch_server_calls_cancelled_total", Help: "Calls cancelled by the client or by a closed connection."})
	m.shutdownFailed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "xlbatch_server_calls_failed_at_shutdown_total", Help: "Calls failed with #N/A because the server shut down first."})
	m.framesIn = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "xlbatch_server_frames_received_total", Help: "WebSocket frames received."})
	m.framesOut = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "xlbatch_server_frames_sent_total", Help: "WebSocket frames sent."})
	m.callSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "xlbatch_server_call_seconds",
		Help:    "Time from reading a WebSocket call to its result being ready.",
		Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5, 30},
	})
	m.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "xlbatch_server_rejected_total", Help: "Requests refused, by reason (host, origin, token)."},
		[]string{"reason"})
	m.closes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "xlbatch_server_closes_total", Help: "WebSocket connections closed by the server, by close code."},
		[]string{"code"})

	engine := func(name, help string, get func(udf.Stats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return get(reg.Stats()) })
	}
	m.reg.MustRegister(calls, m.connections, m.connectionsAll, m.pending, m.cancelled, m.shutdownFailed,
		m.framesIn, m.framesOut, m.callSeconds, m.rejected, m.closes,
		engine("xlbatch_engine_calls_total", "Calls answered by the function registry.",
			func(s udf.Stats) float64 { return float64(s.Calls) }),
		engine("xlbatch_engine_errors_total", "Calls answered with an error value.",
			func(s udf.Stats) float64 { return float64(s.Errors) }),
		engine("xlbatch_engine_batches_total", "Batches dispatched to providers.",
			func(s udf.Stats) float64 { return float64(s.Batches) }),
		engine("xlbatch_engine_upstream_requests_total", "Requests that left the machine.",
			func(s udf.Stats) float64 { return float64(s.UpstreamRequests) }),
		engine("xlbatch_engine_cache_hits_total", "Calls answered from the cache.",
			func(s udf.Stats) float64 { return float64(s.CacheHits) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}
