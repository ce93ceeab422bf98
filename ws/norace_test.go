//go:build !race

package ws_test

// slowdownBound is the bound TestRejectedRowsDoNotStallAnotherProject holds: maxSlowdown.
func slowdownBound() float64 { return maxSlowdown }
