package store

import "testing"

func TestRawInt(t *testing.T) {
	for _, tc := range []struct {
		format int16
		b      []byte
		want   int
	}{
		{1, []byte{0, 0, 0x27, 0x10}, 10000},
		{1, []byte{0, 0, 0, 0, 0, 0, 0, 7}, 7},
		{0, []byte("123"), 123},
	} {
		if got, err := rawInt(tc.format, tc.b); err != nil || got != tc.want {
			t.Errorf("rawInt(%d, %v) = %d, %v; want %d", tc.format, tc.b, got, err, tc.want)
		}
	}
	if _, err := rawInt(1, []byte{1, 2}); err == nil {
		t.Error("a 2-byte binary integer was accepted")
	}
}
