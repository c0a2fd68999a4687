package auth

import (
	"fmt"
	"net/http"

	"github.com/meshgate/meshgate/internal/appmesh"
)

// The codes AWS answers authentication and authorization failures with;
// SDKs and the CLI show them as the error code.
const (
	CodeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	CodeIncompleteSignature        = "IncompleteSignatureException"
	CodeInvalidSignature           = "InvalidSignatureException"
	CodeUnrecognizedClient         = "UnrecognizedClientException"
	CodeAccessDenied               = "AccessDeniedException"
)

// msgSignatureMismatch is AWS's wording, which SDK users search for.
const msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
	"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

// forbidden is a 403 App Mesh error, written like every other API error:
// the code in x-amzn-ErrorType, the message in the JSON body.
func forbidden(code, format string, args ...any) *appmesh.Error {
	return &appmesh.Error{Code: code, Status: http.StatusForbidden, Message: fmt.Sprintf(format, args...)}
}

func errMissingToken() *appmesh.Error {
	return forbidden(CodeMissingAuthenticationToken, "Missing Authentication Token")
}

func errUnrecognizedClient() *appmesh.Error {
	return forbidden(CodeUnrecognizedClient, "The security token included in the request is invalid.")
}

func errIncomplete(format string, args ...any) *appmesh.Error {
	return forbidden(CodeIncompleteSignature, format, args...)
}

func errInvalid(format string, args ...any) *appmesh.Error {
	return forbidden(CodeInvalidSignature, format, args...)
}

// MissingAuthenticationToken is the answer to a request with no signature.
func MissingAuthenticationToken() error { return errMissingToken() }
