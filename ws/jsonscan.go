package ws

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// A one-pass JSON scanner for the client's messages. It accepts exactly what encoding/json's
// scanner accepts (RFC 8259 grammar, strings may hold invalid UTF-8, at most maxDepth nested
// containers) and decodes strings as encoding/json does (invalid UTF-8 and lone surrogates become
// U+FFFD). FuzzDecodeDiff checks it against json.Unmarshal.

// maxDepth is encoding/json's nesting limit: the 10,001st open container is a syntax error.
const maxDepth = 10000

// strScan classifies string bytes: 0 plain, 1 ends the fast loop ('"', '\\', control, non-ASCII).
var strScan = func() (t [256]byte) {
	for c := 0; c < 256; c++ {
		if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			t[c] = 1
		}
	}
	return
}()

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace returns the index of the first non-whitespace byte at or after i.
func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// scanString validates the string whose opening quote is at data[i] and returns the index after
// its closing quote, and whether it must be unquoted (escapes or non-ASCII bytes); -1 if invalid.
func scanString(data []byte, i int) (end int, slow bool) {
	i++
	for {
		// Eight bytes at a time: the SWAR test flags every byte that is a control character, '"',
		// '\\' or non-ASCII, and may flag bytes after such a one by mistake (borrows), never before:
		// the lowest flagged byte is the next one that needs a look.
		for i+8 <= len(data) {
			x := binary.LittleEndian.Uint64(data[i:])
			if m := ((x - lo*0x20) | ((x ^ (lo * '"')) - lo) | ((x ^ (lo * '\\')) - lo) | x) & hi; m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto look
			}
			i += 8
		}
		for i < len(data) && strScan[data[i]] == 0 {
			i++
		}
	look:
		if i >= len(data) {
			return -1, false
		}
		switch c := data[i]; {
		case c == '"':
			return i + 1, slow
		case c == '\\':
			slow = true
			if i+1 >= len(data) {
				return -1, false
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(data) || !isHex(data[i+2]) || !isHex(data[i+3]) || !isHex(data[i+4]) || !isHex(data[i+5]) {
					return -1, false
				}
				i += 6
			default:
				return -1, false
			}
		case c < 0x20:
			return -1, false
		default: // non-ASCII: anything goes here, unquoting coerces it to UTF-8
			slow = true
			i++
		}
	}
}

// lo and hi broadcast 0x01 and 0x80 to every byte of a word.
const (
	lo = 0x0101010101010101
	hi = 0x8080808080808080
)

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// scanNumber validates the number starting at data[i] and returns the index after it, or -1.
func scanNumber(data []byte, i int) int {
	if i < len(data) && data[i] == '-' {
		i++
	}
	if i >= len(data) {
		return -1
	}
	switch c := data[i]; {
	case c == '0':
		i++
	case '1' <= c && c <= '9':
		i++
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	default:
		return -1
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			return -1
		}
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			return -1
		}
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	}
	return i
}

// scanLiteral checks that lit starts at data[i] and returns the index after it, or -1.
func scanLiteral(data []byte, i int, lit string) int {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// scanScalar validates the string, number or literal at data[i] (not whitespace) and returns the
// index after it, or -1.
func scanScalar(data []byte, i int) int {
	switch c := data[i]; {
	case c == '"':
		end, _ := scanString(data, i)
		return end
	case c == '-' || '0' <= c && c <= '9':
		return scanNumber(data, i)
	case c == 't':
		return scanLiteral(data, i, "true")
	case c == 'f':
		return scanLiteral(data, i, "false")
	case c == 'n':
		return scanLiteral(data, i, "null")
	}
	return -1
}

// scanValue validates the JSON value starting at data[i] (not whitespace), nested inside depth
// containers, and returns the index after it, or -1. It does not recurse: a bit per open
// container (1 object, 0 array) says what may close it.
func scanValue(data []byte, i, depth int) int {
	var small [2]uint64
	open := small[:] // bits of the containers opened here
	n := 0           // how many
	for {
		// A value starts at i (whitespace skipped).
		if i >= len(data) {
			return -1
		}
		switch c := data[i]; c {
		case '{', '[':
			if depth+n+1 > maxDepth {
				return -1
			}
			if n/64 == len(open) {
				open = append(open, 0)
			}
			if c == '{' {
				open[n/64] |= 1 << (n % 64)
			} else {
				open[n/64] &^= 1 << (n % 64)
			}
			n++
			i = skipSpace(data, i+1)
			if i >= len(data) {
				return -1
			}
			if c == '{' {
				if data[i] == '}' {
					n--
					i++
					break
				}
				if i = scanKey(data, i); i < 0 {
					return -1
				}
				continue
			}
			if data[i] == ']' {
				n--
				i++
				break
			}
			continue
		default:
			if i = scanScalar(data, i); i < 0 {
				return -1
			}
		}
		// After a value: close containers, or go on to the next element.
		for {
			if n == 0 {
				return i
			}
			i = skipSpace(data, i)
			if i >= len(data) {
				return -1
			}
			obj := open[(n-1)/64]&(1<<((n-1)%64)) != 0
			c := data[i]
			if c == ',' {
				i = skipSpace(data, i+1)
				if obj {
					if i = scanKey(data, i); i < 0 {
						return -1
					}
				}
				break
			}
			if obj && c == '}' || !obj && c == ']' {
				n--
				i++
				continue
			}
			return -1
		}
	}
}

// scanKey validates `"key" :` at data[i] and the whitespace after it, returning the index of the
// value, or -1.
func scanKey(data []byte, i int) int {
	if i >= len(data) || data[i] != '"' {
		return -1
	}
	end, _ := scanString(data, i)
	if end < 0 {
		return -1
	}
	i = skipSpace(data, end)
	if i >= len(data) || data[i] != ':' {
		return -1
	}
	return skipSpace(data, i+1)
}

// unquote decodes a string that scanString validated (s includes the quotes) the way
// encoding/json does: escapes resolved, invalid UTF-8 and unpaired surrogates as U+FFFD.
func unquote(s []byte, slow bool) []byte {
	s = s[1 : len(s)-1]
	if !slow || utf8.Valid(s) && !hasEscape(s) {
		return s
	}
	b := make([]byte, 0, len(s)+2*utf8.UTFMax)
	for r := 0; r < len(s); {
		switch c := s[r]; {
		case c == '\\':
			switch s[r+1] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				rr := hex4(s[r+2:])
				r += 6
				if utf16.IsSurrogate(rr) {
					if r+6 <= len(s) && s[r] == '\\' && s[r+1] == 'u' {
						if dec := utf16.DecodeRune(rr, hex4(s[r+2:])); dec != utf8.RuneError {
							r += 6
							b = utf8.AppendRune(b, dec)
							continue
						}
					}
					rr = utf8.RuneError
				}
				b = utf8.AppendRune(b, rr)
				continue
			default: // '"', '\\', '/'
				b = append(b, s[r+1])
			}
			r += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			b = utf8.AppendRune(b, rr)
			r += size
		}
	}
	return b
}

func hasEscape(s []byte) bool {
	for _, c := range s {
		if c == '\\' {
			return true
		}
	}
	return false
}

// hex4 reads four hex digits that scanString validated.
func hex4(s []byte) rune {
	var r rune
	for _, c := range s[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// bytesString views b as a string without copying; b must not change while the string is used.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
