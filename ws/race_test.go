//go:build race

package ws_test

// slowdownBound is maxSlowdown's counterpart under the race detector (see maxSlowdown).
func slowdownBound() float64 { return 2 * maxSlowdown }
