// Package requestid makes the x-request-id the gateway sets on each
// request, as Envoy does.
package requestid

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
)

// Request ids. Envoy's x-request-id is a random UUID (version 4); so is
// the gateway's. It needs to be unique, not unpredictable: it correlates
// log lines and traces, and nothing trusts it as a secret. So it does not
// read crypto/rand for every request (uuid.NewString did: a system call
// or a locked DRBG and two allocations per request). Its 122 random bits
// come from math/rand/v2's global generator — the runtime's ChaCha8, one
// state per thread (no lock), itself seeded from the operating system's
// entropy at start — mixed with a key read from crypto/rand once per
// process. Collisions are as unlikely as with uuid.New: uniqueness rests
// on 122 bits of a cryptographically strong stream either way.

var key = func() (k [2]uint64) {
	var b [16]byte
	if _, err := crand.Read(b[:]); err == nil {
		k[0], k[1] = binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])
	}
	return k
}()

const hexDigits = "0123456789abcdef"

// New returns a fresh random UUID in its canonical form
// (xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx, lower-case hex).
func New() string {
	var u [16]byte
	binary.BigEndian.PutUint64(u[:8], rand.Uint64()^key[0])
	binary.BigEndian.PutUint64(u[8:], rand.Uint64()^key[1])
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	var s [36]byte
	j := 0
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j], s[j+1] = hexDigits[b>>4], hexDigits[b&0x0f]
		j += 2
	}
	return string(s[:])
}
