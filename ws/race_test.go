//go:build race

package ws_test

// slowdownBound is what the neighbour test's bounds are multiplied by: 2 under the race detector
// (see maxSlowdown).
func slowdownBound() float64 { return 2 }
