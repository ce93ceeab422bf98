// Package metrics exposes the relay's measurements in Prometheus format at /metrics. Its Metrics
// type is the observer the batcher, the flag pusher and the WebSocket edge report to, so those
// packages need no Prometheus import. Labels never carry event payloads or personal data.
package metrics

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every collector, on a registry of its own.
type Metrics struct {
	reg *prometheus.Registry

	connections      prometheus.Gauge
	refused          *prometheus.CounterVec
	messages         *prometheus.CounterVec
	messagesByType   map[string]prometheus.Counter // the known types, resolved once: Message runs per message
	rejected         *prometheus.CounterVec
	acks             prometheus.Counter
	eventsCommitted  prometheus.Counter
	eventsRejected   *prometheus.CounterVec
	batchSize        prometheus.Histogram
	flushSeconds     *prometheus.HistogramVec
	bufferBytes      prometheus.Gauge
	flushRetries     prometheus.Counter
	flagPushes       prometheus.Counter
	flagPushSeconds  prometheus.Histogram
	flagsSent        prometheus.Counter
	listenerConnects prometheus.Counter
	tsReplaced       *prometheus.CounterVec

	// The Segment-compatible API's (package segment).
	segmentMessages, segmentRefused, segmentRequests *prometheus.CounterVec
}

