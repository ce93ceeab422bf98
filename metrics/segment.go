package metrics

import "github.com/prometheus/client_golang/prometheus"

// segmentMetrics count the Segment-compatible API's traffic (package segment).
type segmentMetrics struct {
	messages *prometheus.CounterVec
	refused  *prometheus.CounterVec
	requests *prometheus.CounterVec
}

func newSegmentMetrics(reg *prometheus.Registry) segmentMetrics {
	s := segmentMetrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "beacon_segment_messages_total", Help: "Messages received by the Segment-compatible API, by Segment type (invalid: unreadable or without a usable type or id)."}, []string{"type"}),
		refused:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "beacon_segment_messages_refused_total", Help: "Messages of the Segment-compatible API refused (named in the 200 answer of their batch), by error code."}, []string{"code"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "beacon_segment_requests_refused_total", Help: "Requests of the Segment-compatible API refused whole (401 bad_write_key, 400 batch_too_large, 503 unavailable, …), by code."}, []string{"code"}),
	}
	reg.MustRegister(s.messages, s.refused, s.requests)
	return s
}

// SegmentMessage implements segment.Observer.
func (m *Metrics) SegmentMessage(typ string) { m.segment.messages.WithLabelValues(typ).Inc() }

// SegmentMessageRefused implements segment.Observer.
func (m *Metrics) SegmentMessageRefused(code string) { m.segment.refused.WithLabelValues(code).Inc() }

// SegmentRequestRefused implements segment.Observer.
func (m *Metrics) SegmentRequestRefused(code string) { m.segment.requests.WithLabelValues(code).Inc() }
