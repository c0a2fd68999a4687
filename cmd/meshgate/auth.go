package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/meshgate/meshgate/internal/api"
	"github.com/meshgate/meshgate/internal/auth"
	"github.com/meshgate/meshgate/internal/service"
)

const (
	authSigV4 = "sigv4"
	authNone  = "none"
	// credentialsPoll is how often the credential file is checked for
	// changes; SIGHUP reloads it at once.
	credentialsPoll = 2 * time.Second
)

// apiAuth is how the App Mesh API checks its callers.
type apiAuth struct {
	mode     string
	keys     *auth.Keys
	shares   *auth.Shares // nil: no mesh is shared
	verifier *auth.Verifier
}

// sharing is what the service is told about shared meshes.
func (a *apiAuth) sharing() service.Sharing {
	if a.shares == nil {
		return nil
	}
	return a.shares
}

// setupAuth resolves --auth and --credentials before anything listens, so
// that a bad credential file stops the start. `meshgate server` verifies
// signatures unless told --auth none; `meshgate up`, the local quick
// start, is open unless it is given a credential file.
func setupAuth(cmd string, f *serverFlags, log *slog.Logger) (*apiAuth, error) {
	mode := f.auth
	if mode == "" {
		mode = authSigV4
		if cmd == "up" && f.credentials == "" {
			mode = authNone
		}
	}
	switch mode {
	case authNone:
		if f.credentials != "" {
			log.Warn("the API does not use --credentials: --auth is none", "credentials", f.credentials)
		}
		if f.meshShares != "" {
			return nil, errors.New("--mesh-shares needs --auth sigv4: without authentication every caller is account --account-id, and no other account exists to share with")
		}
		log.Warn("API AUTHENTICATION IS OFF: the App Mesh API accepts any caller, signed or not; "+
			"anyone who can reach it can read, change and delete every mesh. Use --auth sigv4 --credentials FILE to require AWS-signed requests",
			"cmd", cmd, "api", f.apiListen)
		return &apiAuth{mode: mode}, nil
	case authSigV4:
	default:
		return nil, fmt.Errorf("--auth %q: want sigv4 or none", mode)
	}
	if f.credentials == "" {
		return nil, errors.New("--auth sigv4 needs --credentials FILE (env MESHGATE_CREDENTIALS), see docs/security.md; " +
			"to serve the API without authentication, pass --auth none")
	}
	keys, err := auth.LoadKeys(f.credentials)
	if err != nil {
		return nil, fmt.Errorf("--credentials: %w", err)
	}
	if fi, err := os.Stat(f.credentials); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("the credential file can be read by other users; chmod 600 it", "file", f.credentials, "mode", fi.Mode().Perm().String())
	}
	a := &apiAuth{mode: mode, keys: keys}
	if f.meshShares != "" {
		if a.shares, err = auth.LoadShares(f.meshShares); err != nil {
			return nil, fmt.Errorf("--mesh-shares: %w", err)
		}
	}
	accounts := map[string]bool{}
	for _, c := range keys.Credentials() {
		accounts[c.AccountID] = true
	}
	log.Info("api authentication", "mode", authSigV4, "credentials", f.credentials, "keys", keys.Len(),
		"accounts", len(accounts), "meshShares", f.meshShares, "region", f.region)
	a.verifier = &auth.Verifier{Region: f.region, AccountID: f.accountID, Keys: keys, Sharing: a.shares, Log: log}
	return a, nil
}

// handler guards h as configured. With sigv4 it also reloads the
// credential and mesh-sharing files on SIGHUP and whenever their content
// changes, until ctx ends.
func (a *apiAuth) handler(ctx context.Context, h *api.Handler, log *slog.Logger) http.Handler {
	if a.mode == authNone {
		return h
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				a.keys.ReloadAndLog(log, "SIGHUP")
				if a.shares != nil {
					a.shares.ReloadAndLog(log, "SIGHUP")
				}
			}
		}
	}()
	go a.keys.Watch(ctx, credentialsPoll, log)
	if a.shares != nil {
		go a.shares.Watch(ctx, credentialsPoll, log)
	}
	return api.WithAuth(h, a.verifier)
}
