// Package api is the App Mesh REST wire (restJson1, API version
// 2019-01-25): it routes the 38 operations, decodes and validates their
// inputs, calls the service and writes results and errors the way the AWS
// SDKs and CLI parse them.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/service"
)

// handlerFunc runs one operation on a decoded input.
type handlerFunc func(ctx context.Context, in appmesh.Input) (any, error)

// Handler serves the App Mesh API.
type Handler struct {
	router   *router
	handlers map[string]handlerFunc
	log      *slog.Logger
}

// New returns the API handler for svc.
func New(svc *service.Service, log *slog.Logger) (*Handler, error) {
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{router: newRouter(appmesh.Operations), handlers: handlers(svc), log: log}
	for _, op := range appmesh.Operations {
		if h.handlers[op.Name] == nil {
			return nil, fmt.Errorf("api: operation %s has no handler", op.Name)
		}
	}
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	reqID := uuid.NewString()
	w.Header().Set("x-amzn-RequestId", reqID)
	rec := &statusRecorder{ResponseWriter: w}
	opName := "-"
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("panic serving request", "requestId", reqID, "op", opName, "panic", p)
			writeError(rec, appmesh.InternalServerError("internal error (request %s)", reqID))
		}
		h.log.Debug("api request", "requestId", reqID, "op", opName, "method", req.Method,
			"path", req.URL.EscapedPath(), "status", rec.status, "duration", time.Since(start))
	}()

	op, params, pathOK, err := h.router.match(req.Method, req.URL.EscapedPath())
	switch {
	case err != nil:
		writeError(rec, err)
		return
	case op == nil && pathOK:
		writeError(rec, &appmesh.Error{Code: "BadRequestException", Status: http.StatusMethodNotAllowed,
			Message: fmt.Sprintf("method %s is not allowed on %s", req.Method, req.URL.EscapedPath())})
		return
	case op == nil:
		writeError(rec, appmesh.NotFound("no App Mesh operation is served at %s %s", req.Method, req.URL.EscapedPath()))
		return
	}
	opName = op.Name
	in, err := decodeInput(rec, req, op, params)
	if err != nil {
		writeError(rec, err)
		return
	}
	out, err := h.handlers[op.Name](req.Context(), in)
	if err != nil {
		writeError(rec, err)
		return
	}
	writeJSON(rec, http.StatusOK, out)
}

// writeError sends an App Mesh error: the code in x-amzn-ErrorType, the
// message in a JSON body. Anything that is not an *appmesh.Error is an
// internal error and its text stays in the log.
func writeError(w http.ResponseWriter, err error) {
	var ae *appmesh.Error
	if !errors.As(err, &ae) {
		slog.Error("unexpected error", "err", err)
		ae = appmesh.InternalServerError("internal error")
	}
	w.Header().Set("x-amzn-ErrorType", ae.Code)
	writeJSON(w, ae.Status, struct {
		Message string `json:"message"`
	}{ae.Message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		w.Header().Set("x-amzn-ErrorType", "InternalServerErrorException")
		b = []byte(`{"message":"internal error: response could not be encoded"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
