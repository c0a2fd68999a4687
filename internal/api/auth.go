package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/google/uuid"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/auth"
	"github.com/meshgate/meshgate/internal/service"
)

// WithAuth guards h with SigV4 authentication and IAM-like authorization:
// a request reaches its operation only when it is signed by a known key
// whose policy allows the operation on the resource it acts on. Refusals
// are App Mesh errors with AWS's codes (MissingAuthenticationToken-
// Exception, InvalidSignatureException, AccessDeniedException, ...).
func WithAuth(h *Handler, v *auth.Verifier) http.Handler {
	return &authHandler{next: h, v: v}
}

type authHandler struct {
	next *Handler
	v    *auth.Verifier
}

func (a *authHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	opName := "-"
	op, params, _, matchErr := a.next.router.match(req.Method, req.URL.EscapedPath())
	if matchErr == nil && op != nil {
		opName = op.Name
	}
	if !auth.HasSignature(req) {
		// Refused before the body is read: an anonymous caller costs no
		// more than its headers.
		a.refuse(w, req, opName, "", auth.MissingAuthenticationToken())
		return
	}
	// The signature covers the body, so it is read here, once, under the
	// cap decodeInput applies, and handed on to the operation.
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxBodyBytes))
	if err != nil {
		a.fail(w, bodyError(err))
		return
	}
	cred, err := a.v.Authenticate(req, body)
	if err != nil {
		a.refuse(w, req, opName, auth.ClaimedKeyID(req), err)
		return
	}
	// A path that names no operation goes on to the handler's NotFound:
	// there is nothing to authorize, and a signed caller learns nothing
	// from it but that the path is wrong.
	if op != nil {
		resource := auth.Resource(a.v.Region, cred.AccountID, op, boundInput(op, params, req, body))
		if err := a.v.Authorize(cred, "appmesh:"+op.Name, resource); err != nil {
			a.refuse(w, req, opName, cred.AccessKeyID, err)
			return
		}
	}
	// The operation acts for the credential's account: it owns what it
	// creates and reaches other accounts' meshes only when shared.
	req = req.WithContext(service.WithCaller(req.Context(), cred.AccountID))
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	a.next.ServeHTTP(w, req)
}

// boundInput is the operation's input as decodeInput will see it: the body
// decoded by the same decoder into the same type, then the URI and query
// members bound the same way. Authorizing names read any other way could
// approve one resource while the operation acts on another. A body that
// does not decode leaves members empty, and the operation refuses it.
func boundInput(op *appmesh.Operation, params map[string]string, req *http.Request, body []byte) appmesh.Input {
	in := op.NewInput()
	if len(bytes.TrimSpace(body)) > 0 {
		_ = json.Unmarshal(body, in)
	}
	_ = bind(in, params, req.URL.Query()) // a bad query fails in the handler, after authorization
	return in
}

// refuse answers an authentication or authorization failure and logs it
// with the access key id when there is one; never with the Authorization
// header, the signature or a token.
func (a *authHandler) refuse(w http.ResponseWriter, req *http.Request, op, keyID string, err error) {
	code := "-"
	var ae *appmesh.Error
	if errors.As(err, &ae) {
		code = ae.Code
	}
	a.next.log.Info("api request refused", "code", code, "op", op, "accessKeyId", keyID,
		"method", req.Method, "path", req.URL.EscapedPath(), "remote", req.RemoteAddr)
	a.fail(w, err)
}

func (a *authHandler) fail(w http.ResponseWriter, err error) {
	w.Header().Set("x-amzn-RequestId", uuid.NewString())
	writeError(w, err)
}

// bodyError is decodeInput's answer to a body it cannot read.
func bodyError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return &appmesh.Error{Code: "BadRequestException", Status: http.StatusRequestEntityTooLarge,
			Message: fmt.Sprintf("the request body is larger than %d bytes", MaxBodyBytes)}
	}
	return appmesh.BadRequest("the request body could not be read: %v", err)
}
