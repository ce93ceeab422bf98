package main

import (
	"strconv"
	"strings"
)

// semverLess reports whether version a sorts before b under SemVer 2.0.0 precedence, for OSV's
// versions without a leading "v" ("1.2.3", "0.0.0-20240101000000-abcdef", "1.0.0-rc.1").
// The empty string sorts before everything; build metadata ("+…") is ignored.
func semverLess(a, b string) bool { return semverCompare(a, b) < 0 }

func semverCompare(a, b string) int {
	if a == "" || b == "" {
		return strings.Compare(a, b) // "" first, never both compared as versions
	}
	a, _, _ = strings.Cut(a, "+")
	b, _, _ = strings.Cut(b, "+")
	aCore, aPre, aHasPre := strings.Cut(a, "-")
	bCore, bPre, bHasPre := strings.Cut(b, "-")
	aParts, bParts := strings.Split(aCore, "."), strings.Split(bCore, ".")
	for i := 0; i < 3; i++ {
		if c := compareIdent(part(aParts, i), part(bParts, i)); c != 0 {
			return c
		}
	}
	switch {
	case !aHasPre && !bHasPre:
		return 0
	case !aHasPre: // a release sorts after its pre-releases
		return 1
	case !bHasPre:
		return -1
	}
	aIDs, bIDs := strings.Split(aPre, "."), strings.Split(bPre, ".")
	for i := 0; i < len(aIDs) && i < len(bIDs); i++ {
		if c := compareIdent(aIDs[i], bIDs[i]); c != 0 {
			return c
		}
	}
	return len(aIDs) - len(bIDs)
}

func part(parts []string, i int) string {
	if i < len(parts) {
		return parts[i]
	}
	return "0"
}

// compareIdent compares numeric identifiers as numbers, which sort before alphanumeric ones,
// and alphanumeric identifiers in ASCII order.
func compareIdent(a, b string) int {
	an, aErr := strconv.ParseUint(a, 10, 64)
	bn, bErr := strconv.ParseUint(b, 10, 64)
	switch {
	case aErr == nil && bErr == nil:
		switch {
		case an < bn:
			return -1
		case an > bn:
			return 1
		}
		return 0
	case aErr == nil:
		return -1
	case bErr == nil:
		return 1
	}
	return strings.Compare(a, b)
}
