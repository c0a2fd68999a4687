// Package service is the App Mesh service itself: the 38 operations with
// their lifecycle (versions, owners, timestamps), referential integrity,
// quotas, idempotency and pagination, each write one store transaction. The
// HTTP wire format lives in package api; the shapes and their stateless
// rules in package appmesh.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/store"
)

// Config is what a Service needs to know about where it runs.
type Config struct {
	Region string // used in ARNs
	// AccountID (12 digits) is the account of callers the API did not
	// authenticate (--auth none) and of internal callers.
	AccountID string
	// Sharing says which meshes are shared with which accounts; nil
	// shares nothing.
	Sharing Sharing
	Quotas  Quotas
	// TokenTTL is how long a clientToken is remembered (default 24h).
	TokenTTL time.Duration
	// Now is the clock (default time.Now); tests replace it.
	Now    func() time.Time
	Logger *slog.Logger
}

var accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

// Service implements the App Mesh operations on a store.
type Service struct {
	store store.Store
	cfg   Config
	log   *slog.Logger
}

// New checks cfg and returns a Service on st.
func New(st store.Store, cfg Config) (*Service, error) {
	if !accountIDPattern.MatchString(cfg.AccountID) {
		return nil, fmt.Errorf("account id %q: must be 12 digits", cfg.AccountID)
	}
	if cfg.Region == "" {
		return nil, errors.New("region must not be empty")
	}
	if cfg.Quotas == (Quotas{}) {
		cfg.Quotas = DefaultQuotas()
	}
	if err := cfg.Quotas.check(); err != nil {
		return nil, err
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{store: st, cfg: cfg, log: cfg.Logger}, nil
}

// Store returns the store the service writes to.
func (s *Service) Store() store.Store { return s.store }

func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Millisecond) }

// storeError turns a store failure into the App Mesh error the client sees.
// App Mesh errors pass through unchanged.
func (s *Service) storeError(ctx context.Context, op string, err error) error {
	var ae *appmesh.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return appmesh.ServiceUnavailable("%s: the request was cancelled or timed out", op)
	case errors.Is(err, store.ErrVersion):
		// Another writer (another replica) changed what this request read:
		// optimistic concurrency answers the loser with a Conflict.
		return appmesh.Conflict("%s: the resource was modified concurrently by another request; retry", op)
	case errors.Is(err, store.ErrUnavailable):
		s.log.ErrorContext(ctx, "store unavailable", "op", op, "err", err)
		return appmesh.ServiceUnavailable("%s: the store is unavailable, try again later", op)
	default:
		s.log.ErrorContext(ctx, "internal error", "op", op, "err", err)
		return appmesh.InternalServerError("%s: internal error", op)
	}
}
