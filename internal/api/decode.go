package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/meshgate/meshgate/internal/appmesh"
)

// MaxBodyBytes caps a request body. The largest legitimate App Mesh input
// (a virtual node with 50 backends, each with a TLS client policy) is well
// under 100 KiB.
const MaxBodyBytes = 1 << 20

// decodeInput reads an operation's input from the request: the JSON body
// strictly (unknown members and wrong types are refused, never ignored),
// then the URI and query members, then the model's constraints.
func decodeInput(w http.ResponseWriter, req *http.Request, op *appmesh.Operation, params map[string]string) (appmesh.Input, error) {
	in := op.NewInput()
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &appmesh.Error{Code: "BadRequestException", Status: http.StatusRequestEntityTooLarge,
				Message: fmt.Sprintf("the request body is larger than %d bytes", MaxBodyBytes)}
		}
		return nil, appmesh.BadRequest("the request body could not be read: %v", err)
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeJSON(body, in); err != nil {
			return nil, err
		}
	}
	if err := bind(in, params, req.URL.Query()); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return in, nil
}

// bind fills the input's URI members from the route's parameters and its
// query members from the query string (the first value of each).
func bind(in appmesh.Input, params map[string]string, q url.Values) error {
	return in.Bind(func(location, name string) *string {
		if location == "uri" {
			v, ok := params[name]
			if !ok {
				return nil
			}
			return &v
		}
		if vs, ok := q[name]; ok && len(vs) > 0 {
			return &vs[0]
		}
		return nil
	})
}

// decodeJSON decodes exactly one JSON object into v and explains failures
// in terms of the request's members.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return appmesh.BadRequest("the request body must hold a single JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return appmesh.BadRequest("the request body is not valid JSON (at byte %d): %v", syntax.Offset, syntax)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return appmesh.BadRequest("the request body must be a JSON object, not %s", typ.Value)
		}
		return appmesh.BadRequest("%s must be %s, not %s", typ.Field, jsonKind(typ.Type.String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return appmesh.BadRequest("the request body is truncated JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return appmesh.BadRequest("the request has an unknown member %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return appmesh.BadRequest("the request body could not be decoded: %v", err)
	}
}

// jsonKind names a Go type the way an API user thinks of it.
func jsonKind(goType string) string {
	t := strings.TrimLeft(goType, "*")
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case t == "string":
		return "a string"
	case t == "int64":
		return "an integer"
	case t == "bool":
		return "a boolean"
	case t == "appmesh.Timestamp":
		return "a timestamp"
	default:
		return "an object"
	}
}