// New registers every collector, plus Go runtime and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := promauto.With(reg)
	m := &Metrics{
		reg:              reg,
		connections:      f.NewGauge(prometheus.GaugeOpts{Name: "beacon_ws_connections", Help: "Open WebSocket connections."}),
		refused:          f.NewCounterVec(prometheus.CounterOpts{Name: "beacon_ws_refused_total", Help: "Connections and ingest requests refused before any message, by reason."}, []string{"reason"}),
		messages:         f.NewCounterVec(prometheus.CounterOpts{Name: "beacon_messages_total", Help: "Messages received, by type (WebSocket and HTTP ingest)."}, []string{"type"}),
		rejected:         f.NewCounterVec(prometheus.CounterOpts{Name: "beacon_messages_rejected_total", Help: "Messages answered with an error, by error code."}, []string{"code"}),
		acks:             f.NewCounter(prometheus.CounterOpts{Name: "beacon_acks_sent_total", Help: "Ack messages sent."}),
		eventsCommitted:  f.NewCounter(prometheus.CounterOpts{Name: "beacon_events_committed_total", Help: "Events written in committed COPY transactions (re-sent duplicates included)."}),
		eventsRejected:   f.NewCounterVec(prometheus.CounterOpts{Name: "beacon_events_rejected_total", Help: "Events PostgreSQL refused even alone, by SQLSTATE; kept in beacon.events_rejected and acknowledged."}, []string{"code"}),
		batchSize:        f.NewHistogram(prometheus.HistogramOpts{Name: "beacon_batch_rows", Help: "Rows per COPY transaction.", Buckets: prometheus.ExponentialBuckets(1, 4, 9)}),
		flushSeconds:     f.NewHistogramVec(prometheus.HistogramOpts{Name: "beacon_flush_seconds", Help: "Duration of one COPY transaction, by outcome.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"outcome"}),
		bufferBytes:      f.NewGauge(prometheus.GaugeOpts{Name: "beacon_buffer_bytes", Help: "Bytes of events buffered or in flight (bounded by BUFFER_LIMIT_BYTES)."}),
		flushRetries:     f.NewCounter(prometheus.CounterOpts{Name: "beacon_flush_retries_total", Help: "COPY transactions retried after a transient error."}),
		flagPushes:       f.NewCounter(prometheus.CounterOpts{Name: "beacon_flag_pushes_total", Help: "Project pushes: one project's clients re-evaluated and handed their sets, after a flag change or listener reconnect."}),
		flagPushSeconds:  f.NewHistogram(prometheus.HistogramOpts{Name: "beacon_flag_evaluation_seconds", Help: "Time to re-evaluate and hand out one project's flags.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		flagsSent:        f.NewCounter(prometheus.CounterOpts{Name: "beacon_flag_evaluations_total", Help: "Evaluated flag sets written to clients (one per client per push or connect)."}),
		listenerConnects: f.NewCounter(prometheus.CounterOpts{Name: "beacon_listener_connects_total", Help: "Times the flag listener connected (1 + reconnects)."}),
		tsReplaced:       f.NewCounterVec(prometheus.CounterOpts{Name: "beacon_events_ts_replaced_total", Help: "Events whose client ts the relay replaced as implausible, by reason (too_old: older than MAX_EVENT_AGE; ahead: over 1 day ahead); the sender was warned (ts_replaced) and the value kept in sent_ts."}, []string{"reason"}),
		segmentMessages:  f.NewCounterVec(prometheus.CounterOpts{Name: "beacon_segment_messages_total", Help: "Messages received by the Segment-compatible API, by Segment type (invalid: unreadable or without a usable type or id)."}, []string{"type"}),
		segmentRefused:   f.NewCounterVec(prometheus.CounterOpts{Name: "beacon_segment_messages_refused_total", Help: "Messages of the Segment-compatible API refused (named in the 200 answer of their batch), by error code."}, []string{"code"}),
		segmentRequests:  f.NewCounterVec(prometheus.CounterOpts{Name: "beacon_segment_requests_refused_total", Help: "Requests of the Segment-compatible API refused whole (401 bad_write_key, 400 batch_too_large, 503 unavailable, …), by code."}, []string{"code"}),
		messagesByType:   map[string]prometheus.Counter{},
	}
	for _, typ := range []string{"event", "identify", "ping", "invalid"} {
		m.messagesByType[typ] = m.messages.WithLabelValues(typ)
	}
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// pgbatch.Observer

// Buffered implements pgbatch.Observer.
func (m *Metrics) Buffered(b int64) { m.bufferBytes.Add(float64(b)) }

// Released implements pgbatch.Observer.
func (m *Metrics) Released(b int64) { m.bufferBytes.Sub(float64(b)) }

// Flushed implements pgbatch.Observer.
func (m *Metrics) Flushed(rows int, d time.Duration, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.flushSeconds.WithLabelValues(outcome).Observe(d.Seconds())
	if err == nil {
		m.batchSize.Observe(float64(rows))
	}
}

// Committed implements pgbatch.Observer.
func (m *Metrics) Committed(rows int) { m.eventsCommitted.Add(float64(rows)) }

// Rejected implements pgbatch.Observer.
func (m *Metrics) Rejected(code string, rows int) {
	m.eventsRejected.WithLabelValues(code).Add(float64(rows))
}

// Retrying implements pgbatch.Observer.
func (m *Metrics) Retrying(error, int, time.Duration) { m.flushRetries.Inc() }

// flags.Observer

// Pushed implements flags.Observer.
func (m *Metrics) Pushed(_ uuid.UUID, _ int, d time.Duration) {
	m.flagPushes.Inc()
	m.flagPushSeconds.Observe(d.Seconds())
}

// ListenerReconnected implements flags.Observer.
func (m *Metrics) ListenerReconnected() { m.listenerConnects.Inc() }

// ws.Observer

// Connected implements ws.Observer.
func (m *Metrics) Connected(delta int) { m.connections.Add(float64(delta)) }

// Refused implements ws.Observer.
func (m *Metrics) Refused(reason string) { m.refused.WithLabelValues(reason).Inc() }

// Message implements ws.Observer.
func (m *Metrics) Message(typ string) {
	if c, ok := m.messagesByType[typ]; ok {
		c.Inc()
		return
	}
	m.messages.WithLabelValues(typ).Inc()
}

// MessageRejected implements ws.Observer.
func (m *Metrics) MessageRejected(code string) { m.rejected.WithLabelValues(code).Inc() }

// Acked implements ws.Observer.
func (m *Metrics) Acked() { m.acks.Inc() }

// FlagsSent implements ws.Observer.
func (m *Metrics) FlagsSent() { m.flagsSent.Inc() }

// TSReplaced implements ws.Observer.
func (m *Metrics) TSReplaced(reason string) { m.tsReplaced.WithLabelValues(reason).Inc() }

// segment.Observer

// SegmentMessage implements segment.Observer.
func (m *Metrics) SegmentMessage(typ string) { m.segmentMessages.WithLabelValues(typ).Inc() }

// SegmentMessageRefused implements segment.Observer.
func (m *Metrics) SegmentMessageRefused(code string) { m.segmentRefused.WithLabelValues(code).Inc() }

// SegmentRequestRefused implements segment.Observer.
func (m *Metrics) SegmentRequestRefused(code string) { m.segmentRequests.WithLabelValues(code).Inc() }
