package ir

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Version is the content hash of the gateway's configuration: equal
// configurations have equal versions on every replica.
func (g *Gateway) Version() string {
	b, err := json.Marshal(g)
	if err != nil {
		// The IR holds only strings, numbers and slices of them.
		panic("ir: gateway cannot be encoded: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}
