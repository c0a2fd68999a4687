package requestid

import (
	"testing"

	"github.com/google/uuid"
)

// TestRequestID: x-request-id is a version 4, RFC 4122 variant UUID in
// canonical form, and does not repeat.
func TestRequestID(t *testing.T) {
	seen := map[string]bool{}
	for range 100000 {
		id := New()
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 4 || u.Variant() != uuid.RFC4122 || u.String() != id {
			t.Fatalf("request id %q: %v, version %v, variant %v", id, err, u.Version(), u.Variant())
		}
		if seen[id] {
			t.Fatalf("request id %q repeated", id)
		}
		seen[id] = true
	}
}
