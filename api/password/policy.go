package password

import (
	"bufio"
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// common.txt: the 49,233 most common passwords of the zxcvbn-ts project's "common" dictionary
// (npm @zxcvbn-ts/language-common 4.1.3, src/passwords.json, one per line, lower case; MIT
// licence in common.LICENSE), which zxcvbn derived from leaked password corpora. Most are shorter
// than MinLength and are refused for that first; the list still catches the long ones
// ("1qaz2wsx3edc4rfv", "passwordpassword", …).
//
//go:embed common.txt
var commonText string

var common = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 50_000)
	sc := bufio.NewScanner(strings.NewReader(commonText))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			m[w] = struct{}{}
		}
	}
	return m
})

// CommonCount is the number of passwords on the bundled list.
func CommonCount() int { return len(common()) }

// WeakError says why a password was refused, in words meant for the person choosing it.
type WeakError struct{ Reason string }

func (e *WeakError) Error() string { return "password refused: " + e.Reason }

// Check applies the policy to a new password and returns it normalised (NFKC), ready for Hash.
// email, when given, is the account's: a password equal to it (or to its local part) is refused.
// It returns a *WeakError naming the reason when the password is refused.
func Check(pw, email string) (string, error) {
	if !utf8.ValidString(pw) {
		return "", &WeakError{"it is not valid UTF-8 text"}
	}
	n := Normalize(pw)
	switch l := length(n); {
	case l < MinLength:
		return "", &WeakError{fmt.Sprintf("it has %d characters; use at least %d (a few words make a good one)", l, MinLength)}
	case l > MaxLength:
		return "", &WeakError{fmt.Sprintf("it has %d characters; at most %d are allowed", l, MaxLength)}
	}
	lower := strings.ToLower(n)
	if _, bad := common()[lower]; bad {
		return "", &WeakError{"it is on the list of common or breached passwords"}
	}
	if unit := repeatedUnit(lower); unit != "" {
		if _, bad := common()[unit]; bad || utf8.RuneCountInString(unit) <= 4 {
			return "", &WeakError{"it is one short piece repeated"}
		}
	}
	if e := strings.ToLower(strings.TrimSpace(email)); e != "" {
		local, _, _ := strings.Cut(e, "@")
		if lower == e || lower == local {
			return "", &WeakError{"it is the account's email address"}
		}
	}
	return n, nil
}

// repeatedUnit returns the shortest piece s consists of, repeated twice or more ("abcabcabc" →
// "abc"), or "" when s is not a repetition.
func repeatedUnit(s string) string {
	r := []rune(s)
	for size := 1; size <= len(r)/2; size++ {
		if len(r)%size != 0 {
			continue
		}
		unit := string(r[:size])
		if strings.Repeat(unit, len(r)/size) == s {
			return unit
		}
	}
	return ""
}
