package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/meshgate/meshgate/internal/cli"
	"github.com/meshgate/meshgate/internal/service"
)

// serverFlags are the settings of `meshgate server` and `meshgate up`.
type serverFlags struct {
	apiListen string
	store     string
	region    string
	accountID string
	quotas    service.Quotas
	logLevel  string
	logFormat string
	// auth is sigv4 or none; "" takes the command's default (see setupAuth).
	auth        string
	credentials string
	meshShares  string

	xdsListen     string // "" disables the TCP xDS listener
	xdsSocket     string // "" disables the unix socket
	xdsTLSCert    string
	xdsTLSKey     string
	apiTLSCert    string
	apiTLSKey     string
	xdsMaxProxies int
	xdsAuth       xdsAuthFlags // xdsauth.go
	// gateways runs a gateway per virtual gateway in-process (meshgate up).
	gateways          bool
	gatewayListenHost string
	adminListen       string // "" disables the admin server
}

// envInt is envString for integers.
func envInt(name string, def int) (int, error) {
	v, ok := os.LookupEnv(name)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: not an integer", name, v)
	}
	return n, nil
}

// quotaFlag collects repeated --quota name=value flags.
type quotaFlag struct{ q *service.Quotas }

func (f quotaFlag) String() string { return "" }
func (f quotaFlag) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if err := f.q.Set(strings.TrimSpace(part)); err != nil {
			return err
		}
	}
	return nil
}

