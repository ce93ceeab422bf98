package ws

import "testing"

// The ack never covers a message in flight: seqs must rise, and the ack stays below the oldest
// one not finished, whatever order they finish in.
func TestAcks(t *testing.T) {
	var a acks
	step := func(what string, got, want uint64) {
		t.Helper()
		if got != want {
			t.Fatalf("%s: ack %d, want %d", what, got, want)
		}
	}
	for _, seq := range []uint64{1, 2, 5, 10} {
		if !a.start(seq) {
			t.Fatalf("rising seq %d refused", seq)
		}
	}
	for _, seq := range []uint64{10, 3, 0} {
		if a.start(seq) != (seq == 0) {
			t.Fatalf("seq %d after 10: start = %v", seq, !(seq == 0))
		}
	}
	a.finish(2)
	step("2 done, 1 in flight", a.take(), 0)
	a.finish(10)
	a.finish(1)
	step("1, 2 and 10 done, 5 in flight", a.take(), 4)
	if a.idle() {
		t.Fatal("idle with 5 in flight")
	}
	a.finish(5)
	step("all done", a.take(), 10)
	step("nothing new", a.take(), 0)
	if !a.idle() {
		t.Fatal("not idle with nothing in flight")
	}
	a.start(11)
	a.finish(11)
	step("after idle", a.take(), 11)
}
