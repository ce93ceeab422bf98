// Package protocol holds the messages of every ingest door — the WebSocket, POST /v1/events and
// the Segment-compatible API to come: their types, decoding, limits, and the rules for ts and
// event ids. It does no I/O, so each door answers the same input with the same result and error
// code (docs/protocol.md).
//
// Decoding is strict where encoding/json v1 was lenient, because what the relay accepts it must
// store: keys match case-sensitively, text is valid UTF-8 (lone surrogate escapes included),
// a key may not repeat at any depth, and props and traits may not hold \u0000, which PostgreSQL's
// jsonb refuses (one such row used to fail whole COPY batches until halving isolated it).
// github.com/go-json-experiment/json gives all of this by default (it is encoding/json/v2 behind
// GOEXPERIMENT=jsonv2 in Go 1.27); v1 offers no option for any of it.
//
// Measured (go test -run X -bench . -count 3 ./protocol/, 2-core VM, Go 1.27.3): decoding a
// typical 250-byte event and validating it (BenchmarkDecode) takes 1.28 µs, 320 B in 3 allocations;
// encoding/json v1 only decoding the same frame into the same struct, no validation
// (BenchmarkDecodeV1), 1.14–1.21 µs, 320 B in 3 allocations. Strictness costs ~0.1 µs per event.
// Driving jsontext.Decoder by hand (a pooled decoder, member by member, no reflection) measured
// 0.9–1.1 µs against Unmarshal's 1.1–1.2 µs on the same frame: not worth its 150 lines. The
// one-pass scanner this replaced took ~0.36 µs, but froze encoding/json v1's quirks into the
// protocol; in the relay under ingest at C=100, decoding is now ~30 % of its CPU.
package protocol
