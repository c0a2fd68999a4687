package auth

import "unicode/utf8"

// match reports whether s matches the IAM wildcard pattern: '*' matches any
// run of characters (including none, and across '/'), '?' exactly one
// character, everything else itself, case-sensitively.
//
// It is the classic greedy matcher that remembers only the last '*': when a
// literal fails it retries that star one character further. That is enough
// because a later star can absorb whatever an earlier one would have, so
// the worst case is O(len(pattern)·len(s)) and never exponential, whatever
// a credential file or a request holds.
func match(pattern, s string) bool {
	p, i := 0, 0
	star, resume := -1, 0
	for i < len(s) {
		if p < len(pattern) {
			switch pattern[p] {
			case '*':
				star, resume = p, i
				p++
				continue
			case '?':
				_, w := utf8.DecodeRuneInString(s[i:])
				p, i = p+1, i+w
				continue
			default:
				if pattern[p] == s[i] {
					p, i = p+1, i+1
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		// Let the last star swallow one more character of s.
		_, w := utf8.DecodeRuneInString(s[resume:])
		resume += w
		p, i = star+1, resume
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
