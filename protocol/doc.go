// Package protocol holds the messages of every ingest door — the WebSocket, POST /v1/events and
// the Segment-compatible API: their types, decoding, limits, and the rules for ts and event ids.
// It does no I/O, so each door answers the same input with the same result and error code
// (docs/protocol.md).
//
// Decoding is strict where encoding/json v1 was lenient, because what the relay accepts it must
// store: keys match case-sensitively, text is valid UTF-8 (lone surrogate escapes included),
// a key may not repeat at any depth, and props and traits may not hold \u0000, which PostgreSQL's
// jsonb refuses (one such row used to fail whole COPY batches). github.com/go-json-experiment/json
// (encoding/json/v2 behind GOEXPERIMENT=jsonv2) gives all of this by default; v1 offers none.
// Strictness costs ~0.1 µs per 250-byte event over v1 (BenchmarkDecode, 1.28 µs in 3
// allocations); a hand-driven jsontext.Decoder was ~20 % faster and not worth its 150 lines
// (docs/benchmarks.md).
package protocol
