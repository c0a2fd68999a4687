package appmesh

import (
	"errors"
	"testing"
)

// FuzzSpecCheck feeds arbitrary JSON to every spec's Check. The model has
// not run, so every optional (and required) member may be missing: Check
// must never panic and must only ever answer with a BadRequest.
func FuzzSpecCheck(f *testing.F) {
	for _, tc := range ruleCases {
		f.Add([]byte(tc.spec))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kind := range specKinds {
			s, err := decodeSpec(kind, data, false)
			if err != nil {
				continue
			}
			err = s.Check()
			if err == nil {
				continue
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != "BadRequestException" {
				t.Fatalf("%s: Check() = %v, want nil or a BadRequestException", kind, err)
			}
		}
	})
}
