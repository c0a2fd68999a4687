package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/meshgate/meshgate/internal/api"
	"github.com/meshgate/meshgate/internal/service"
	"github.com/meshgate/meshgate/internal/store"
	"github.com/meshgate/meshgate/internal/store/sqlite"
)

// openStore opens the store a --store value names.
func openStore(dsn string) (store.Store, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		return sqlite.Open(strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return nil, errors.New("--store: PostgreSQL is not available in this version; use sqlite:PATH")
	}
	return nil, fmt.Errorf("--store %q: want sqlite:PATH", dsn)
}

func runServer(cmd string, args []string) error {
	f, err := parseServerFlags(cmd, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log, err := newLogger(f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	st, err := openStore(f.store)
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := service.New(st, service.Config{Region: f.region, AccountID: f.accountID, Quotas: f.quotas, Logger: log})
	if err != nil {
		return err
	}
	h, err := api.New(svc, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.apiListen)
	if err != nil {
		return fmt.Errorf("--api-listen: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("meshgate serving the App Mesh API", "cmd", cmd, "api", "http://"+ln.Addr().String(),
		"store", f.store, "region", f.region, "account", f.accountID)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
