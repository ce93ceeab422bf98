package main

import "testing"

// The limit grows with the buffer and with the connections, so 10,000 idle connections (about
// 26 KiB each) stay well under it and only the buffer can bring the heap near it.
func TestMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		buffer int64
		conns  int
		want   int64
	}{
		{64 << 20, 0, 96 << 20},
		{64 << 20, 100, 96<<20 + 100*64<<10},
		{64 << 20, 10_000, 96<<20 + 10_000*64<<10},
		{1 << 30, 0, 1<<30 + 32<<20},
	} {
		if got := memoryLimit(tc.buffer, tc.conns); got != tc.want {
			t.Errorf("memoryLimit(%d, %d) = %d, want %d", tc.buffer, tc.conns, got, tc.want)
		}
	}
	if per := memoryLimit(0, 10_000) - memoryLimit(0, 0); per < 10_000*2*26<<10 {
		t.Errorf("10,000 connections get %d bytes: less than twice their measured cost", per)
	}
}
