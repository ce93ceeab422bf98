package protocol

import (
	"bytes"
	"strconv"
)

// shapeProblem is what checkShape finds wrong with a JSON object's shape; shapeOK when nothing.
type shapeProblem int

const (
	shapeOK shapeProblem = iota
	shapeTooDeep
	shapeBadNumber
	shapeNUL
)

// checkShape walks valid JSON text once, without allocating for ordinary numbers, and reports
// nesting deeper than maxDepth (the outer object is level 1), a number a double cannot hold, or
// else the escape \u0000 in a string. Deep nesting costs every later reader (jsonb, the dashboard)
// stack and time out of proportion to its size; a number like 1e131071 is 8 bytes on the wire but
// 131,072 digits when PostgreSQL's numeric prints it as text; jsonb refuses \u0000.
func checkShape(raw []byte, maxDepth int) shapeProblem {
	depth, nul := 0, false
	for i := 0; i < len(raw); i++ {
		switch b := raw[i]; {
		case b == '"':
			var n bool
			i, n = stringEnd(raw, i)
			nul = nul || n
		case b == '{' || b == '[':
			if depth++; depth > maxDepth {
				return shapeTooDeep
			}
		case b == '}' || b == ']':
			depth--
		case b == '-' || (b >= '0' && b <= '9'):
			j := i + 1
			for j < len(raw) && isNumberByte(raw[j]) {
				j++
			}
			if !numberFits(raw[i:j]) {
				return shapeBadNumber
			}
			i = j - 1
		}
	}
	if nul {
		return shapeNUL
	}
	return shapeOK
}

// stringEnd returns the index of the quote closing the string that opens at raw[start], and
// whether the string holds the escape \u0000 (a raw NUL byte is not valid JSON). An escape is
// skipped whole: `\\u0000` is a backslash and the text "u0000", not a NUL.
func stringEnd(raw []byte, start int) (int, bool) {
	nul := false
	for i := start + 1; i < len(raw); i++ {
		switch raw[i] {
		case '\\':
			nul = nul || bytes.HasPrefix(raw[i+1:], []byte("u0000"))
			i++ // the escaped byte cannot close the string
		case '"':
			return i, nul
		}
	}
	return len(raw), nul
}

func isNumberByte(b byte) bool {
	return (b >= '0' && b <= '9') || b == '.' || b == 'e' || b == 'E' || b == '+' || b == '-'
}

// maxNumberBytes bounds a number's text: a double keeps 17 significant digits, and PostgreSQL's
// numeric refuses more than 16,383 after the point (1.000…01 rounds to 1 as a double, so only
// its length tells).
const maxNumberBytes = 400

// numberFits reports whether the JSON number tok is within what a double holds: neither beyond
// ±1.8e308 nor a non-zero value too small for one (1e-400 prints as 400 digits too), nor longer
// than maxNumberBytes. Short plain numbers always fit and are not parsed.
func numberFits(tok []byte) bool {
	if len(tok) > maxNumberBytes {
		return false
	}
	exp := bytes.IndexAny(tok, "eE")
	if exp < 0 && len(tok) <= 300 {
		return true // at most 300 digits without an exponent: below 1e300, and as long as it is sent
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		return false // ErrRange: beyond the largest double
	}
	mantissa := tok
	if exp >= 0 {
		mantissa = tok[:exp]
	}
	return f != 0 || !bytes.ContainsAny(mantissa, "123456789")
}