func parseServerFlags(cmd string, args []string) (*serverFlags, error) {
	f := &serverFlags{quotas: service.DefaultQuotas()}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.StringVar(&f.apiListen, "api-listen", cli.EnvString("MESHGATE_API_LISTEN", "127.0.0.1:7070"),
		"address of the App Mesh API (env MESHGATE_API_LISTEN)")
	fs.StringVar(&f.store, "store", cli.EnvString("MESHGATE_STORE", "sqlite:meshgate-data/meshgate.db"),
		"where resources are kept: sqlite:PATH (env MESHGATE_STORE)")
	fs.StringVar(&f.region, "region", cli.EnvString("MESHGATE_REGION", "us-east-1"),
		"region used in ARNs (env MESHGATE_REGION)")
	fs.StringVar(&f.accountID, "account-id", cli.EnvString("MESHGATE_ACCOUNT_ID", "000000000000"),
		"12-digit account of unauthenticated callers (--auth none), the owner in their ARNs, meshOwner and resourceOwner; with --auth sigv4 each credential acts for its own accountId (env MESHGATE_ACCOUNT_ID)")
	fs.StringVar(&f.auth, "auth", cli.EnvString("MESHGATE_AUTH", ""),
		"API authentication: sigv4 (AWS Signature Version 4 against --credentials, with their policies) or none (any caller); default sigv4 for server, none for up unless --credentials is given (env MESHGATE_AUTH)")
	fs.StringVar(&f.credentials, "credentials", cli.EnvString("MESHGATE_CREDENTIALS", ""),
		"JSON file of the API's access keys and their policies, reloaded on SIGHUP and when it changes; see docs/security.md (env MESHGATE_CREDENTIALS)")
	fs.StringVar(&f.meshShares, "mesh-shares", cli.EnvString("MESHGATE_MESH_SHARES", ""),
		"JSON file of meshes shared with other accounts (what AWS RAM did for App Mesh), reloaded on SIGHUP and when it changes; needs --auth sigv4; see docs/security.md (env MESHGATE_MESH_SHARES)")
	fs.Var(quotaFlag{&f.quotas}, "quota",
		"change a service quota, name=value, repeatable or comma-separated (env MESHGATE_QUOTAS); names: "+strings.Join(service.QuotaNames(), ", "))
	fs.StringVar(&f.logLevel, "log-level", cli.EnvString("MESHGATE_LOG_LEVEL", "info"),
		"debug, info, warn or error (env MESHGATE_LOG_LEVEL)")
	fs.StringVar(&f.logFormat, "log-format", cli.EnvString("MESHGATE_LOG_FORMAT", "text"),
		"text or json (env MESHGATE_LOG_FORMAT)")
	fs.StringVar(&f.xdsListen, "xds-listen", cli.EnvString("MESHGATE_XDS_LISTEN", "127.0.0.1:7071"),
		"address of the xDS (ADS) server for Envoy and meshgate gateways; empty disables it (env MESHGATE_XDS_LISTEN)")
	socketDefault := ""
	if cmd == "up" {
		socketDefault = "meshgate-data/xds.sock"
	}
	fs.StringVar(&f.xdsSocket, "xds-socket", cli.EnvString("MESHGATE_XDS_SOCKET", socketDefault),
		"unix socket the xDS server also listens on, always plaintext (APPMESH_XDS_ENDPOINT=unix://PATH); empty disables it (env MESHGATE_XDS_SOCKET)")
	gatewaysDefault, gwHost := "false", ""
	if cmd == "up" {
		gatewaysDefault, gwHost = "true", "127.0.0.1"
	}
	gw, err := strconv.ParseBool(cli.EnvString("MESHGATE_GATEWAYS", gatewaysDefault))
	if err != nil {
		return nil, fmt.Errorf("MESHGATE_GATEWAYS: %w", err)
	}
	fs.BoolVar(&f.gateways, "gateways", gw,
		"also run a gateway for every virtual gateway in the store, started, reconfigured and stopped with them (default true for up; env MESHGATE_GATEWAYS)")
	fs.StringVar(&f.gatewayListenHost, "gateway-listen-host", cli.EnvString("MESHGATE_GATEWAY_LISTEN_HOST", gwHost),
		"address the in-process gateways' listeners bind to; empty = all interfaces (default 127.0.0.1 for up; env MESHGATE_GATEWAY_LISTEN_HOST)")
	fs.StringVar(&f.xdsTLSCert, "xds-tls-cert", cli.EnvString("MESHGATE_XDS_TLS_CERT", ""),
		"PEM certificate (chain) of the xDS TCP listener; with --xds-tls-key it serves TLS (env MESHGATE_XDS_TLS_CERT)")
	fs.StringVar(&f.apiTLSCert, "api-tls-cert", cli.EnvString("MESHGATE_API_TLS_CERT", ""),
		"PEM certificate (chain) of the API listener; with --api-tls-key the API is served over HTTPS, the files re-read when they change (env MESHGATE_API_TLS_CERT)")
	fs.StringVar(&f.apiTLSKey, "api-tls-key", cli.EnvString("MESHGATE_API_TLS_KEY", ""),
		"PEM private key of --api-tls-cert (env MESHGATE_API_TLS_KEY)")
	fs.StringVar(&f.xdsTLSKey, "xds-tls-key", cli.EnvString("MESHGATE_XDS_TLS_KEY", ""),
		"PEM private key of --xds-tls-cert (env MESHGATE_XDS_TLS_KEY)")
	maxProxies, err := envInt("MESHGATE_XDS_MAX_PROXIES", 50)
	if err != nil {
		return nil, err
	}
	fs.IntVar(&f.xdsMaxProxies, "xds-max-proxies", maxProxies,
		"proxies one virtual gateway may have connected; more are refused with RESOURCE_EXHAUSTED; 0 = no limit (env MESHGATE_XDS_MAX_PROXIES)")
	fs.StringVar(&f.adminListen, "admin-listen", cli.EnvString("MESHGATE_ADMIN_LISTEN", "127.0.0.1:7072"),
		"address of the admin server (/ready, /metrics, /debug/xds); empty disables it (env MESHGATE_ADMIN_LISTEN)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: meshgate %s [flags]\n\nFlags:\n", cmd)
		fs.PrintDefaults()
	}
	if v := os.Getenv("MESHGATE_QUOTAS"); v != "" {
		if err := (quotaFlag{&f.quotas}).Set(v); err != nil {
			return nil, fmt.Errorf("MESHGATE_QUOTAS: %w", err)
		}
	}
	addXDSAuthFlags(fs, &f.xdsAuth)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if (f.xdsTLSCert == "") != (f.xdsTLSKey == "") {
		return nil, errors.New("--xds-tls-cert and --xds-tls-key go together")
	}
	if (f.apiTLSCert == "") != (f.apiTLSKey == "") {
		return nil, errors.New("--api-tls-cert and --api-tls-key go together")
	}
	if f.xdsMaxProxies < 0 {
		return nil, fmt.Errorf("--xds-max-proxies %d: want 0 (no limit) or more", f.xdsMaxProxies)
	}
	return f, nil
}
