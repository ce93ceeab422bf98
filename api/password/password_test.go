package password

import (
	"crypto/fips140"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckPolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, pw, email string
		reason          string // "" = accepted
	}{
		{"15 characters", "correct horse b", "", ""},
		{"14 characters", "correct horse ", "", "has 14 characters"},
		{"counts characters, not bytes", "éèêëéèêëéèêëéè", "", "has 14 characters"},
		{"15 accented characters", "crème brûlée à ", "", ""},
		{"256 characters", strings.Repeat("ab", 127) + "cd", "", ""},
		{"257 characters", strings.Repeat("abc", 85) + "xy", "", "at most 256"},
		{"common, long", "1qaz2wsx3edc4rfv", "", "common or breached"},
		{"common, any case", "PasswordPassword", "", "common or breached"},
		{"one character repeated", strings.Repeat("a", 20), "", "short piece repeated"},
		{"a common word repeated", strings.Repeat("dragon", 3), "", "short piece repeated"},
		{"no composition rules", "all lower case words here", "", ""},
		{"the email", "someone.long@example.com", "Someone.Long@example.com", "email address"},
		{"the email's local part", "someone.longname", "someone.longname@example.com", "email address"},
		{"not UTF-8", "abcdefghijklmnop\xff", "", "UTF-8"},
	} {
		_, err := Check(tc.pw, tc.email)
		var weak *WeakError
		switch {
		case tc.reason == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.reason != "" && (!errors.As(err, &weak) || !strings.Contains(weak.Reason, tc.reason)):
			t.Errorf("%s: err %v, want reason containing %q", tc.name, err, tc.reason)
		}
	}
}

func TestCheckNormalisesNFKC(t *testing.T) {
	t.Parallel()
	// "e" + combining acute (decomposed) and full-width digits become "é" and ASCII digits.
	got, err := Check("cafe\u0301 au lait ０１２３", "")
	if err != nil {
		t.Fatal(err)
	}
	if want := "café au lait 0123"; got != want {
		t.Errorf("normalised %q, want %q", got, want)
	}
	// Length is measured after normalisation: 14 decomposed characters are 15 code points
	// before and 14 after, so the password is refused.
	if _, err := Check("e\u0301abcdefghijklm", ""); err == nil {
		t.Error("14 characters after NFKC accepted")
	}
	// A common password typed in full-width letters is still the common password.
	if _, err := Check("ｐａｓｓｗｏｒｄｐａｓｓｗｏｒｄ", ""); err == nil {
		t.Error("full-width common password accepted")
	}
}

func TestCommonListIsBundled(t *testing.T) {
	t.Parallel()
	if n := CommonCount(); n < 10_000 {
		t.Errorf("%d common passwords bundled, want at least 10,000", n)
	}
}

func TestHashVerifyRehash(t *testing.T) {
	t.Parallel()
	pw := Normalize("a long enough passphrase")
	h, err := Hash(pw, 2_000)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$pbkdf2-sha256$i=2000$") {
		t.Errorf("hash %q does not describe itself", h)
	}
	ok, iter, err := Verify(pw, h)
	if err != nil || !ok || iter != 2_000 {
		t.Fatalf("Verify(right) = %v, %d, %v", ok, iter, err)
	}
	if ok, _, _ := Verify(pw+"x", h); ok {
		t.Error("Verify(wrong) = true")
	}
	if !NeedsRehash(iter, DefaultIterations) || NeedsRehash(DefaultIterations, DefaultIterations) {
		t.Error("NeedsRehash wrong")
	}
	h2, _ := Hash(pw, 2_000)
	if h2 == h {
		t.Error("two hashes of one password are equal: salt not random")
	}
	for _, bad := range []string{"", "$pbkdf2-sha256$i=10$AAAAAAAAAAAAAAAAAAAAAA$" + strings.Repeat("A", 43), "$bcrypt$x", h[:len(h)-5]} {
		if _, _, err := Verify(pw, bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("Verify(%q) err = %v, want ErrMalformed", bad, err)
		}
	}
	if _, err := Hash(pw, 10); err == nil {
		t.Error("Hash with 10 iterations accepted")
	}
}

// TestDefaultIterations hashes once with the real count: it must work (under fips140=only too,
// which CI runs) and take a noticeable time, or the count is not what it says.
func TestDefaultIterations(t *testing.T) {
	t.Parallel()
	start := time.Now()
	h, err := Hash(Normalize("a long enough passphrase"), DefaultIterations)
	if err != nil {
		t.Fatalf("fips140 enforced %v: %v", fips140.Enforced(), err)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("600,000 iterations took %v", d)
	}
	if !strings.HasPrefix(h, "$pbkdf2-sha256$i=600000$") {
		t.Errorf("hash %q", h)
	}
}

// FuzzCheck: any input is refused with a reason or accepted normalised and within the limits;
// nothing panics.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"correct horse b", "ｐａｓｓｗｏｒｄｐａｓｓｗｏｒｄ", "e\u0301abcdefghijklm", "\xff\xfe", strings.Repeat("ab", 200)} {
		f.Add(s, "a@b.c")
	}
	f.Fuzz(func(t *testing.T, pw, email string) {
		n, err := Check(pw, email)
		if err != nil {
			var weak *WeakError
			if !errors.As(err, &weak) || weak.Reason == "" {
				t.Fatalf("Check(%q) = %v, not a WeakError", pw, err)
			}
			return
		}
		if n != Normalize(n) {
			t.Fatalf("accepted %q is not NFKC", n)
		}
		if l := len([]rune(n)); l < MinLength || l > MaxLength {
			t.Fatalf("accepted %q of %d characters", n, l)
		}
	})
}
