package protocol_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/beacon-analytics/beacon/protocol"
)

// benchFrame is a typical SDK event: ~200 bytes of props.
var benchFrame = []byte(`{"type":"event","event":"page_view","props":{"path":"/pricing","referrer":"https://www.example.com/blog/post","title":"Pricing — Beacon","screen":"1920x1080","lang":"en-GB","plan":"pro","n":42},"ts":1764849600000,"id":"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","seq":17}`)

// BenchmarkDecode is the decoder in use (go-json-experiment/json, strict) plus event validation.
func BenchmarkDecode(b *testing.B) {
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		m, e := protocol.Decode(benchFrame)
		if e != nil {
			b.Fatal(e)
		}
		if _, e := limits.Event(&m, now); e != nil {
			b.Fatal(e)
		}
	}
}

// v1Message is Message for encoding/json v1, which the package does not use (it cannot be made
// strict): the baseline BenchmarkDecode is compared with.
type v1Message struct {
	Type   string          `json:"type"`
	Event  string          `json:"event"`
	Props  json.RawMessage `json:"props"`
	TS     json.RawMessage `json:"ts"`
	ID     string          `json:"id"`
	Seq    uint64          `json:"seq"`
	UserID string          `json:"userId"`
	Traits json.RawMessage `json:"traits"`
}

// BenchmarkDecodeV1 decodes the same frame with encoding/json v1 (lenient; no validation).
func BenchmarkDecodeV1(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var m v1Message
		if err := json.Unmarshal(benchFrame, &m); err != nil {
			b.Fatal(err)
		}
	}
}
