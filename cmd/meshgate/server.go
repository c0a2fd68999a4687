package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/meshgate/meshgate/internal/api"
	"github.com/meshgate/meshgate/internal/cli"
	"github.com/meshgate/meshgate/internal/service"
	"github.com/meshgate/meshgate/internal/store"
	"github.com/meshgate/meshgate/internal/store/postgres"
	"github.com/meshgate/meshgate/internal/store/sqlite"
	"github.com/meshgate/meshgate/internal/xds"
)

// openStore opens the store a --store value names.
func openStore(dsn string) (store.Store, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		return sqlite.Open(strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		// Bounds connecting and migrating at startup; a server that is
		// down fails the start rather than hanging it.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return postgres.Open(ctx, dsn)
	}
	// Not %q of the value: a mistyped PostgreSQL URL may carry a password.
	return nil, errors.New("--store: want sqlite:PATH or postgres://USER@HOST/DB")
}

func runServer(cmd string, args []string) error {
	f, err := parseServerFlags(cmd, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log, err := cli.NewLogger(f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	apiAuth, err := setupAuth(cmd, f, log)
	if err != nil {
		return err
	}
	st, err := openStore(f.store)
	if err != nil {
		return err
	}
	defer st.Close()

	reg := cli.NewRegistry()
	var xsrv *xds.Server
	apiStore := st
	xdsAuth, err := f.xdsAuth.config(f, apiAuth.keys, log)
	if err != nil {
		return err
	}
	if f.xdsListen != "" || f.xdsSocket != "" {
		maxProxies := f.xdsMaxProxies
		if maxProxies == 0 {
			maxProxies = -1 // no limit
		}
		xsrv, err = xds.New(xds.Config{Store: st, Region: f.region, AccountID: f.accountID, Envoy: envoyResources,
			TLSCertFile: f.xdsTLSCert, TLSKeyFile: f.xdsTLSKey, Auth: xdsAuth, Registry: reg, Logger: log, MaxProxiesPerGateway: maxProxies})
		if err != nil {
			return err
		}
		// API writes reach proxies at once instead of at the next poll.
		apiStore = xds.KickOnWrite(st, xsrv.Kick)
	}
	svc, err := service.New(apiStore, service.Config{Region: f.region, AccountID: f.accountID, Quotas: f.quotas,
		Sharing: apiAuth.sharing(), Logger: log})
	if err != nil {
		return err
	}
	h, err := api.New(svc, log)
	if err != nil {
		return err
	}

	ls, err := listen(f)
	if err != nil {
		return err
	}
	defer ls.close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	defer wg.Wait()

	apiSrv := httpServer(apiAuth.handler(ctx, h, log))
	wg.Go(func() { serveHTTP(apiSrv, ls.api, "the App Mesh API", cancel) })
	if ls.admin != nil {
		adminSrv := httpServer(adminHandler(xsrv, reg))
		wg.Go(func() { serveHTTP(adminSrv, ls.admin, "the admin server", cancel) })
		defer shutdown(adminSrv)
	}
	if xsrv != nil {
		wg.Go(func() {
			if err := xsrv.Run(ctx, ls.xds, ls.xdsSocket); err != nil {
				cancel(err)
			}
		})
	}
	if f.gateways {
		if xsrv == nil {
			return errors.New("--gateways needs the xDS server (--xds-listen or --xds-socket)")
		}
		sup, err := gatewaySupervisor(f, st, ls, reg, log)
		if err != nil {
			return err
		}
		wg.Go(func() { sup.Run(ctx) })
	}
	log.Info("meshgate serving", "cmd", cmd, "api", ls.apiURL(),
		"xds", addrOf(ls.xds), "xdsSocket", addrOf(ls.xdsSocket), "xdsTLS", f.xdsTLSCert != "",
		"admin", addrOf(ls.admin), "store", redactDSN(f.store), "region", f.region, "account", f.accountID)
	<-ctx.Done()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		shutdown(apiSrv)
		return err
	}
	log.Info("shutting down")
	return shutdown(apiSrv)
}

// listeners are the server's sockets; nil when disabled.
type listeners struct {
	api, xds, xdsSocket, admin net.Listener
	apiScheme                  string // "https" when the API serves TLS
}

func (ls *listeners) apiURL() string {
	return cmp.Or(ls.apiScheme, "http") + "://" + ls.api.Addr().String()
}

// listen opens every socket before anything serves, so a taken port fails
// the start rather than half of the server.
func listen(f *serverFlags) (*listeners, error) {
	ls := &listeners{}
	var err error
	if ls.api, err = net.Listen("tcp", f.apiListen); err != nil {
		return nil, fmt.Errorf("--api-listen: %w", err)
	}
	if f.apiTLSCert != "" {
		cfg, err := apiTLS(f.apiTLSCert, f.apiTLSKey)
		if err != nil {
			ls.close()
			return nil, err
		}
		ls.api = tls.NewListener(ls.api, cfg)
		ls.apiScheme = "https"
	}
	if f.xdsListen != "" {
		if ls.xds, err = net.Listen("tcp", f.xdsListen); err != nil {
			ls.close()
			return nil, fmt.Errorf("--xds-listen: %w", err)
		}
	}
	if f.xdsSocket != "" {
		if ls.xdsSocket, err = xds.ListenUnix(f.xdsSocket); err != nil {
			ls.close()
			return nil, fmt.Errorf("--xds-socket: %w", err)
		}
	}
	if f.adminListen != "" {
		if ls.admin, err = net.Listen("tcp", f.adminListen); err != nil {
			ls.close()
			return nil, fmt.Errorf("--admin-listen: %w", err)
		}
	}
	return ls, nil
}

func (ls *listeners) close() {
	for _, l := range []net.Listener{ls.api, ls.xds, ls.xdsSocket, ls.admin} {
		if l != nil {
			l.Close()
		}
	}
}

func addrOf(l net.Listener) string {
	if l == nil {
		return "off"
	}
	return l.Addr().String()
}

func httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// serveHTTP serves until Shutdown; any other end stops the process.
func serveHTTP(srv *http.Server, ln net.Listener, what string, fail context.CancelCauseFunc) {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fail(fmt.Errorf("%s: %w", what, err))
	}
}

func shutdown(srv *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

// adminHandler is the xDS server's admin endpoints, or, with xDS off,
// readiness and metrics alone.
func adminHandler(xsrv *xds.Server, reg *prometheus.Registry) http.Handler {
	if xsrv != nil {
		return xsrv.AdminHandler()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ready") })
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

// redactDSN hides a password in a store URL before it is logged.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}
