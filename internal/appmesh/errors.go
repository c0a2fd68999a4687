package appmesh

import (
	"fmt"
	"net/http"
)

// Error is an App Mesh error: its code travels in x-amzn-ErrorType and its
// message in the JSON body.
type Error struct {
	Code    string
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func newError(code string, status int, format string, args []any) *Error {
	return &Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

func BadRequest(format string, args ...any) *Error {
	return newError("BadRequestException", http.StatusBadRequest, format, args)
}

func NotFound(format string, args ...any) *Error {
	return newError("NotFoundException", http.StatusNotFound, format, args)
}

func Conflict(format string, args ...any) *Error {
	return newError("ConflictException", http.StatusConflict, format, args)
}

func ResourceInUse(format string, args ...any) *Error {
	return newError("ResourceInUseException", http.StatusConflict, format, args)
}

func LimitExceeded(format string, args ...any) *Error {
	return newError("LimitExceededException", http.StatusBadRequest, format, args)
}

func TooManyTags(format string, args ...any) *Error {
	return newError("TooManyTagsException", http.StatusBadRequest, format, args)
}

func Forbidden(format string, args ...any) *Error {
	return newError("ForbiddenException", http.StatusForbidden, format, args)
}

func ServiceUnavailable(format string, args ...any) *Error {
	return newError("ServiceUnavailableException", http.StatusServiceUnavailable, format, args)
}

func InternalServerError(format string, args ...any) *Error {
	return newError("InternalServerErrorException", http.StatusInternalServerError, format, args)
}
